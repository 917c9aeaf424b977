using Emulator.Cpu.State;
using Emulator.TestKit;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Instructions;

/// <summary>LOOP, LOOPE, LOOPNE and JCXZ in real mode (SDM Vol. 2A/2B): CX counts, flags are not touched.</summary>
public class BranchTests
{
    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void LoopCountsCxDown(Engine engine)
    {
        using var m = new TestMachine().RealMode();
        m.Load(a =>
        {
            var top = a.CreateLabel();
            a.xor(ax, ax);
            a.mov(cx, 5);
            a.Label(ref top);
            a.add(ax, cx);
            a.loop(top);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(15UL, m.Reg(CpuState.RAX)); // 5 + 4 + 3 + 2 + 1
        Assert.Equal(0UL, m.Reg(CpuState.RCX));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void LoopeAndLoopneStopOnZf(Engine engine)
    {
        using var m = new TestMachine().RealMode();
        m.Memory.WriteBytes(0x500, [7, 7, 7, 9, 7]);
        m.Memory.WriteBytes(0x600, [1, 2, 3, 0, 5]);
        m.Load(a =>
        {
            var equal = a.CreateLabel();
            var nonzero = a.CreateLabel();
            a.mov(si, 0x4FF);
            a.mov(cx, 5);
            a.Label(ref equal);
            a.inc(si);
            a.cmp(__byte_ptr[si], 7);
            a.loope(equal); // leaves at the 9 (index 3) with CX = 1
            a.mov(bx, cx);
            a.mov(di, si);
            a.mov(si, 0x5FF);
            a.mov(cx, 5);
            a.Label(ref nonzero);
            a.inc(si);
            a.cmp(__byte_ptr[si], 0);
            a.loopne(nonzero); // leaves at the 0 (index 3) with CX = 1
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(1UL, m.Reg(CpuState.RBX));
        Assert.Equal(0x503UL, m.Reg(CpuState.RDI));
        Assert.Equal(1UL, m.Reg(CpuState.RCX));
        Assert.Equal(0x603UL, m.Reg(CpuState.RSI));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void JcxzJumpsOnlyWhenCxIsZero(Engine engine)
    {
        using var m = new TestMachine().RealMode();
        m.Load(a =>
        {
            var first = a.CreateLabel();
            var second = a.CreateLabel();
            a.mov(ecx, 0x1_0000); // CX = 0 though ECX is not: JCXZ looks at CX only
            a.jcxz(first);
            a.mov(ax, 1);
            a.Label(ref first);
            a.mov(cx, 1);
            a.jcxz(second);
            a.mov(bx, 2);
            a.Label(ref second);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(0UL, m.Reg(CpuState.RAX) & 0xFFFF);
        Assert.Equal(2UL, m.Reg(CpuState.RBX) & 0xFFFF);
    }
}
