using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.Cpu.Tests.SystemArchitecture;
using Emulator.TestKit;
using Xunit;
using static Emulator.TestKit.SystemTables;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Tasks;

/// <summary>
/// Hardware task switching with 32-bit TSSs (SDM Vol. 3A chapter 8): CALL/IRET and JMP between
/// two tasks (8.3; the busy, NT, link and TS effects of 8.4, table 8-2), task gates (8.2.4), the
/// checks of 8.3 with their error codes (table 8-1), and faults raised in the new task's context.
/// Task A is the one TR holds at the start (<see cref="SystemTables.Tss"/>); task B is a second TSS.
/// </summary>
public class TaskSwitchTests
{
    private const ushort TssA = Tss;
    private const ushort TssB = FirstFree;           // 58h
    private const ushort GateB = FirstFree + 8;      // 60h, a task gate to B
    private const ushort Spare = FirstFree + 16;     // 68h, for a bad descriptor
    private const ulong TssBAddress = 0x3800;
    private const ulong TaskB = TestMachine.CodeAddress + 0x400;
    private const ulong TaskBStack = 0x7800;
    private const ulong Record = TestMachine.DataAddress;

    private static TestMachine Protected()
    {
        var m = new TestMachine().ProtectedMode32();
        ProtectedModeIdt.Install(m);
        InstallRing3(m);
        TaskState.WriteKernelTask(m, TssBAddress, TaskB, TaskBStack);
        SetGdt(m, TssB, SystemTables.System((uint)TssBAddress, 0x67, Tss32Available));
        return m;
    }

