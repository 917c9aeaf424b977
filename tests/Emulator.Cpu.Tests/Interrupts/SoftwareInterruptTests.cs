using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.Cpu.Tests.Exceptions;
using Emulator.Cpu.Tests.SystemArchitecture;
using Emulator.TestKit;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Interrupts;

/// <summary>
/// INT3, INTO, INT1 and BOUND (SDM Vol. 2A, INT n/INTO/INT3/INT1 and BOUND), the gate-DPL check
/// and the EXT bit of error codes (SDM Vol. 3A 6.12.1.1, 6.13), and IST stacks (6.14.5).
/// </summary>
public class SoftwareInterruptTests
{
    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void Int3IsATrapReportingTheNextRip(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        var at = EventLog.LoadParts(m, a => a.nop(), a => a.int3(), a => a.hlt());
        m.RunToHlt(engine);

        Assert.Equal((ulong)Vector.BP, m.Reg(8));
        Assert.Equal(at[2], m.Reg(9));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void IntoTrapsOnlyWithOverflowAndBoundFaults(Engine engine)
    {
        using var m = new TestMachine().ProtectedMode32();
        ProtectedModeIdt.Install(m);
        m.S.Gpr[CpuState.RDI] = 0x99;
        var at = EventLog.LoadParts(
            m,
            a => a.into(), // OF = 0: nothing
            a =>
            {
                a.mov(eax, 0x7FFF_FFFF);
                a.add(eax, 1); // OF = 1
            },
            a => a.into(),
            a => a.hlt());
        m.RunToHlt(engine);

        Assert.Equal((uint)Vector.OF, ProtectedModeIdt.RecordedVector(m));
        Assert.Equal((uint)at[3], ProtectedModeIdt.FaultEip(m)); // a trap: the next instruction

        using var b = new TestMachine().ProtectedMode32();
        ProtectedModeIdt.Install(b);
        b.Memory.Write(TestMachine.DataAddress, 4, 10);
        b.Memory.Write(TestMachine.DataAddress + 4, 4, 20);
        b.S.Gpr[CpuState.RBX] = TestMachine.DataAddress;
        b.S.Gpr[CpuState.RCX] = 21;
        var bt = EventLog.LoadParts(b, a => a.nop(), a => a.bound(ecx, __qword_ptr[ebx]), a => a.hlt());
        b.RunToHlt(engine);

        Assert.Equal((uint)Vector.BR, ProtectedModeIdt.RecordedVector(b));
        Assert.Equal((uint)bt[1], ProtectedModeIdt.FaultEip(b)); // a fault: BOUND itself
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void Int1SkipsTheGateDplCheckThatInt3Gets(Engine engine)
    {
        foreach (bool int1 in new[] { true, false })
        {
            using var m = new TestMachine().LongMode();
            LongModeIdt.Install(m);
            SystemTables.InstallRing3(m);
            SystemTables.EnterRing3(m);
            m.Load(a =>
            {
                if (int1)
                {
                    a.int1();
                }
                else
                {
                    a.int3();
                }

                a.hlt();
            }).RunToHlt(engine);

            if (int1)
            {
                // SDM Vol. 2A INT1: delivered as #DB without the DPL check (the gate has DPL 0).
                Assert.Equal((ulong)Vector.DB, m.Reg(8));
                Assert.Equal(TestMachine.CodeAddress + 1, m.Reg(9));
            }
            else
            {
                // SDM 6.12.1.1: INT3 through a DPL-0 gate at CPL 3 is #GP(vector << 3 | IDT), EXT = 0.
                Assert.Equal((ulong)Vector.GP, m.Reg(8));
                Assert.Equal((ulong)((Vector.BP << 3) | 2), m.Reg(10));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void ErrorCodeExtBitByEventSource(Engine engine)
    {
        foreach (bool software in new[] { true, false })
        {
            using var m = new TestMachine().LongMode();
            LongModeIdt.Install(m);
            LongModeIdt.SetGate(m, Vector.UD, LongModeIdt.Handler(Vector.UD), present: false);
            m.S.Idtr.Limit = (256 * 16) - 1;
            m.Load(a =>
            {
                if (software)
                {
                    a.@int(Vector.UD);
                }
                else
                {
                    a.ud2();
                }

                a.hlt();
            }).RunToHlt(engine);

            // SDM 6.13: EXT is 0 for INT n and 1 when the fault interrupted the delivery of an exception.
            Assert.Equal((ulong)Vector.NP, m.Reg(8));
            Assert.Equal((ulong)((Vector.UD << 3) | 2 | (software ? 0 : 1)), m.Reg(10));
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void IstGateSwitchesStacksAtTheSamePrivilege(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        SystemTables.InstallRing3(m);
        const ulong ist2 = 0x5008; // not 16-byte aligned: the frame is aligned down (SDM 6.14.2)
        m.Memory.Write(SystemTables.TssAddress + 0x24 + 8, 8, ist2); // IST2 (SDM figure 8-11)
        ulong entry = TestMachine.IdtAddress + (Vector.BP * 16);
        m.Memory.Write(entry + 4, 1, 2); // gate IST field = 2
        m.Load(
            a =>
            {
                a.mov(r13, rsp);
                a.mov(r14, __qword_ptr[rsp + 24]); // the old RSP
                a.hlt();
            },
            LongModeIdt.Handler(Vector.BP));
        m.Load(a =>
        {
            a.int3();
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(0x5000UL - 40, m.Reg(13));
        Assert.Equal(TestMachine.StackTop, m.Reg(14));
    }
}
