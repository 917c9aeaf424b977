using Emulator.Cpu.Exceptions;
using Emulator.Cpu.Simd;
using Emulator.Cpu.State;
using Emulator.Cpu.Tests.Exceptions;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Simd;

/// <summary>
/// The architectural rules around the AVX floating-point instructions that a host oracle cannot
/// show (the host process must run with every exception masked and its own control registers):
/// VEX.128 clears bits 255:128 and legacy SSE keeps them (SDM Vol. 1 14.1.2); #UD without
/// CR4.OSXSAVE or XCR0.AVX, #NM with CR0.TS (Vol. 2A 2.3.6); an unmasked exception is #XM, or #UD
/// without CR4.OSXMMEXCPT, leaves the destination unchanged and, when it is a pre-computation one,
/// sets no post-computation flag of any lane (Vol. 1 11.5.1-11.5.2); the alignment of the aligned
/// moves; masked moves that neither fault nor write on masked-off elements; VZEROUPPER/VZEROALL.
/// Expected values come from the manual's rules, never from this emulator's output.
/// </summary>
public class AvxFloatRuleTests
{
    private const int R8 = 8, R11 = 11;
    private const ulong NoFault = 0xDEAD;
    private const ulong Cr4OsXsave = 1UL << 18;
    private const uint One = 0x3F80_0000, Two = 0x4000_0000, Three = 0x4040_0000, SignalingNaN = 0x7F80_0001;

    /// <summary>1 + 2^-23 and 2^-30: their sum is inexact in single precision (PE).</summary>
    private const uint OnePlusUlp = 0x3F80_0001, Tiny = 0x3080_0000;

    /// <summary>A machine in long mode with SSE and AVX enabled, an IDT that records the vector in R8, RSI at the data page.</summary>
    private static TestMachine Machine()
    {
        var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.S.Cr4 |= ControlBits.Cr4OSFXSR | ControlBits.Cr4OSXMMEXCPT | Cr4OsXsave;
        m.S.Vector.Xcr0 = 7;
        m.S.Gpr[R8] = NoFault;
        m.S.Gpr[CpuState.RSI] = TestMachine.DataAddress;
        return m;
    }

    private static void Run(TestMachine m, Engine engine, Action<Assembler> body) => m.Load(a =>
    {
        body(a);
        a.hlt();
    }).RunToHlt(engine);

    private static void SetSingles(TestMachine m, int register, params uint[] lanes)
    {
        for (int k = 0; k < 8; k++)
        {
            uint value = k < lanes.Length ? lanes[k] : 0;
            int shift = 32 * (k & 1);
            m.S.Vector.Ymm[register][k >> 1] = (m.S.Vector.Ymm[register][k >> 1] & ~(0xFFFF_FFFFUL << shift)) | ((ulong)value << shift);
        }
    }