    private static ulong AccessByte(TestMachine m, ushort selector) => m.Memory.Read(TestMachine.GdtAddress + selector + 5, 1);

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void CallAndIretSwitchBetweenTwoTasks(Engine engine)
    {
        // SDM 8.3 and 8.4 (table 8-2): CALL to an available TSS saves the caller's state in its TSS,
        // loads B's, sets B busy, writes A's selector into B's link and sets NT and CR0.TS; A stays
        // busy. IRET with NT = 1 returns through the link, clears B's busy bit and saves B with
        // NT = 0, so a second CALL resumes B after its IRET with B's registers.
        using var m = Protected();
        TaskState.Set(m, TssBAddress, TaskState.Ebx, 0xB0B0_B0B0);
        TaskState.Set(m, TssBAddress, TaskState.Esi, 0x5151_5151);
        m.Load(
            a =>
            {
                a.pushfd();
                a.pop(eax);
                a.mov(__dword_ptr[Record], eax);
                a.str(ax);
                a.mov(__dword_ptr[Record + 4], eax);
                a.mov(eax, __dword_ptr[TssBAddress + TaskState.Link]);
                a.mov(__dword_ptr[Record + 8], eax);
                a.mov(eax, cr0);
                a.mov(__dword_ptr[Record + 0xC], eax);
                a.mov(__dword_ptr[Record + 0x10], ebx);
                a.mov(__dword_ptr[Record + 0x14], esp);
                a.mov(al, __byte_ptr[TestMachine.GdtAddress + TssA + 5]);
                a.mov(__byte_ptr[Record + 0x18], al);
                a.mov(al, __byte_ptr[TestMachine.GdtAddress + TssB + 5]);
                a.mov(__byte_ptr[Record + 0x19], al);
                a.mov(ebx, 0x2222_2222);
                a.iretd();
                a.mov(__dword_ptr[Record + 0x20], ebx);
                a.mov(__dword_ptr[Record + 0x24], esi);
                a.iretd();
            },
            TaskB);
        m.Load(a =>
        {
            a.mov(eax, 0x1111_1111);
            a.mov(ebx, 0x3333_3333);
            a.mov(ebp, 0x4444_4444);
            a.mov(edi, 0x5555_5555);
            a.call(TssB, 0);
            a.mov(__dword_ptr[Record + 0x30], eax);
            a.mov(__dword_ptr[Record + 0x34], ebx);
            a.mov(__dword_ptr[Record + 0x38], ebp);
            a.mov(__dword_ptr[Record + 0x3C], edi);
            a.mov(__dword_ptr[Record + 0x40], esp);
            a.pushfd();
            a.pop(eax);
            a.mov(__dword_ptr[Record + 0x44], eax);
            a.clts();
            a.call(TssB, 0);
            a.mov(eax, cr0);
            a.hlt();
        });
        m.RunToHlt(engine);

        ulong Read(ulong offset) => m.Memory.Read(Record + offset, 4);

        // In B after the first CALL.
        Assert.NotEqual(0UL, Read(0) & Flags.NT);
        Assert.Equal((ulong)TssB, Read(4) & 0xFFFF);
        Assert.Equal((ulong)TssA, Read(8) & 0xFFFF);
        Assert.NotEqual(0UL, Read(0xC) & ControlBits.Cr0TS);
        Assert.Equal(0xB0B0_B0B0UL, Read(0x10));
        Assert.Equal(TaskBStack, Read(0x14));
        Assert.Equal(0x8BUL, m.Memory.Read(Record + 0x18, 1)); // A still busy (nested)
        Assert.Equal(0x8BUL, m.Memory.Read(Record + 0x19, 1)); // B busy

        // Back in A: its registers came back from its TSS, NT as it was (0).
        Assert.Equal(0x1111_1111UL, Read(0x30));
        Assert.Equal(0x3333_3333UL, Read(0x34));
        Assert.Equal(0x4444_4444UL, Read(0x38));
        Assert.Equal(0x5555_5555UL, Read(0x3C));
        Assert.Equal(TestMachine.StackTop, Read(0x40));
        Assert.Equal(0UL, Read(0x44) & Flags.NT);

        // B resumed after its first IRET with the registers it had there.
        Assert.Equal(0x2222_2222UL, Read(0x20));
        Assert.Equal(0x5151_5151UL, Read(0x24));

        // The final state: TR = A, B available, B's image saved by IRET with NT = 0, CR0.TS set again.
        Assert.Equal(TssA, m.S.Tr.Selector);
        Assert.Equal(0x89UL, AccessByte(m, TssB));
        Assert.Equal(0x8BUL, AccessByte(m, TssA));
        Assert.Equal(0UL, TaskState.Get(m, TssBAddress, TaskState.Eflags) & Flags.NT);
        Assert.NotEqual(0UL, m.Reg(CpuState.RAX) & ControlBits.Cr0TS);
        // A's saved EIP: after the second CALL, at MOV EAX, CR0 (3 bytes) before the HLT.
        Assert.Equal(m.S.Rip - 1 - 3, TaskState.Get(m, SystemTables.TssAddress, TaskState.Eip));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void JmpSwitchesWithoutNesting(Engine engine)
    {
        // SDM 8.4, table 8-2: JMP clears the old task's busy bit, sets the new one's, leaves NT as
        // the new image has it and does not write the link.
        using var m = Protected();
        TaskState.Set(m, TssBAddress, TaskState.Link, 0x1234);
        m.Load(
            a =>
            {
                a.pushfd();
                a.pop(eax);
                a.mov(__dword_ptr[Record], eax);
                a.mov(al, __byte_ptr[TestMachine.GdtAddress + TssA + 5]);
                a.mov(__byte_ptr[Record + 4], al);
                a.mov(al, __byte_ptr[TestMachine.GdtAddress + TssB + 5]);
                a.mov(__byte_ptr[Record + 5], al);
                a.jmp(TssA, 0);
            },
            TaskB);
        m.Load(a =>
        {
            a.mov(ecx, 0x7777);
            a.jmp(TssB, 0);
            a.hlt();
        });
        m.RunToHlt(engine);

        Assert.Equal(0UL, m.Memory.Read(Record, 4) & Flags.NT);
        Assert.Equal(0x89UL, m.Memory.Read(Record + 4, 1));
        Assert.Equal(0x8BUL, m.Memory.Read(Record + 5, 1));
        Assert.Equal(0x1234UL, TaskState.Get(m, TssBAddress, TaskState.Link) & 0xFFFF);
        Assert.Equal(0x7777UL, m.Reg(CpuState.RCX));
        Assert.Equal(TssA, m.S.Tr.Selector);
        Assert.Equal(0x8BUL, AccessByte(m, TssA));
        Assert.Equal(0x89UL, AccessByte(m, TssB));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void RingThreeReachesAPrivilegedTaskThroughATaskGate(Engine engine)
    {
        // SDM 8.2.4 and Vol. 2A CALL "TASK-GATE": only the gate's DPL is checked against CPL and
        // RPL; the TSS's DPL 0 does not matter. The new task runs at the CPL its CS gives (0).
        using var m = Protected();
        SetGdt(m, GateB, TaskGate(TssB, dpl: 3));
        m.Load(
            a =>
            {
                a.mov(eax, cs);
                a.mov(ebx, __dword_ptr[TssBAddress + TaskState.Link]);
                a.hlt();
            },
            TaskB);
        m.Load(a => a.call(GateB | 3, 0));
        EnterRing3(m);
        m.RunToHlt(engine);

        Assert.Equal((ulong)TestMachine.Code32, m.Reg(CpuState.RAX) & 0xFFFF);
        Assert.Equal((ulong)TssA, m.Reg(CpuState.RBX) & 0xFFFF);
        Assert.Equal((ulong)(UserCode32 | 3), TaskState.Get(m, SystemTables.TssAddress, TaskState.Cs) & 0xFFFF);
    }

    public static TheoryData<string, int, uint> Faults => new()
    {
        // Vol. 2A CALL "TASK-STATE-SEGMENT": a busy TSS is #GP(TSS selector).
        { "busy", Vector.GP, TssA },
        // SDM 8.2.2 and table 8-1: a limit below 67h is #TS(TSS selector).
        { "short", Vector.TS, Spare },
        // Vol. 2A CALL: a TSS not present is #NP(TSS selector).
        { "absent", Vector.NP, Spare },
        // Vol. 2A CALL: a task gate not present is #NP(gate selector).
        { "gate absent", Vector.NP, GateB },
        // Vol. 2A CALL "TASK-GATE": the gate must name an available TSS in the GDT, else #GP(TSS selector).
        { "gate to busy", Vector.GP, TssA },
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public void TaskSwitchChecksRaiseTheirFaultsInTheOldTask(string variant, int vector, uint error)
    {
        using var m = Protected();
        ushort target = variant switch
        {
            "busy" => TssA,
            "gate absent" or "gate to busy" => GateB,
            _ => Spare,
        };
        SetGdt(m, Spare, SystemTables.System((uint)TssBAddress, variant == "short" ? 0x66u : 0x67u, Tss32Available, present: variant != "absent"));
        SetGdt(m, GateB, TaskGate(variant == "gate to busy" ? TssA : TssB, dpl: 0, present: variant != "gate absent"));
        m.Load(a =>
        {
            a.mov(ecx, 0x1234);
            a.call(target, 0);
        });
        m.RunToHlt();

        Assert.Equal((uint)vector, ProtectedModeIdt.RecordedVector(m));
        Assert.Equal(error, ProtectedModeIdt.ErrorCode(m));
        Assert.Equal((uint)TestMachine.CodeAddress + 5, ProtectedModeIdt.FaultEip(m)); // the CALL, in task A
        Assert.Equal(TssA, m.S.Tr.Selector);
        Assert.Equal(0x89UL, AccessByte(m, TssB));
        Assert.Equal(0UL, m.S.Cr0 & ControlBits.Cr0TS);
    }

    [Fact]
    public void RingThreeMayNotCallAPrivilegedTssDirectly()
    {
        // Vol. 2A CALL "TASK-STATE-SEGMENT": TSS DPL < CPL is #GP(TSS selector).
        using var m = Protected();
        m.Load(a => a.call(TssB | 3, 0));
        EnterRing3(m);
        m.RunToHlt();

        Assert.Equal((uint)Vector.GP, ProtectedModeIdt.RecordedVector(m));
        Assert.Equal((uint)TssB, ProtectedModeIdt.ErrorCode(m));
    }

    [Fact]
    public void IretWithNtToAnAvailableTssIsInvalidTss()
    {
        // Vol. 2A IRET "TASK-RETURN": the link must name a busy TSS, else #TS(link selector).
        using var m = Protected();
        TaskState.Set(m, SystemTables.TssAddress, TaskState.Link, TssB);
        m.Load(a =>
        {
            a.pushfd();
            a.or(__dword_ptr[esp], (int)Flags.NT);
            a.popfd();
            a.iretd();
        });
        m.RunToHlt();

        Assert.Equal((uint)Vector.TS, ProtectedModeIdt.RecordedVector(m));
        Assert.Equal((uint)TssB, ProtectedModeIdt.ErrorCode(m));
    }

    [Fact]
    public void ABadDataSegmentFaultsInTheNewTask()
    {
        // SDM 8.3 and table 8-1: after the commit point a data segment that is not readable is
        // #TS(selector) raised in the new task: TR and the registers are B's, the old state is saved,
        // and the handler sees B's first instruction as the faulting EIP.
        using var m = Protected();
        SetGdt(m, Spare, Segment(0, 0xFFFFF, CodeExecuteOnly));
        TaskState.Set(m, TssBAddress, TaskState.Ds, Spare);
        TaskState.Set(m, TssBAddress, TaskState.Ecx, 0xC0C0);
        m.Load(a => a.nop(), TaskB);
        m.Load(a =>
        {
            a.mov(ecx, 0x1234);
            a.jmp(TssB, 0);
        });
        m.RunToHlt();

        Assert.Equal((uint)Vector.TS, ProtectedModeIdt.RecordedVector(m));
        Assert.Equal((uint)Spare, ProtectedModeIdt.ErrorCode(m));
        Assert.Equal((uint)TaskB, ProtectedModeIdt.FaultEip(m));
        Assert.Equal(TssB, m.S.Tr.Selector);
        Assert.Equal(0xC0C0UL, m.Reg(CpuState.RCX));
        Assert.Equal(Spare, m.S.Ds.Selector);
        Assert.Equal(0x1234UL, TaskState.Get(m, SystemTables.TssAddress, TaskState.Ecx));
        Assert.Equal(TestMachine.CodeAddress + 5 + 7, TaskState.Get(m, SystemTables.TssAddress, TaskState.Eip));
    }

    [Fact]
    public void TaskSwitchesInIa32eModeAreGeneralProtection()
    {
        // SDM 8.7: IA-32e mode has no task switching; a far CALL to a TSS descriptor is #GP(selector).
        using var m = new TestMachine().LongMode();
        Exceptions.LongModeIdt.Install(m);
        InstallRing3(m);
        SetGdt(m, Spare, SystemTables.System((uint)TssBAddress, 0x67, Tss32Available));
        SetGdt(m, Spare + 8, 0);
        m.Memory.Write(Record, 4, 0);
        m.Memory.Write(Record + 4, 2, Spare);
        m.Load(a =>
        {
            a.mov(ebx, (uint)Record);
            a.call(__fword_ptr[rbx]);
        });
        m.RunToHlt();

        Assert.Equal((ulong)Vector.GP, m.Reg(8));
        Assert.Equal((ulong)Spare, m.Reg(10));
    }
}
