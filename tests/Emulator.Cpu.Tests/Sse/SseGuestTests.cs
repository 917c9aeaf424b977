using Emulator.Cpu.Exceptions;
using Emulator.Cpu.Simd;
using Emulator.Cpu.State;
using Emulator.Cpu.Tests.Exceptions;
using Emulator.TestKit;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Sse;

/// <summary>
/// SSE behaviour a guest sees beyond lane arithmetic: the availability checks (SDM Vol. 3A
/// table 2-2), #XM versus #UD for unmasked exceptions (SDM Vol. 1 11.5.1), alignment #GP,
/// memory operand forms, LDMXCSR/STMXCSR and the MMX-register conversions.
/// </summary>
public class SseGuestTests
{
    private const ulong NoFault = 0xDEAD;
    private const int R8 = 8, R10 = 10;
    private static readonly ulong s_data = TestMachine.DataAddress;

    private static uint F(float value) => BitConverter.SingleToUInt32Bits(value);

    private static ulong Pair(float lo, float hi) => F(lo) | ((ulong)F(hi) << 32);

    /// <summary>Long mode with the exception IDT, CR4.OSFXSR and OSXMMEXCPT set, R8 = <see cref="NoFault"/>.</summary>
    private static TestMachine Machine()
    {
        var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.S.Cr4 |= ControlBits.Cr4OSFXSR | ControlBits.Cr4OSXMMEXCPT;
        m.S.Gpr[R8] = NoFault;
        return m;
    }

