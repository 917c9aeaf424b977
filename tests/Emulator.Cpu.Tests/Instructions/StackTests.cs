using Emulator.Cpu.State;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Instructions;

/// <summary>Real-mode PUSH/POP, CALL/RET near and far, INT/IRET (SDM Vol. 2; IVT delivery: Vol. 3A 20.1.4).</summary>
public class StackTests
{
    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void PushPopAndPushSp(Engine engine)
    {
        using var m = new TestMachine().RealMode();
        m.Load(a =>
        {
            a.mov(ax, 0x1111);
            a.push(ax);
            a.push(0x2222);
            a.pop(bx);
            a.pop(cx);
            a.mov(bp, sp);
            a.push(sp); // 286 and later push SP as it was before the push (SDM Vol. 2B, PUSH)
            a.pop(dx);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(0x2222UL, m.Reg(CpuState.RBX));
        Assert.Equal(0x1111UL, m.Reg(CpuState.RCX));
        Assert.Equal(TestMachine.StackTop, m.Reg(CpuState.RDX) & 0xFFFF); // EDX's upper half holds the reset signature
        Assert.Equal(TestMachine.StackTop, m.Reg(CpuState.RSP));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void NearAndFarCallsReturn(Engine engine)
    {
        using var m = new TestMachine().RealMode();
        m.Load(a =>
        {
            var near = a.CreateLabel();
            var done = a.CreateLabel();
            a.call(near); // at IP 0, 3 bytes: pushes 0003
            a.AddInstruction(Instruction.CreateBranch(Code.Call_ptr1616, 0x2000, 0x0010)); // far call into 2000:0010
            a.jmp(done);
            a.Label(ref near);
            a.mov(bp, sp);
            a.mov(dx, __word_ptr[bp]); // the near return address
            a.ret();
            a.Label(ref done);
            a.hlt();
        });
        m.Load(
            a =>
            {
                a.mov(bp, sp);
                a.mov(si, __word_ptr[bp]); // return IP
                a.mov(di, __word_ptr[bp + 2]); // return CS
                a.mov(cx, cs);
                a.retf();
            },
            0x20010);
        m.RunToHlt(engine);

        Assert.Equal(3UL, m.Reg(CpuState.RDX) & 0xFFFF); // EDX's upper half holds the reset signature
        Assert.Equal(8UL, m.Reg(CpuState.RSI)); // after the 5-byte far call at IP 3
        Assert.Equal((ulong)TestMachine.RealModeCodeSegment, m.Reg(CpuState.RDI));
        Assert.Equal(0x2000UL, m.Reg(CpuState.RCX));
        Assert.Equal(TestMachine.RealModeCodeSegment, m.S.Cs.Selector);
        Assert.Equal(TestMachine.StackTop, m.Reg(CpuState.RSP));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void RetWithImmediateReleasesParameters(Engine engine)
    {
        using var m = new TestMachine().RealMode();
        m.Load(a =>
        {
            var sub = a.CreateLabel();
            a.push(1);
            a.push(2);
            a.call(sub);
            a.hlt();
            a.Label(ref sub);
            a.mov(bp, sp);
            a.mov(ax, __word_ptr[bp + 2]);
            a.add(ax, __word_ptr[bp + 4]);
            a.ret(4);
        }).RunToHlt(engine);

        Assert.Equal(3UL, m.Reg(CpuState.RAX));
        Assert.Equal(TestMachine.StackTop, m.Reg(CpuState.RSP));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void IntAndIretThroughTheIvt(Engine engine)
    {
        using var m = new TestMachine().RealMode();
        m.Memory.Write(0x21 * 4, 4, 0x0300_0040); // INT 21h -> 0300:0040 = linear 0x3040
        m.Load(
            a =>
            {
                a.mov(bp, sp);
                a.mov(si, __word_ptr[bp]); // pushed IP: after INT
                a.mov(di, __word_ptr[bp + 2]); // pushed CS
                a.pushf();
                a.pop(dx); // FLAGS inside the handler: IF and TF clear
                a.mov(cx, 0x55);
                a.iret();
            },
            0x3040);
        m.Load(a =>
        {
            a.sti();
            a.stc();
            a.@int(0x21);
            a.hlt();
        });
        m.RunToHlt(engine);

        Assert.Equal(0x55UL, m.Reg(CpuState.RCX));
        Assert.Equal(4UL, m.Reg(CpuState.RSI)); // STI, STC, INT 21h (2 bytes)
        Assert.Equal((ulong)TestMachine.RealModeCodeSegment, m.Reg(CpuState.RDI));
        Assert.Equal(0UL, m.Reg(CpuState.RDX) & Flags.IF);
        Assert.Equal(Flags.IF | Flags.CF, m.S.Rflags & (Flags.IF | Flags.CF)); // IRET restored IF
        Assert.Equal(TestMachine.StackTop, m.Reg(CpuState.RSP));
        Assert.Equal(5UL, m.S.Rip); // after the HLT at IP 4
    }
}