    private static ulong[] Ymm(TestMachine m, int register) => [m.S.Vector.Ymm[register][0], m.S.Vector.Ymm[register][1], m.S.Vector.Ymm[register][2], m.S.Vector.Ymm[register][3]];

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void Vex128ClearsTheUpperHalfAndLegacySseKeepsIt(Engine engine)
    {
        using var m = Machine();
        for (int r = 0; r < 8; r++)
        {
            for (int q = 0; q < 4; q++)
            {
                m.S.Vector.Ymm[r][q] = 0x5555_0000_0000_0000UL | (uint)((r * 4) + q);
            }
        }

        SetSingles(m, 1, One, One, One, One, One, One, One, One);
        SetSingles(m, 2, Two, Two, Two, Two, Two, Two, Two, Two);
        m.Memory.Write(TestMachine.DataAddress, 4, Three);
        Run(m, engine, a =>
        {
            a.vaddps(xmm0, xmm1, xmm2);
            a.movaps(xmm3, xmm1);
            a.addps(xmm3, xmm2);
            a.vaddps(ymm4, ymm1, ymm2);
            a.vmovss(xmm5, __dword_ptr[rsi]);
            a.vsqrtss(xmm6, xmm7, xmm1);
        });
        Assert.Equal(NoFault, m.S.Gpr[R8]);
        ulong threes = ((ulong)Three << 32) | Three;
        Assert.Equal([threes, threes, 0UL, 0UL], Ymm(m, 0));
        Assert.Equal([threes, threes, 0x5555_0000_0000_000EUL, 0x5555_0000_0000_000FUL], Ymm(m, 3));
        Assert.Equal([threes, threes, threes, threes], Ymm(m, 4));
        Assert.Equal([(ulong)Three, 0UL, 0UL, 0UL], Ymm(m, 5));

        // VSQRTSS: lane 0 from the square root of operand 2, bits 127:32 from operand 1, 255:128 cleared.
        Assert.Equal([(m.S.Vector.Ymm[7][0] & 0xFFFF_FFFF_0000_0000UL) | One, m.S.Vector.Ymm[7][1], 0UL, 0UL], Ymm(m, 6));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void VexFloatNeedsOsxsaveAndXcr0AvxAndTsIsDeviceNotAvailable(Engine engine)
    {
        Action<Assembler>[] bodies =
        [
            a => a.vaddps(ymm0, ymm1, ymm2),
            a => a.vcvtsi2ss(xmm0, xmm1, eax),
            a => a.vbroadcastss(ymm0, __dword_ptr[rsi]),
            a => a.vzeroupper(),
            a => a.vcmpps(xmm0, xmm1, xmm2, 17),
            a => a.vmovaps(ymm0, __ymmword_ptr[rsi]),
        ];
        foreach (var body in bodies)
        {
            using (var m = Machine())
            {
                Run(m, engine, body);
                Assert.Equal(NoFault, m.S.Gpr[R8]);
            }

            using (var m = Machine())
            {
                m.S.Cr4 &= ~Cr4OsXsave;
                Run(m, engine, body);
                Assert.Equal((ulong)Vector.UD, m.S.Gpr[R8]);
            }

            using (var m = Machine())
            {
                m.S.Vector.Xcr0 = 3; // x87 and SSE state, no AVX state
                Run(m, engine, body);
                Assert.Equal((ulong)Vector.UD, m.S.Gpr[R8]);
            }

            using (var m = Machine())
            {
                m.S.Cr0 |= ControlBits.Cr0TS;
                Run(m, engine, body);
                Assert.Equal((ulong)Vector.NM, m.S.Gpr[R8]);
            }
        }
    }

    /// <summary>
    /// YMM0 (the destination and first source) and YMM2 are set so that lane 0 raises IE (an SNaN
    /// operand) and another lane PE (an inexact sum); the rest are exact. Returns the vector taken,
    /// MXCSR's flags and whether YMM0 kept its value.
    /// </summary>
    private static (ulong Vector, uint Flags, bool Unchanged) InvalidAndInexact(Engine engine, uint mxcsr, bool osxmmexcpt, Action<Assembler> body)
    {
        using var m = Machine();
        if (!osxmmexcpt)
        {
            m.S.Cr4 &= ~ControlBits.Cr4OSXMMEXCPT;
        }

        m.S.Vector.Mxcsr = mxcsr;
        SetSingles(m, 0, SignalingNaN, OnePlusUlp, One, Two, One, One, One, One);
        SetSingles(m, 2, One, Tiny, Two, One, One, One, One, One);
        ulong[] before = Ymm(m, 0);
        Run(m, engine, body);
        return (m.S.Gpr[R8], m.S.Vector.Mxcsr & Mxcsr.FlagBits, Ymm(m, 0).SequenceEqual(before));
    }

    private const uint AllMasked = 0x1F80, InvalidUnmasked = AllMasked & ~(Mxcsr.IE << Mxcsr.MaskShift), PrecisionUnmasked = AllMasked & ~(Mxcsr.PE << Mxcsr.MaskShift);

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void UnmaskedPreComputationExceptionSetsNoPostComputationFlag(Engine engine)
    {
        Action<Assembler>[] bodies = [a => a.vaddps(ymm0, ymm0, ymm2), a => a.vaddps(xmm0, xmm0, xmm2), a => a.addps(xmm0, xmm2), a => a.vhaddps(ymm0, ymm0, ymm2)];
        foreach (var body in bodies)
        {
            // All masked: both flags, and the result is written.
            var masked = InvalidAndInexact(engine, AllMasked, true, body);
            Assert.Equal(NoFault, masked.Vector);
            Assert.Equal(Mxcsr.IE | Mxcsr.PE, masked.Flags);
            Assert.False(masked.Unchanged);

            // IE unmasked: #XM, IE alone (the inexact lane's PE is never checked), destination kept.
            var invalid = InvalidAndInexact(engine, InvalidUnmasked, true, body);
            Assert.Equal((ulong)Vector.XM, invalid.Vector);
            Assert.Equal(Mxcsr.IE, invalid.Flags);
            Assert.True(invalid.Unchanged);

            // Without CR4.OSXMMEXCPT the same exception is #UD.
            var noOs = InvalidAndInexact(engine, InvalidUnmasked, false, body);
            Assert.Equal((ulong)Vector.UD, noOs.Vector);
            Assert.Equal(Mxcsr.IE, noOs.Flags);

            // PE unmasked, IE masked: a post-computation exception, so every lane's flags are set.
            var inexact = InvalidAndInexact(engine, PrecisionUnmasked, true, body);
            Assert.Equal((ulong)Vector.XM, inexact.Vector);
            Assert.Equal(Mxcsr.IE | Mxcsr.PE, inexact.Flags);
            Assert.True(inexact.Unchanged);
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void UnmaskedDivideByZeroAndDenormalDropThePrecisionFlag(Engine engine)
    {
        // VDIVPS: lane 0 is 1/0 (ZE), lane 1 is 1/3 (PE).
        using (var m = Machine())
        {
            m.S.Vector.Mxcsr = AllMasked & ~(Mxcsr.ZE << Mxcsr.MaskShift);
            SetSingles(m, 1, One, One, One, One);
            SetSingles(m, 2, 0, Three, One, One);
            Run(m, engine, a => a.vdivps(xmm0, xmm1, xmm2));
            Assert.Equal((ulong)Vector.XM, m.S.Gpr[R8]);
            Assert.Equal(Mxcsr.ZE, m.S.Vector.Mxcsr & Mxcsr.FlagBits);
        }

        // VADDPD: lane 0 adds a denormal (DE) to 1.0, inexact too; DE unmasked reports DE alone.
        using (var m = Machine())
        {
            m.S.Vector.Mxcsr = AllMasked & ~(Mxcsr.DE << Mxcsr.MaskShift);
            m.S.Vector.Ymm[1][0] = 0x3FF0_0000_0000_0000;
            m.S.Vector.Ymm[2][0] = 1;
            m.S.Vector.Ymm[0][0] = 0x1234;
            Run(m, engine, a => a.vaddpd(xmm0, xmm1, xmm2));
            Assert.Equal((ulong)Vector.XM, m.S.Gpr[R8]);
            Assert.Equal(Mxcsr.DE, m.S.Vector.Mxcsr & Mxcsr.FlagBits);
            Assert.Equal(0x1234UL, m.S.Vector.Ymm[0][0]);
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void SignallingComparePredicatesRaiseInvalidOnQuietNaN(Engine engine)
    {
        // SDM Vol. 2 CMPPS table 3-1: LT_OS (1) signals on a QNaN, LT_OQ (17) does not; both are false.
        foreach (var (predicate, flags) in new[] { (1, Mxcsr.IE), (17, 0u), (19, Mxcsr.IE), (3, 0u) })
        {
            using var m = Machine();
            SetSingles(m, 1, 0x7FC0_0000);
            SetSingles(m, 2, One);
            byte imm = (byte)predicate;
            Run(m, engine, a => a.vcmpps(xmm0, xmm1, xmm2, imm));
            Assert.Equal(NoFault, m.S.Gpr[R8]);
            Assert.Equal(flags, m.S.Vector.Mxcsr & Mxcsr.FlagBits);
            Assert.Equal(predicate is 3 or 19 ? 0xFFFF_FFFFUL : 0UL, m.S.Vector.Ymm[0][0] & 0xFFFF_FFFF);
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void OnlyTheAlignedMovesNeedAlignment(Engine engine)
    {
        (Action<Assembler> Body, ulong Vector)[] cases =
        [
            (a => a.vmovaps(ymm0, __ymmword_ptr[rsi + 16]), (ulong)Vector.GP),
            (a => a.vmovapd(__xmmword_ptr[rsi + 8], xmm0), (ulong)Vector.GP),
            (a => a.vmovntps(__ymmword_ptr[rsi + 16], ymm0), (ulong)Vector.GP),
            (a => a.vmovaps(ymm0, __ymmword_ptr[rsi + 32]), NoFault),
            (a => a.vmovups(ymm0, __ymmword_ptr[rsi + 1]), NoFault),
            (a => a.vaddps(ymm0, ymm1, __ymmword_ptr[rsi + 4]), NoFault),
            (a => a.vbroadcastf128(ymm0, __xmmword_ptr[rsi + 8]), NoFault),
        ];
        foreach (var (body, vector) in cases)
        {
            using var m = Machine();
            Run(m, engine, body);
            Assert.Equal(vector, m.S.Gpr[R8]);
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void MaskedMovesTouchOnlySelectedElements(Engine engine)
    {
        // PD entry 2 (4 MiB to 6 MiB) not present: the 8 bytes below 4 MiB are mapped, the next are not.
        const ulong boundary = 0x40_0000;
        TestMachine Setup(ulong maskHigh)
        {
            var m = Machine();
            m.Memory.Write(TestMachine.PageTableAddress + 0x2000 + 16, 8, 0);
            m.S.Gpr[CpuState.RSI] = boundary - 8;
            m.Memory.Write(boundary - 8, 8, 0x2222_2222_1111_1111);
            m.S.Vector.Ymm[1][0] = 0x8000_0000_0000_0000; // singles: element 1 selected; doubles: element 0
            m.S.Vector.Ymm[1][1] = maskHigh;
            m.S.Vector.Ymm[2][0] = 0x4444_4444_3333_3333;
            m.S.Vector.Ymm[0][3] = 0x77;
            return m;
        }

        using (var m = Setup(0))
        {
            Run(m, engine, a => a.vmaskmovps(xmm0, xmm1, __xmmword_ptr[rsi]));
            Assert.Equal(NoFault, m.S.Gpr[R8]);
            Assert.Equal([0x2222_2222_0000_0000UL, 0UL, 0UL, 0UL], Ymm(m, 0));
        }

        using (var m = Setup(0x8000_0000))
        {
            Run(m, engine, a => a.vmaskmovps(xmm0, xmm1, __xmmword_ptr[rsi]));
            Assert.Equal((ulong)Vector.PF, m.S.Gpr[R8]);
            Assert.Equal(boundary, m.S.Gpr[R11]);
            Assert.Equal(0x77UL, m.S.Vector.Ymm[0][3]);
        }

        using (var m = Setup(0))
        {
            Run(m, engine, a => a.vmaskmovps(__xmmword_ptr[rsi], xmm1, xmm2));
            Assert.Equal(NoFault, m.S.Gpr[R8]);
            Assert.Equal(0x4444_4444_1111_1111UL, m.Memory.Read(boundary - 8, 8));
        }

        using (var m = Setup(0x8000_0000_0000_0000))
        {
            // A selected element on the missing page: #PF, and nothing is written, not even the mapped element.
            Run(m, engine, a => a.vmaskmovpd(__ymmword_ptr[rsi], ymm1, ymm2));
            Assert.Equal((ulong)Vector.PF, m.S.Gpr[R8]);
            Assert.Equal(0x2222_2222_1111_1111UL, m.Memory.Read(boundary - 8, 8));
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void ZeroUpperClearsEveryUpperHalfAndZeroAllEverything(Engine engine)
    {
        foreach (bool all in new[] { false, true })
        {
            using var m = Machine();
            for (int r = 0; r < 16; r++)
            {
                for (int q = 0; q < 4; q++)
                {
                    m.S.Vector.Ymm[r][q] = (ulong)((r * 4) + q + 1);
                }
            }

            Run(m, engine, a =>
            {
                if (all)
                {
                    a.vzeroall();
                }
                else
                {
                    a.vzeroupper();
                }
            });
            for (int r = 0; r < 16; r++)
            {
                ulong low0 = all ? 0 : (ulong)((r * 4) + 1), low1 = all ? 0 : (ulong)((r * 4) + 2);
                Assert.Equal([low0, low1, 0UL, 0UL], Ymm(m, r));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void OutsideSixtyFourBitModeVexReachesOnlyYmm0To7(Engine engine)
    {
        // SDM Vol. 2 VZEROUPPER: outside 64-bit mode YMM8-15 are not modified; VEX runs in
        // 32-bit protected mode (C4/C5 there are VEX when ModRM.mod is 11b, not LES/LDS).
        using var m = new TestMachine().ProtectedMode32();
        m.S.Cr4 |= ControlBits.Cr4OSFXSR | Cr4OsXsave;
        m.S.Vector.Xcr0 = 7;
        for (int r = 0; r < 16; r++)
        {
            for (int q = 0; q < 4; q++)
            {
                m.S.Vector.Ymm[r][q] = (ulong)((r * 4) + q + 1);
            }
        }

        SetSingles(m, 1, One, One, One, One, One, One, One, One);
        SetSingles(m, 2, Two, Two, Two, Two, Two, Two, Two, Two);
        Run(m, engine, a =>
        {
            a.vaddps(ymm3, ymm1, ymm2);
            a.vzeroupper();
        });
        ulong threes = ((ulong)Three << 32) | Three;
        Assert.Equal([threes, threes, 0UL, 0UL], Ymm(m, 3));
        Assert.Equal([1UL, 2UL, 0UL, 0UL], Ymm(m, 0));
        Assert.Equal([(8UL * 4) + 1, (8UL * 4) + 2, (8UL * 4) + 3, (8UL * 4) + 4], Ymm(m, 8));
        Assert.Equal([(15UL * 4) + 1, (15UL * 4) + 2, (15UL * 4) + 3, (15UL * 4) + 4], Ymm(m, 15));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void VldmxcsrLoadsAndRefusesReservedBits(Engine engine)
    {
        // SDM Vol. 2 LDMXCSR: #GP(0) when a reserved bit (31:16 here, MXCSR_MASK FFFFh) is set.
        using (var m = Machine())
        {
            m.Memory.Write(TestMachine.DataAddress, 4, 0x9FC0); // FTZ, round to nearest, masks, DAZ
            Run(m, engine, a =>
            {
                a.vldmxcsr(__dword_ptr[rsi]);
                a.vstmxcsr(__dword_ptr[rsi + 8]);
            });
            Assert.Equal(NoFault, m.S.Gpr[R8]);
            Assert.Equal(0x9FC0u, m.S.Vector.Mxcsr);
            Assert.Equal(0x9FC0UL, m.Memory.Read(TestMachine.DataAddress + 8, 4));
        }

        using (var m = Machine())
        {
            m.Memory.Write(TestMachine.DataAddress, 4, 0x1_1F80);
            Run(m, engine, a => a.vldmxcsr(__dword_ptr[rsi]));
            Assert.Equal((ulong)Vector.GP, m.S.Gpr[R8]);
            Assert.Equal(0x1F80u, m.S.Vector.Mxcsr);
        }
    }
}
