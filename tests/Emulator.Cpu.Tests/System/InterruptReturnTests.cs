using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.TestKit;
using Xunit;
using static Emulator.TestKit.SystemTables;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.SystemArchitecture;

/// <summary>IRET to an outer privilege level (SDM Vol. 2A, IRET, "RETURN-TO-OUTER-PRIVILEGE-LEVEL"; Vol. 3A 5.8.6).</summary>
public class InterruptReturnTests
{
    private const ushort Conforming = FirstFree;

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void IretToRingThreeNullsDataSegmentsItMayNotUse(Engine engine)
    {
        // ES = DPL-3 data stays; DS = DPL-0 data and GS = nonconforming DPL-0 code become null;
        // FS = conforming code stays (SDM: only data and nonconforming code with DPL < CPL are nulled).
        using var m = new TestMachine().ProtectedMode32();
        ProtectedModeIdt.Install(m);
        InstallRing3(m);
        SetGdt(m, Conforming, Segment(0, 0xFFFFF, CodeConformingExecuteRead));
        const ulong user = TestMachine.CodeAddress + 0x100;
        m.Load(
            a =>
            {
                a.mov(ebx, ds);
                a.mov(ecx, es);
                a.mov(edx, fs);
                a.mov(__word_ptr.es[TestMachine.DataAddress], gs);
                a.pushfd();
                a.pop(__dword_ptr.es[TestMachine.DataAddress + 4]);
                a.hlt();
            },
            user);
        m.Load(a =>
        {
            a.mov(eax, UserData | 3);
            a.mov(es, ax);
            a.mov(eax, Conforming);
            a.mov(fs, ax);
            a.mov(eax, TestMachine.Code32);
            a.mov(gs, ax);
            a.push(UserData | 3);
            a.push((int)Ring3Stack);
            a.push((int)(Flags.Reserved1 | Flags.IOPL | Flags.CF));
            a.push(UserCode32 | 3);
            a.push((int)user);
            a.iretd();
        }).RunToHlt(engine);

        Assert.Equal((uint)Vector.GP, ProtectedModeIdt.RecordedVector(m)); // the ring-3 HLT
        Assert.Equal((uint)UserCode32 | 3, ProtectedModeIdt.FaultCs(m));
        Assert.Equal(0UL, m.Reg(CpuState.RBX) & 0xFFFF);
        Assert.Equal((ulong)UserData | 3, m.Reg(CpuState.RCX) & 0xFFFF);
        Assert.Equal((ulong)Conforming, m.Reg(CpuState.RDX) & 0xFFFF);
        Assert.Equal(0UL, m.Memory.Read(TestMachine.DataAddress, 2));
        Assert.Equal(Flags.Reserved1 | Flags.IOPL | Flags.CF, m.Memory.Read(TestMachine.DataAddress + 4, 4)); // IOPL set: the IRET ran at CPL 0
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void IretToAnInnerLevelIsGeneralProtection(Engine engine)
    {
        // SDM Vol. 2A IRET: a return CS with RPL < CPL is #GP(selector).
        using var m = new TestMachine().ProtectedMode32();
        ProtectedModeIdt.Install(m);
        InstallRing3(m);
        m.Load(a =>
        {
            a.push((int)Flags.Reserved1);
            a.push(TestMachine.Code32);
            a.push((int)TestMachine.CodeAddress);
            a.iretd();
        });
        EnterRing3(m);
        m.RunToHlt(engine);
        Assert.Equal((uint)Vector.GP, ProtectedModeIdt.RecordedVector(m));
        Assert.Equal((uint)TestMachine.Code32, ProtectedModeIdt.ErrorCode(m));
    }
}
