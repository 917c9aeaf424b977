using Emulator.Cpu.Exceptions;
using Emulator.Cpu.Simd;
using Emulator.Cpu.State;
using Emulator.Cpu.Tests.Exceptions;
using Emulator.TestKit;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Fma;

/// <summary>
/// The VEX rules of FMA3 and F16C: encodings the SDM makes #UD (VEX.W1 or VEX.vvvv other than
/// 1111b for F16C; a 66, F2, F3, REX or LOCK prefix before VEX, Vol. 2A 2.3.2) against the host, which takes them as SIGILL; encodings that must run (the
/// scalar forms ignore VEX.L, W selects PS or PD); and, in the guest only, the #UD without
/// CR4.OSXSAVE or XCR0.AVX, the #NM with CR0.TS, and the #UD instead of #XM with
/// CR4.OSXMMEXCPT = 0 (SDM Vol. 2A 2.3.6, 2.8 exception classes 2 and 6; Vol. 1 11.5.1).
/// </summary>
public class FmaEncodingTests
{
    /// <summary>Raw encodings: C4 [RXB mmmmm] [W vvvv L pp] opcode ModRM (imm8).</summary>
    public static TheoryData<Engine, string, string> Encodings()
    {
        (string Name, string Hex)[] rows =
        [
            ("vcvtph2ps xmm0,xmm1", "C4E27913C1"),
            ("vcvtph2ps ymm0,xmm1", "C4E27D13C1"),
            ("vcvtph2ps W1", "C4E2F913C1"),
            ("vcvtph2ps vvvv=1110", "C4E27113C1"),
            ("vcvtps2ph xmm0,xmm1,0", "C4E3791DC800"),
            ("vcvtps2ph xmm0,ymm1,4", "C4E37D1DC804"),
            ("vcvtps2ph W1", "C4E3F91DC800"),
            ("vcvtps2ph vvvv=1110", "C4E3711DC800"),
            ("vfmadd231ps xmm0,xmm1,xmm2", "C4E271B8C2"),
            ("vfmadd231pd (W1) xmm0,xmm1,xmm2", "C4E2F1B8C2"),
            ("vfmadd231ss L1 (LIG)", "C4E275B9C2"),
            ("vfnmsub213sd L1 (LIG)", "C4E2F5AFC2"),
            ("vfmaddsub132ps ymm0,ymm1,ymm2", "C4E27596C2"),
            ("66 prefix + vfmadd231ps", "66C4E271B8C2"),
            ("F3 prefix + vfmadd231ps", "F3C4E271B8C2"),
            ("REX prefix + vfmadd231ps", "40C4E271B8C2"),
            ("LOCK + vcvtph2ps", "F0C4E27913C1"),
        ];
        var data = new TheoryData<Engine, string, string>();
        foreach (var engine in Enum.GetValues<Engine>())
        {
            foreach (var (name, hex) in rows)
            {
                data.Add(engine, name, hex);
            }
        }

        return data;
    }

    [RequiresHostFmaTheory]
    [MemberData(nameof(Encodings))]
    public void EncodingMatchesHost(Engine engine, string name, string hex)
    {
        byte[] code = Convert.FromHexString(hex);
        var random = new Random(hex.Length * 131);
        var input = new FmaState { Mxcsr = 0x1F80 };
        random.NextBytes(input.Ymm);
        for (int k = 0; k < input.Ymm.Length; k += 4)
        {
            input.Ymm[k + 3] = (byte)(0x3F + (input.Ymm[k + 3] & 1)); // moderate singles (and doubles) so nothing faults
        }

        var host = input.Clone();
        host.RunOnHost(code);
        using var m = FmaState.NewMachine();
        var guest = input.Clone();
        guest.RunOnGuest(m, code, engine);
        Assert.True(guest.Difference(host) is null, $"{name}: guest vs host: {guest.Difference(host)}");

        // The SDM's #UD encodings are #UD on this host too (else the comparison proves little).
        bool undefined = name.Contains("prefix", StringComparison.Ordinal) || name.StartsWith("LOCK", StringComparison.Ordinal)
            || (name.StartsWith("vcvt", StringComparison.Ordinal) && (name.EndsWith("W1", StringComparison.Ordinal) || name.Contains("vvvv", StringComparison.Ordinal)));
        Assert.Equal(undefined ? Vector.UD : FmaState.NoFault, host.Fault);
    }

    private const int R8 = 8;
    private const ulong NoFault = 0xDEAD;
    private const ulong Cr4OsXsave = 1UL << 18;

