using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.Cpu.Tests.SystemArchitecture;
using Emulator.TestKit;
using Xunit;
using static Emulator.TestKit.SystemTables;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Tasks;

/// <summary>
/// Interrupts and exceptions through task gates in the IDT (SDM Vol. 3A 6.12.2): a nested task
/// switch, with the exception's error code pushed on the new task's stack.
/// </summary>
public class InterruptTaskTests
{
    private const ushort TssB = FirstFree;
    private const ushort SmallStack = FirstFree + 8;
    private const ulong TssBAddress = 0x3800;
    private const ulong TaskB = TestMachine.CodeAddress + 0x400;
    private const ulong TaskBStack = 0x7800;

    private static TestMachine Protected()
    {
        var m = new TestMachine().ProtectedMode32();
        ProtectedModeIdt.Install(m);
        InstallRing3(m);
        TaskState.WriteKernelTask(m, TssBAddress, TaskB, TaskBStack);
        SetGdt(m, TssB, SystemTables.System((uint)TssBAddress, 0x67, Tss32Available));
        return m;
    }

    private static void SetIdt(TestMachine m, int vector, ulong gate) => m.Memory.Write(TestMachine.IdtAddress + (ulong)(8 * vector), 8, gate);

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void DoubleFaultThroughATaskGateSurvivesAStackOverflow(Engine engine)
    {
        // The classic use of a task gate (SDM 6.15, interrupt 8, and 8.3): a push past the stack
        // limit is #SS(0); delivering it on the same broken stack faults again (contributory
        // twice, table 6-5), so #DF is raised and its task gate switches to a task with a good
        // stack. The #DF error code (0) is pushed there; the old task's state, saved in its TSS,
        // shows the faulting PUSH and ESP = 0; the link names the old task and NT is set.
        using var m = Protected();
        SetGdt(m, SmallStack, Segment(0, 0xFFF, DataReadWrite, granular: false));
        SetIdt(m, Vector.DF, TaskGate(TssB, dpl: 0));
        m.Load(
            a =>
            {
                a.pop(eax);
                a.mov(ebx, __dword_ptr[TssBAddress + TaskState.Link]);
                a.pushfd();
                a.pop(ecx);
                a.mov(edx, esp);
                a.hlt();
            },
            TaskB);
        m.Load(a =>
        {
            a.mov(ax, SmallStack);
            a.mov(ss, eax); // 8E D0, 2 bytes
            a.mov(esp, 4);
            a.push(eax);
            a.push(eax);
        });
        m.RunToHlt(engine);

        Assert.Equal(TssB, m.S.Tr.Selector);
        Assert.Equal(0UL, m.Reg(CpuState.RAX));
        Assert.Equal((ulong)Tss, m.Reg(CpuState.RBX) & 0xFFFF);
        Assert.NotEqual(0UL, m.Reg(CpuState.RCX) & Flags.NT);
        Assert.Equal(TaskBStack, m.Reg(CpuState.RDX));
        Assert.Equal(0UL, TaskState.Get(m, TssAddress, TaskState.Esp));
        Assert.Equal((ulong)SmallStack, TaskState.Get(m, TssAddress, TaskState.Ss) & 0xFFFF);
        Assert.Equal(TestMachine.CodeAddress + 4 + 2 + 5 + 1, TaskState.Get(m, TssAddress, TaskState.Eip));
        Assert.Equal(0x8BUL, m.Memory.Read(TestMachine.GdtAddress + Tss + 5, 1)); // nested: the old task stays busy
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void GeneralProtectionThroughATaskGatePushesTheErrorCodeAndIretReturns(Engine engine)
    {
        // SDM 6.12.2: the error code goes on the new task's stack. The handler task fixes the
        // cause (the selector in the old task's saved DS... here: EAX in its TSS) and returns with
        // IRET (NT = 1), and the faulting MOV runs again in the old task.
        using var m = Protected();
        SetIdt(m, Vector.GP, TaskGate(TssB, dpl: 0));
        m.Load(
            a =>
            {
                a.pop(esi);
                a.mov(__dword_ptr[TssAddress + TaskState.Eax], TestMachine.Data);
                a.iretd();
            },
            TaskB);
        m.Load(a =>
        {
            a.mov(eax, 0xF8);
            a.mov(ds, ax);
            a.mov(ebx, ds);
            a.hlt();
        });
        m.RunToHlt(engine);

        Assert.Equal(Tss, m.S.Tr.Selector);
        Assert.Equal((ulong)TestMachine.Data, m.Reg(CpuState.RBX));
        Assert.Equal(0xF8UL, TaskState.Get(m, TssBAddress, TaskState.Esi)); // #GP(selector) as B saw it
        Assert.Equal(0x89UL, m.Memory.Read(TestMachine.GdtAddress + TssB + 5, 1));
    }

    [Fact]
    public void SoftwareInterruptRespectsTheTaskGateDpl()
    {
        // SDM 6.12.1.1 / Vol. 2A INT n: a gate DPL below CPL is #GP(vector * 8 + 2) for INT n.
        using var m = Protected();
        m.S.Idtr.Limit = (0x41 * 8) - 1;
        SetIdt(m, 0x40, TaskGate(TssB, dpl: 0));
        m.Load(a => a.@int(0x40));
        EnterRing3(m);
        m.RunToHlt();

        Assert.Equal((uint)Vector.GP, ProtectedModeIdt.RecordedVector(m));
        Assert.Equal((0x40u * 8) + 2, ProtectedModeIdt.ErrorCode(m));
    }
}
