using Emulator.Cpu.Exceptions;
using Emulator.Cpu.Simd;
using Emulator.Cpu.State;
using Emulator.Cpu.Tests.Exceptions;
using Emulator.TestKit;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Simd;

/// <summary>
/// The x87/MMX transitions the host-CPU harness checked: EMMS empties every tag and returns TOP
/// to 0 (host: FSW 0000h, FTW FFFFh after FLD1; EMMS); CVTPS2PI switches to MMX operation
/// (TOP = 0, all tags valid) even when it ends in #XM.
/// </summary>
public class MmxTransitionTests
{
    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void EmmsEmptiesTheTagsAndResetsTop(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        m.Load(a =>
        {
            a.fninit();
            a.fld1(); // TOP = 7
            a.emms();
            a.hlt();
        }).RunToHlt(engine);
        Assert.Equal(0, m.S.X87.Fsw);
        Assert.Equal(0xFFFF, m.S.X87.Ftw);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void Cvtps2piSwitchesToMmxEvenWhenItFaults(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.S.Cr4 |= ControlBits.Cr4OSFXSR | ControlBits.Cr4OSXMMEXCPT;
        m.S.Gpr[8] = 0xDEAD;
        m.S.Vector.Mxcsr = 0x1F80 & ~(Mxcsr.IE << Mxcsr.MaskShift); // invalid unmasked
        m.S.Vector.Ymm[0][0] = 0x7FC0_0000_7FC0_0000; // two QNaNs: out of range, #I
        m.Load(a =>
        {
            a.fninit();
            a.fld1(); // TOP = 7, one tag valid
            a.cvtps2pi(mm1, xmm0);
            a.hlt();
        }).RunToHlt(engine);
        Assert.Equal((ulong)Vector.XM, m.Reg(8));
        Assert.Equal(0, (m.S.X87.Fsw >> 11) & 7);
        Assert.Equal(0, m.S.X87.Ftw); // every tag valid
    }
}
