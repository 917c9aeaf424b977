using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.Cpu.Tests.Exceptions;
using Emulator.TestKit;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Interrupts;

/// <summary>
/// The single-step trap (SDM Vol. 3A 17.3.1.4) and the resume flag (17.3.1.1): #DB with DR6.BS
/// after each instruction that ran with TF = 1, not after the one that set TF; none after an
/// instruction that faults or a software interrupt; delayed past the instruction after MOV SS
/// (6.8.3); RF = 1 in the EFLAGS image of a fault.
/// </summary>
public class SingleStepTests
{
    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void TrapFollowsEachInstructionRunWithTfButNotTheOneThatSetIt(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        EventLog.Install(m, Vector.DB);
        var at = EventLog.LoadParts(
            m,
            EventLog.SetTrapFlag,
            a => a.nop(),
            a => a.mov(eax, 1),
            a => a.pushfq(),
            a => a.and(__qword_ptr[rsp], ~0x100),
            a => a.popfq(), // runs with TF = 1 and clears it: trapped once more
            a => a.nop(),
            a => a.hlt());
        m.RunToHlt(engine);

        // Traps after NOP, MOV, PUSHFQ, AND and POPFQ; none after the first POPFQ (it set TF).
        Assert.Equal(5, EventLog.Count(m));
        for (int k = 0; k < 5; k++)
        {
            var (rip, rflags, dr6) = EventLog.Entry(m, k);
            Assert.Equal(at[k + 2], rip);
            Assert.Equal(k < 4 ? Flags.TF : 0, rflags & Flags.TF);
            Assert.Equal(0UL, rflags & Flags.RF); // a trap pushes RF as it is
            Assert.Equal(X86Cpu.Dr6BS | X86Cpu.Dr6Fixed1, dr6);
        }

        Assert.Equal(1UL, m.Reg(CpuState.RAX));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void MovSsDelaysTheTrapPastTheNextInstruction(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        EventLog.Install(m, Vector.DB);
        m.S.Gpr[CpuState.RAX] = TestMachine.Data;
        var at = EventLog.LoadParts(
            m,
            EventLog.SetTrapFlag,
            a => a.nop(),
            a => a.mov(ss, ax),
            a => a.nop(),
            a => a.pushfq(),
            a => a.and(__qword_ptr[rsp], ~0x100),
            a => a.popfq(),
            a => a.hlt());
        m.RunToHlt(engine);

        // SDM Vol. 3A 6.8.3: debug exceptions after MOV SS are held until the next instruction
        // completes, so there is one trap for MOV SS and the NOP together, reported after the NOP.
        var rips = Enumerable.Range(0, EventLog.Count(m)).Select(k => EventLog.Entry(m, k).Rip).ToArray();
        Assert.Equal([at[2], at[4], at[5], at[6], at[7]], rips);
        Assert.DoesNotContain(at[3], rips);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void FaultingInstructionIsNotTrappedAndItsFramePushesRf(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        EventLog.Install(m, Vector.DB);
        m.Load(
            a =>
            {
                a.mov(r8, Vector.UD);
                a.mov(r9, __qword_ptr[rsp]);
                a.mov(r14, __qword_ptr[rsp + 16]);
                a.hlt();
            },
            LongModeIdt.Handler(Vector.UD));
        var at = EventLog.LoadParts(m, EventLog.SetTrapFlag, a => a.nop(), a => a.ud2(), a => a.hlt());
        m.RunToHlt(engine);

        Assert.Equal(1, EventLog.Count(m)); // after the NOP only: the fault replaces the trap
        Assert.Equal(at[2], EventLog.Entry(m, 0).Rip);
        Assert.Equal((ulong)Vector.UD, m.Reg(8));
        Assert.Equal(at[2], m.Reg(9));

        // SDM 17.3.1.1: a fault's EFLAGS image has RF = 1; TF is saved as it was and cleared in the handler.
        Assert.Equal(Flags.RF | Flags.TF, m.Reg(14) & (Flags.RF | Flags.TF));
        Assert.Equal(0UL, m.S.Rflags & Flags.TF);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void SoftwareInterruptClearsTfAndItsHandlerIsNotStepped(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        EventLog.Install(m, Vector.DB);
        const ulong handler = 0x3C000;
        m.Load(
            a =>
            {
                a.inc(r13);
                a.inc(r13);
                a.iretq();
            },
            handler);
        LongModeIdt.SetGate(m, 0x40, handler);
        var at = EventLog.LoadParts(
            m,
            EventLog.SetTrapFlag,
            a => a.@int(0x40),
            a => a.nop(),
            a => a.pushfq(),
            a => a.and(__qword_ptr[rsp], ~0x100),
            a => a.popfq(),
            a => a.hlt());
        m.RunToHlt(engine);

        // SDM 17.3.1.4: INT n clears TF, so neither INT n nor its handler (nor its IRETQ, which
        // ran with TF = 0 and set it) is followed by a trap; the NOP after it is.
        Assert.Equal(2UL, m.Reg(13));
        var rips = Enumerable.Range(0, EventLog.Count(m)).Select(k => EventLog.Entry(m, k).Rip).ToArray();
        Assert.Equal([at[3], at[4], at[5], at[6]], rips);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void GeneralProtectionFaultPushesRfAndTrapPushesItClear(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.Load(
            a =>
            {
                a.mov(r8, Vector.GP);
                a.mov(r14, __qword_ptr[rsp + 24]); // error code, RIP, CS, RFLAGS
                a.hlt();
            },
            LongModeIdt.Handler(Vector.GP));
        m.Load(
            a =>
            {
                a.mov(r13, __qword_ptr[rsp + 16]);
                a.mov(rax, 0x0000_8000_0000_0000);
                a.mov(rax, __qword_ptr[rax]);
                a.hlt();
            },
            LongModeIdt.Handler(Vector.BP));
        m.Load(a =>
        {
            a.int3();
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(0UL, m.Reg(13) & Flags.RF); // INT3 is a trap: RF as it was (SDM 17.3.1.1)
        Assert.Equal((ulong)Vector.GP, m.Reg(8));
        Assert.Equal(Flags.RF, m.Reg(14) & Flags.RF); // #GP is a fault: RF = 1
    }
}
