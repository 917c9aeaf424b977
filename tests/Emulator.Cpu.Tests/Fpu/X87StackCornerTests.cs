using Emulator.Cpu.Tests.Exceptions;
using Emulator.TestKit;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Fpu;

/// <summary>
/// x87 corners the host-CPU harness found (tests/TestKit/Oracle); each expected status word was
/// read off the host CPU with the same instructions (FNSTSW, FNSTENV).
/// </summary>
public class X87StackCornerTests
{
    private static ushort Run(Engine engine, Action<Iced.Intel.Assembler> body, out ushort ftw)
    {
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.Load(a =>
        {
            a.fninit();
            body(a);
            a.fnstsw(ax);
            a.hlt();
        }).RunToHlt(engine);
        ftw = m.S.X87.Ftw;
        return (ushort)m.Reg(0);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void FfreepFreesAndPops(Engine engine)
    {
        // FFREEP ST(1) frees ST(1) and pops ST(0): nothing is left (host: FSW 3800h, FTW all empty).
        ushort fsw = Run(engine, a =>
        {
            a.fld1();
            a.fld1();
            a.ffreep(st1);
        }, out ushort ftw);
        Assert.Equal(0x3800, fsw);
        Assert.Equal(0xFFFF, ftw);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void FcmovLeavesC1Alone(Engine engine)
    {
        // FXAM of -0 sets C1 (the sign) and C3; FCMOVcc without a stack fault keeps C1 (host: 7200h).
        ushort fsw = Run(engine, a =>
        {
            a.fld1();
            a.fldz();
            a.fchs();
            a.fxam();
            a.fcmovnbe(st0, st1);
        }, out _);
        Assert.Equal(0x7200, fsw);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void FpremStackUnderflowClearsC2(Engine engine)
    {
        // FXAM of 1.0 leaves C2 = 1; FPREM with ST(1) empty underflows, writes the indefinite NaN
        // and reports a complete reduction, C2 = 0 (host: 3841h).
        ushort fsw = Run(engine, a =>
        {
            a.fld1();
            a.fxam();
            a.fprem();
        }, out _);
        Assert.Equal(0x3841, fsw);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void FcomiLeavesC1Alone(Engine engine)
    {
        // FXAM of -0 sets C1 and C3; FCOMI writes EFLAGS and, without a stack fault, keeps C1 (host: 7200h).
        ushort fsw = Run(engine, a =>
        {
            a.fld1();
            a.fldz();
            a.fchs();
            a.fxam();
            a.fcomi(st0, st1);
        }, out _);
        Assert.Equal(0x7200, fsw);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void FpremWithoutAReductionKeepsC0AndC3(Engine engine)
    {
        // FCOM of -1 with 0 sets C0; -1 FPREM 0 is invalid (masked, a NaN): no quotient bits are
        // produced, C0 and C3 stay, C1 and C2 are cleared (host: 3101h).
        ushort fsw = Run(engine, a =>
        {
            a.fldz();
            a.fld1();
            a.fchs();
            a.fcom(st0, st1);
            a.fprem();
        }, out _);
        Assert.Equal(0x3101, fsw);
    }
}