    /// <summary>Runs <paramref name="body"/> in long mode with the recording IDT; returns R8 (the vector, or <see cref="NoFault"/>).</summary>
    private static ulong Run(Engine engine, Action<Iced.Intel.Assembler> body, ulong cr0Set = 0, ulong cr4Clear = 0, ulong xcr0 = 7, uint mxcsr = 0x1F80)
    {
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.S.Cr0 |= cr0Set;
        m.S.Cr4 = (m.S.Cr4 | ControlBits.Cr4OSFXSR | ControlBits.Cr4OSXMMEXCPT | Cr4OsXsave) & ~cr4Clear;
        m.S.Vector.Xcr0 = xcr0;
        m.S.Vector.Mxcsr = mxcsr;
        m.S.Gpr[R8] = NoFault;
        m.Load(a =>
        {
            body(a);
            a.hlt();
        }).RunToHlt(engine);
        return m.S.Gpr[R8];
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void NeedsOsxsaveAndAvxStateAndClearTs(Engine engine)
    {
        Action<Iced.Intel.Assembler>[] bodies =
        [
            a => a.vfmadd132ps(ymm0, ymm1, ymm2),
            a => a.vfnmsub231sd(xmm0, xmm1, xmm2),
            a => a.vcvtph2ps(ymm0, xmm1),
            a => a.vcvtps2ph(xmm0, ymm1, 0),
        ];
        foreach (var body in bodies)
        {
            Assert.Equal(NoFault, Run(engine, body));
            Assert.Equal((ulong)Vector.UD, Run(engine, body, cr4Clear: Cr4OsXsave));
            Assert.Equal((ulong)Vector.UD, Run(engine, body, xcr0: 3));
            Assert.Equal((ulong)Vector.NM, Run(engine, body, cr0Set: ControlBits.Cr0TS));
        }
    }

    /// <summary>An unmasked exception is #XM with CR4.OSXMMEXCPT = 1 and #UD without (SDM Vol. 1 11.5.1).</summary>
    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void UnmaskedExceptionIsXmOrUdWithoutOsxmmexcpt(Engine engine)
    {
        uint invalidUnmasked = 0x1F80 & ~(Mxcsr.IE << Mxcsr.MaskShift);
        // 0 * inf: XMM0 = 0, XMM1 = +inf in every element.
        void Body(Iced.Intel.Assembler a)
        {
            a.vpxor(xmm0, xmm0, xmm0);
            a.mov(eax, 0x7F80_0000);
            a.vmovd(xmm1, eax);
            a.vfmadd213ss(xmm0, xmm1, xmm1);
        }

        Assert.Equal((ulong)Vector.XM, Run(engine, Body, mxcsr: invalidUnmasked));
        Assert.Equal((ulong)Vector.UD, Run(engine, Body, cr4Clear: ControlBits.Cr4OSXMMEXCPT, mxcsr: invalidUnmasked));
        Assert.Equal(NoFault, Run(engine, Body));
    }

    /// <summary>
    /// A page fault on the memory operand leaves MXCSR, the destination and memory as they were
    /// (SDM Vol. 3A 6.5: a fault restores the state before the instruction): VCVTPS2PH storing 16
    /// bytes into a page that is not present, and VFMADD reading from it.
    /// </summary>
    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void PageFaultLeavesMxcsrDestinationAndMemory(Engine engine)
    {
        const ulong Edge = 0x60_0000; // the 2 MiB page from here on is made not present
        using var m = new TestMachine().LongMode();
        m.Memory.Write(TestMachine.PageTableAddress + 0x2000 + (8 * (Edge >> 21)), 8, 0);
        LongModeIdt.Install(m);
        m.S.Cr4 |= ControlBits.Cr4OSFXSR | ControlBits.Cr4OSXMMEXCPT | Cr4OsXsave;
        m.S.Vector.Xcr0 = 7;
        m.S.Vector.Mxcsr = 0x1F80;
        m.S.Gpr[R8] = NoFault;
        m.S.Gpr[Emulator.Cpu.State.CpuState.RSI] = Edge - 8;
        m.Memory.Write(Edge - 8, 8, 0x1122_3344_5566_7788);
        for (int q = 0; q < 4; q++)
        {
            m.S.Vector.Ymm[1][q] = 0x3F80_0001_3F80_0001; // 1 + 2^-23: inexact in half precision
            m.S.Vector.Ymm[0][q] = 0xAAAA_AAAA_AAAA_AAAA;
        }

        m.Load(a =>
        {
            a.vcvtps2ph(__xmmword_ptr[rsi], ymm1, 0);
            a.hlt();
        }).RunToHlt(engine);
        Assert.Equal((ulong)Vector.PF, m.S.Gpr[R8]);
        Assert.Equal(0x1F80u, m.S.Vector.Mxcsr);
        Assert.Equal(0x1122_3344_5566_7788UL, m.Memory.Read(Edge - 8, 8));

        m.S.Gpr[R8] = NoFault;
        m.S.Gpr[Emulator.Cpu.State.CpuState.RSP] = TestMachine.StackTop;
        m.S.Rip = TestMachine.CodeAddress;
        m.S.Halted = 0;
        m.Cpu.Blocks.Clear();
        m.Load(a =>
        {
            a.vfmadd231ps(ymm0, ymm1, __ymmword_ptr[rsi]);
            a.hlt();
        }).RunToHlt(engine);
        Assert.Equal((ulong)Vector.PF, m.S.Gpr[R8]);
        Assert.Equal(0x1F80u, m.S.Vector.Mxcsr);
        Assert.Equal(0xAAAA_AAAA_AAAA_AAAAUL, m.S.Vector.Ymm[0][3]);
    }
}