    private static void SetXmm(TestMachine m, int k, ulong lo, ulong hi = 0)
    {
        m.S.Vector.Ymm[k][0] = lo;
        m.S.Vector.Ymm[k][1] = hi;
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void AvailabilityChecks(Engine engine)
    {
        foreach (var (cr0, cr4, expected) in new (ulong, ulong, ulong)[]
        {
            (0, ControlBits.Cr4OSFXSR, NoFault),
            (0, 0, Vector.UD),                                        // CR4.OSFXSR = 0
            (ControlBits.Cr0EM, ControlBits.Cr4OSFXSR, Vector.UD),    // CR0.EM = 1
            (ControlBits.Cr0TS, ControlBits.Cr4OSFXSR, Vector.NM),    // CR0.TS = 1
        })
        {
            using var m = Machine();
            m.S.Cr0 |= cr0;
            m.S.Cr4 = (m.S.Cr4 & ~(ControlBits.Cr4OSFXSR | ControlBits.Cr4OSXMMEXCPT)) | cr4;
            m.Load(a =>
            {
                a.addps(xmm0, xmm1);
                a.hlt();
            }).RunToHlt(engine);
            Assert.Equal(expected, m.Reg(R8));
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void UnmaskedExceptionIsXmWithOsxmmexcptElseUdAndLeavesTheDestination(Engine engine)
    {
        foreach (bool osxmmexcpt in new[] { true, false })
        {
            using var m = Machine();
            if (!osxmmexcpt)
            {
                m.S.Cr4 &= ~ControlBits.Cr4OSXMMEXCPT;
            }

            m.S.Vector.Mxcsr = 0x1F80 & ~(Mxcsr.ZE << Mxcsr.MaskShift); // divide-by-zero unmasked
            SetXmm(m, 0, Pair(1, 2), Pair(4, 8));
            SetXmm(m, 1, Pair(0, 1), Pair(2, 2));
            m.Load(a =>
            {
                a.divps(xmm0, xmm1);
                a.hlt();
            }).RunToHlt(engine);

            Assert.Equal(osxmmexcpt ? (ulong)Vector.XM : Vector.UD, m.Reg(R8));
            Assert.Equal(Pair(1, 2), m.S.Vector.Ymm[0][0]); // not written
            Assert.Equal(0x1D80u | Mxcsr.ZE, m.S.Vector.Mxcsr); // the flag is still set
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void MisalignedSixteenByteOperandIsGpExceptForUnalignedForms(Engine engine)
    {
        using var m = Machine();
        m.Memory.Write(s_data + 8, 8, Pair(3, 4));
        m.Memory.Write(s_data + 16, 8, Pair(5, 6));
        m.S.Gpr[CpuState.RBX] = s_data + 8;
        m.Load(a =>
        {
            a.movups(xmm0, __xmmword_ptr[rbx]);    // fine
            a.addss(xmm0, __dword_ptr[rbx + 4]);  // scalar: no alignment rule
            a.movaps(xmm1, __xmmword_ptr[rbx]);    // #GP(0)
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal((ulong)Vector.GP, m.Reg(R8));
        Assert.Equal(0UL, m.Reg(R10)); // error code 0
        Assert.Equal(Pair(7, 4), m.S.Vector.Ymm[0][0]);
        Assert.Equal(Pair(5, 6), m.S.Vector.Ymm[0][1]);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void MemoryOperandForms(Engine engine)
    {
        using var m = Machine();
        m.Memory.Write(s_data, 8, Pair(1.5f, -2));
        m.Memory.Write(s_data + 8, 8, Pair(0.25f, 1e30f));
        m.Memory.Write(s_data + 64, 8, 0x7FFF_FFFF_FFFF_FFFF);
        SetXmm(m, 0, Pair(1, 1), Pair(1, 1));
        SetXmm(m, 1, ulong.MaxValue, ulong.MaxValue);
        SetXmm(m, 2, 0x1234, 0x5678);
        m.S.Vector.Ymm[1][2] = 0xABCD; // YMM1 upper half: legacy SSE leaves it alone
        m.S.Gpr[CpuState.RBX] = s_data;
        m.Load(a =>
        {
            a.addps(xmm0, __xmmword_ptr[rbx]);
            a.movss(xmm1, __dword_ptr[rbx + 8]);      // load: zeroes bits 127:32
            a.movss(__dword_ptr[rbx + 32], xmm0);
            a.movhps(xmm2, __qword_ptr[rbx]);
            a.movlps(__qword_ptr[rbx + 48], xmm2);
            a.cvtsi2sd(xmm3, __qword_ptr[rbx + 64]);
            a.movapd(__xmmword_ptr[rbx + 80], xmm0);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(NoFault, m.Reg(R8));
        Assert.Equal(Pair(2.5f, -1), m.S.Vector.Ymm[0][0]);
        Assert.Equal(Pair(1.25f, 1e30f), m.S.Vector.Ymm[0][1]);
        Assert.Equal((ulong)F(0.25f), m.S.Vector.Ymm[1][0]);
        Assert.Equal(0UL, m.S.Vector.Ymm[1][1]);
        Assert.Equal(0xABCDUL, m.S.Vector.Ymm[1][2]);
        Assert.Equal((ulong)F(2.5f), m.Memory.Read(s_data + 32, 4));
        Assert.Equal(Pair(1.5f, -2), m.S.Vector.Ymm[2][1]);
        Assert.Equal(0x1234UL, m.Memory.Read(s_data + 48, 8));
        Assert.Equal(BitConverter.DoubleToUInt64Bits(9.2233720368547758e18), m.S.Vector.Ymm[3][0]);
        Assert.NotEqual(0u, m.S.Vector.Mxcsr & Mxcsr.PE); // 2^63 - 1 is not a double
        Assert.Equal(m.S.Vector.Ymm[0][1], m.Memory.Read(s_data + 88, 8));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void LdmxcsrRejectsReservedBitsAndStmxcsrStores(Engine engine)
    {
        using var m = Machine();
        m.Memory.Write(s_data, 4, 0xFFFF & ~0x40u);
        m.Memory.Write(s_data + 4, 4, 0x1_0000);
        m.S.Gpr[CpuState.RBX] = s_data;
        m.Load(a =>
        {
            a.ldmxcsr(__dword_ptr[rbx]);
            a.stmxcsr(__dword_ptr[rbx + 8]);
            a.ldmxcsr(__dword_ptr[rbx + 4]); // bit 16 is reserved: #GP(0)
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal((ulong)Vector.GP, m.Reg(R8));
        Assert.Equal(0xFFBFu, m.S.Vector.Mxcsr);
        Assert.Equal(0xFFBFUL, m.Memory.Read(s_data + 8, 4));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void RoundingControlAndFtzAreHonoured(Engine engine)
    {
        using var m = Machine();
        // 1 / 3 in single: round down and round up differ in the last bit; FTZ flushes a tiny product.
        SetXmm(m, 0, F(1));
        SetXmm(m, 1, F(3));
        SetXmm(m, 2, F(1));
        SetXmm(m, 3, F(3));
        SetXmm(m, 4, F(1e-30f));
        SetXmm(m, 5, F(1e-10f));
        m.Memory.Write(s_data, 4, 0x1F80 | (1 << 13)); // RC = down
        m.Memory.Write(s_data + 4, 4, 0x1F80 | (2 << 13)); // RC = up
        m.Memory.Write(s_data + 8, 4, 0x1F80 | Mxcsr.Ftz);
        m.S.Gpr[CpuState.RBX] = s_data;
        m.Load(a =>
        {
            a.ldmxcsr(__dword_ptr[rbx]);
            a.divss(xmm0, xmm1);
            a.ldmxcsr(__dword_ptr[rbx + 4]);
            a.divss(xmm2, xmm3);
            a.ldmxcsr(__dword_ptr[rbx + 8]);
            a.mulss(xmm4, xmm5);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(0x3EAAAAAAUL, m.S.Vector.Ymm[0][0]);
        Assert.Equal(0x3EAAAAABUL, m.S.Vector.Ymm[2][0]);
        Assert.Equal(0UL, m.S.Vector.Ymm[4][0]);
        Assert.Equal(0x1F80u | Mxcsr.Ftz | Mxcsr.UE | Mxcsr.PE, m.S.Vector.Mxcsr);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void MmxRegisterConversionsEnterMmxState(Engine engine)
    {
        using var m = Machine();
        m.S.X87.Registers[1].Significand = 0xFFFF_FFFD_0000_0007; // MM1 = (7, -3)
        m.S.X87.Fsw = 5 << 11; // TOP = 5
        m.S.X87.Ftw = 0xFFFF;
        SetXmm(m, 0, 0, 0x5555);
        SetXmm(m, 3, Pair(2.5f, -7.5f));
        m.Load(a =>
        {
            a.cvtpi2ps(xmm0, mm1);
            a.cvtps2pi(mm2, xmm3);     // round to nearest even: 2, -8
            a.cvttps2pi(mm3, xmm3);    // truncate: 2, -7
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(NoFault, m.Reg(R8));
        Assert.Equal(Pair(7, -3), m.S.Vector.Ymm[0][0]);
        Assert.Equal(0x5555UL, m.S.Vector.Ymm[0][1]);
        Assert.Equal(0xFFFF_FFF8_0000_0002UL, m.S.X87.Registers[2].Significand);
        Assert.Equal(0xFFFF_FFF9_0000_0002UL, m.S.X87.Registers[3].Significand);
        Assert.Equal(0xFFFF, m.S.X87.Registers[2].SignExponent);
        Assert.Equal(0, (m.S.X87.Fsw >> 11) & 7); // TOP = 0
        Assert.Equal(0, m.S.X87.Ftw); // all valid
    }

    /// <summary>RCPPS/RSQRTPS: within the documented relative error 1.5 * 2^-12 of the exact value (SDM Vol. 2 RCPPS, RSQRTPS).</summary>
    [Fact]
    public void ApproximationsStayWithinTheDocumentedError()
    {
        var random = new Random(7);
        const double Bound = 1.5 / 4096;
        for (int n = 0; n < 20000; n++)
        {
            // Normal inputs whose results are normal too.
            float x = (float)Math.Pow(2, random.Next(-120, 120)) * (1 + (float)random.NextDouble());
            float rcp = BitConverter.UInt32BitsToSingle(SoftFloat.Reciprocal(F(x), squareRoot: false));
            float rsqrt = BitConverter.UInt32BitsToSingle(SoftFloat.Reciprocal(F(x), squareRoot: true));
            Assert.InRange(Math.Abs((rcp * (double)x) - 1), 0, Bound);
            Assert.InRange(Math.Abs((rsqrt * Math.Sqrt(x)) - 1), 0, Bound);
        }

        Assert.Equal(0x7F80_0000u, SoftFloat.Reciprocal(0, squareRoot: false));
        Assert.Equal(0xFF80_0000u, SoftFloat.Reciprocal(0x8000_0001, squareRoot: false)); // denormal as -0
        Assert.Equal(0u, SoftFloat.Reciprocal(0x7F80_0000, squareRoot: true));
        Assert.Equal(0xFFC0_0000u, SoftFloat.Reciprocal(F(-4), squareRoot: true));
    }
}
