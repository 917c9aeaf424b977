using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.TestKit;
using Xunit;
using static Emulator.TestKit.SystemTables;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.SystemArchitecture;

/// <summary>
/// Far CALL and JMP through call gates (SDM Vol. 3A 5.8.3-5.8.6, figures 5-8, 5-9 and 5-13) and
/// far RET to an outer privilege level with the data-segment nulling of 5.8.6.
/// </summary>
public class CallGateTests
{
    private const ushort Gate = FirstFree;
    private const ushort Other = FirstFree + 16; // after the two slots a 64-bit gate takes
    private const ulong Kernel = TestMachine.CodeAddress + 0x100;
    private const ulong Record = TestMachine.DataAddress;

    private static TestMachine Protected()
    {
        var m = new TestMachine().ProtectedMode32();
        ProtectedModeIdt.Install(m);
        InstallRing3(m);
        return m;
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void RingThreeCallsRingZeroThroughA32BitGateAndReturns(Engine engine)
    {
        // SDM 5.8.5: CALL to a more privileged nonconforming segment switches to SS0:ESP0 from the
        // TSS, pushes the caller's SS and ESP, copies the gate's parameter count of doublewords,
        // then CS and EIP. RETF 8 (5.8.6) pops EIP and CS, releases 8 bytes, pops ESP and SS, and
        // nulls DS because it holds a DPL-0 data segment the ring-3 code may not use.
        using var m = Protected();
        SetGdt(m, Gate, CallGate(TestMachine.Code32, (uint)Kernel, dpl: 3, parameters: 2));
        m.Load(
            a =>
            {
                a.mov(eax, cs);
                a.mov(__dword_ptr[Record], eax);
                a.mov(eax, ss);
                a.mov(__dword_ptr[Record + 4], eax);
                a.mov(__dword_ptr[Record + 8], esp);
                for (int k = 0; k < 6; k++)
                {
                    a.mov(eax, __dword_ptr[esp + (4 * k)]);
                    a.mov(__dword_ptr[Record + 0x10 + (ulong)(4 * k)], eax);
                }

                a.mov(eax, TestMachine.Data);
                a.mov(ds, ax);
                a.retf(8);
            },
            Kernel);
        m.Load(a =>
        {
            a.push(0x1111);
            a.push(0x2222);
            a.call(Gate | 3, 0x1234_5678); // the offset is ignored for a gate
            a.mov(ebx, ds);
            a.mov(ecx, ss);
            a.mov(edx, esp);
            a.hlt(); // privileged at CPL 3: #GP(0) records where we are
        });
        EnterRing3(m);
        m.RunToHlt(engine);

        ulong Read(ulong offset) => m.Memory.Read(Record + offset, 4);
        Assert.Equal((ulong)TestMachine.Code32, Read(0)); // CPL 0, RPL 0
        Assert.Equal((ulong)TestMachine.Data, Read(4)); // SS0
        Assert.Equal(Ring0Stack - 24, Read(8));
        Assert.Equal(TestMachine.CodeAddress + 5 + 5 + 7, Read(0x10)); // return EIP: after two PUSH imm32 and the 7-byte CALL
        Assert.Equal((ulong)UserCode32 | 3, Read(0x14));
        Assert.Equal(0x2222UL, Read(0x18)); // parameters keep their order
        Assert.Equal(0x1111UL, Read(0x1C));
        Assert.Equal(Ring3Stack - 8, Read(0x20)); // caller's ESP
        Assert.Equal((ulong)UserData | 3, Read(0x24)); // caller's SS

        Assert.Equal((uint)Vector.GP, ProtectedModeIdt.RecordedVector(m));
        Assert.Equal((uint)UserCode32 | 3, ProtectedModeIdt.FaultCs(m));
        Assert.Equal(0UL, m.Reg(CpuState.RBX) & 0xFFFF); // DS nulled
        Assert.Equal((ulong)UserData | 3, m.Reg(CpuState.RCX) & 0xFFFF);
        Assert.Equal(Ring3Stack, m.Reg(CpuState.RDX)); // the 8 parameter bytes released
        Assert.NotEqual(0UL, m.Memory.Read(TestMachine.GdtAddress + Gate + 5, 1) & 0x80); // the gate is left as it was
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void RingThreeCallsRingZeroThroughA64BitGateAndReturns(Engine engine)
    {
        // SDM 5.8.3.1 and 5.8.5.1 (IA-32e mode): a 16-byte call gate; the new SS is a null
        // selector with RPL = new CPL; SS, RSP, CS and RIP are pushed as quadwords, no parameters.
        using var m = new TestMachine().LongMode();
        Exceptions.LongModeIdt.Install(m);
        InstallRing3(m);
        var (low, high) = CallGate64(TestMachine.Code64, Kernel, dpl: 3);
        SetGdt(m, Gate, low);
        SetGdt(m, Gate + 8, high);
        m.Memory.Write(Record + 0x100, 4, 0);
        m.Memory.Write(Record + 0x104, 2, (ulong)(Gate | 3));
        m.Load(
            a =>
            {
                a.mov(eax, cs);
                a.mov(__qword_ptr[Record], rax);
                a.mov(eax, ss);
                a.mov(__qword_ptr[Record + 8], rax);
                a.mov(__qword_ptr[Record + 0x10], rsp);
                for (int k = 0; k < 4; k++)
                {
                    a.mov(rax, __qword_ptr[rsp + (8 * k)]);
                    a.mov(__qword_ptr[Record + 0x20 + (ulong)(8 * k)], rax);
                }

                a.db(0x48, 0xCB); // RETFQ (REX.W CB)
            },
            Kernel);
        m.Load(a =>
        {
            a.mov(ebx, (uint)Record + 0x100);
            a.call(__fword_ptr[rbx]);
            a.mov(ecx, ss);
            a.mov(rdx, rsp);
            a.mov(esi, cs);
            a.hlt();
        });
        EnterRing3(m);
        m.RunToHlt(engine);

        ulong Read(ulong offset) => m.Memory.Read(Record + offset, 8);
        Assert.Equal((ulong)TestMachine.Code64, Read(0));
        Assert.Equal(0UL, Read(8)); // null SS, RPL 0
        Assert.Equal(Ring0Stack - 32, Read(0x10));
        Assert.Equal(TestMachine.CodeAddress + 5 + 2, Read(0x20)); // after mov ebx (5) and call [rbx] (2)
        Assert.Equal((ulong)UserCode64 | 3, Read(0x28));
        Assert.Equal(Ring3Stack, Read(0x30));
        Assert.Equal((ulong)UserData | 3, Read(0x38));

        Assert.Equal((ulong)Vector.GP, m.Reg(8));
        Assert.Equal((ulong)UserData | 3, m.Reg(CpuState.RCX));
        Assert.Equal(Ring3Stack, m.Reg(CpuState.RDX));
        Assert.Equal((ulong)UserCode64 | 3, m.Reg(CpuState.RSI));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void SixteenBitGateAtTheSameLevelPushesAWordReturnAddress(Engine engine)
    {
        // SDM 5.8.3 and figure 5-13: a 16-bit call gate pushes CS and IP as words, its offset is 16 bits.
        using var m = Protected();
        SetGdt(m, Gate, CallGate(TestMachine.Code32, 0x5000, dpl: 0, is32: false));
        m.Load(
            a =>
            {
                a.mov(ecx, esp);
                a.movzx(edx, __word_ptr[esp]);
                a.movzx(ebx, __word_ptr[esp + 2]);
                a.hlt();
            },
            0x5000);
        m.Load(a =>
        {
            a.call(Gate, 0);
            a.hlt();
        }).RunToHlt(engine);
        Assert.Equal(TestMachine.StackTop - 4, m.Reg(CpuState.RCX));
        Assert.Equal((TestMachine.CodeAddress + 7) & 0xFFFF, m.Reg(CpuState.RDX));
        Assert.Equal((ulong)TestMachine.Code32, m.Reg(CpuState.RBX));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void JumpThroughAGatePushesNothing(Engine engine)
    {
        // SDM 5.8.4: JMP through a call gate transfers to the gate's target without a stack frame.
        using var m = Protected();
        SetGdt(m, Gate, CallGate(TestMachine.Code32, (uint)Kernel, dpl: 0));
        m.Load(
            a =>
            {
                a.mov(ecx, esp);
                a.mov(edx, cs);
                a.hlt();
            },
            Kernel);
        m.Load(a =>
        {
            a.jmp(Gate, 0);
            a.hlt();
        }).RunToHlt(engine);
        Assert.Equal(TestMachine.StackTop, m.Reg(CpuState.RCX));
        Assert.Equal((ulong)TestMachine.Code32, m.Reg(CpuState.RDX));
        Assert.Equal(Kernel + 5, m.S.Rip); // the handler's HLT (mov ecx, esp = 2; mov edx, cs = 2) is done
    }

    public static TheoryData<Engine, string> GateFaults
    {
        get
        {
            var data = new TheoryData<Engine, string>();
            foreach (var engine in Enum.GetValues<Engine>())
            {
                foreach (string name in s_gateFaults.Keys)
                {
                    data.Add(engine, name);
                }
            }

            return data;
        }
    }

    /// <summary>Ring-3 far CALL or JMP through a gate at <see cref="Gate"/> (SDM Vol. 2A, CALL, "Protected Mode Exceptions").</summary>
    private static readonly Dictionary<string, (ulong GateDescriptor, ulong OtherDescriptor, bool Jump, int Vector, uint Error)> s_gateFaults = new()
    {
        ["gate DPL below CPL"] = (CallGate(TestMachine.Code32, (uint)Kernel, dpl: 0), 0, false, Vector.GP, Gate),
        ["gate not present"] = (CallGate(TestMachine.Code32, (uint)Kernel, dpl: 3, present: false), 0, false, Vector.NP, Gate),
        ["gate to a data segment"] = (CallGate(TestMachine.Data, (uint)Kernel, dpl: 3), 0, false, Vector.GP, TestMachine.Data),
        ["gate to a null selector"] = (CallGate(0, (uint)Kernel, dpl: 3), 0, false, Vector.GP, 0),
        ["gate to code not present"] = (CallGate(Other, (uint)Kernel, dpl: 3), Segment(0, 0xFFFFF, CodeExecuteRead, present: false), false, Vector.NP, Other),
        ["JMP through a gate to more privileged code"] = (CallGate(TestMachine.Code32, (uint)Kernel, dpl: 3), 0, true, Vector.GP, TestMachine.Code32),
        ["ring-1 stack in the TSS is a code segment"] = (CallGate(Other, (uint)Kernel, dpl: 3), Segment(0, 0xFFFFF, CodeExecuteRead, dpl: 1), false, Vector.TS, TestMachine.Code32),
    };

    [Theory]
    [MemberData(nameof(GateFaults))]
    public void GateChecksRaiseTheRightFault(Engine engine, string name)
    {
        var (gate, other, jump, vector, error) = s_gateFaults[name];
        using var m = Protected();
        SetGdt(m, Gate, gate);
        SetGdt(m, Other, other);
        SetRing1Stack(m, TestMachine.Code32 | 1, (uint)Ring1Stack); // SS1 is not a writable data segment: #TS (SDM 5.8.5)
        m.Load(a =>
        {
            if (jump)
            {
                a.jmp(Gate | 3, 0);
            }
            else
            {
                a.call(Gate | 3, 0);
            }

            a.hlt();
        });
        EnterRing3(m);
        m.RunToHlt(engine);
        Assert.Equal((uint)vector, ProtectedModeIdt.RecordedVector(m));
        Assert.Equal(error, ProtectedModeIdt.ErrorCode(m));
        Assert.Equal((uint)TestMachine.CodeAddress, ProtectedModeIdt.FaultEip(m));
        Assert.Equal((uint)UserCode32 | 3, ProtectedModeIdt.FaultCs(m));
        Assert.Equal(Ring0Stack - 24, m.Reg(CpuState.RSP)); // the fault frame: nothing of the call was left on the ring-0 stack
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void FarReturnToAnOuterLevelChecksTheStackSegment(Engine engine)
    {
        // SDM Vol. 2B, RET: returning to CPL 3 with an SS whose RPL is not 3 is #GP(SS selector).
        using var m = Protected();
        m.Load(a =>
        {
            a.push(UserData); // RPL 0: wrong for a return to ring 3
            a.push((int)Ring3Stack);
            a.push(UserCode32 | 3);
            a.push((int)TestMachine.CodeAddress);
            a.retf();
        }).RunToHlt(engine);
        Assert.Equal((uint)Vector.GP, ProtectedModeIdt.RecordedVector(m));
        Assert.Equal((uint)UserData, ProtectedModeIdt.ErrorCode(m));
        Assert.Equal((uint)TestMachine.Code32, ProtectedModeIdt.FaultCs(m));
    }
}
