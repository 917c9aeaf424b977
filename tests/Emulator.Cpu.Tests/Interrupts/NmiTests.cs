using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.Cpu.Tests.Exceptions;
using Emulator.TestKit;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Interrupts;

/// <summary>
/// NMI (SDM Vol. 3A 6.7 and 6.7.1): delivered through vector 2 whatever IF says, it wakes HLT,
/// and further NMIs are blocked until the next IRET; the MOV SS shadow holds it off (6.8.3).
/// </summary>
public class NmiTests
{
    /// <summary>An interrupt source whose NMI pin stays asserted for <c>remaining</c> edges.</summary>
    private sealed class NmiSource(int remaining) : IInterruptSource
    {
        public int Remaining { get; private set; } = remaining;

        public bool HasInterrupt => false;

        public byte Acknowledge() => throw new InvalidOperationException("no INTR");

        public bool TakeNmi()
        {
            if (Remaining == 0)
            {
                return false;
            }

            Remaining--;
            return true;
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void NmiIgnoresIfAndWakesHlt(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        EventLog.Install(m, Vector.NMI);
        var at = EventLog.LoadParts(m, a => a.cli(), a => a.hlt(), a => a.mov(eax, 7), a => a.hlt());
        Assert.Equal(StopReason.Halted, m.Run(engine));
        Assert.Equal(at[2], m.S.Rip);

        m.Cpu.RaiseNmi();
        m.RunToHlt(engine);

        Assert.Equal(1, EventLog.Count(m));
        Assert.Equal(at[2], EventLog.Entry(m, 0).Rip); // returns after the HLT it woke
        Assert.Equal(7UL, m.Reg(CpuState.RAX));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void NmiIsBlockedUntilIret(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        EventLog.Install(m, Vector.NMI);
        var source = new NmiSource(3);
        m.Cpu.Interrupts = source;
        m.Load(a =>
        {
            var loop = a.CreateLabel();
            a.mov(ecx, 50);
            a.Label(ref loop);
            a.inc(r13);
            a.dec(ecx);
            a.jnz(loop);
            a.hlt();
        });
        m.RunToHlt(engine);

        // The pin was asserted throughout: one NMI per IRETQ, each taken in the interrupted
        // program, never nested inside the handler (SDM 6.7.1).
        Assert.Equal(3, EventLog.Count(m));
        for (int k = 0; k < 3; k++)
        {
            ulong rip = EventLog.Entry(m, k).Rip;
            Assert.InRange(rip, TestMachine.CodeAddress, TestMachine.CodeAddress + 0x20);
        }

        Assert.Equal(0, source.Remaining);
        Assert.Equal(0, m.S.NmiBlocked);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void NmiStaysBlockedWithoutIret(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.Cpu.RaiseNmi();
        m.Load(a => a.hlt()).RunToHlt(engine); // the NMI stub records vector 2 and halts inside the handler
        Assert.Equal((ulong)Vector.NMI, m.Reg(8));
        Assert.Equal(1, m.S.NmiBlocked);

        m.S.Gpr[8] = 0;
        m.Cpu.RaiseNmi();
        m.S.Halted = 0;
        m.S.Rip = LongModeIdt.Handler(Vector.NMI) + 0x30;
        m.Load(a => a.hlt(), LongModeIdt.Handler(Vector.NMI) + 0x30);
        Assert.Equal(StopReason.Halted, m.Run(engine));
        Assert.Equal(0UL, m.Reg(8)); // still blocked: not delivered again
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void MovSsShadowHoldsOffNmi(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        EventLog.Install(m, Vector.NMI);
        m.S.Gpr[CpuState.RAX] = TestMachine.Data;
        var at = EventLog.LoadParts(m, a => a.mov(ss, ax), a => a.nop(), a => a.hlt(), a => a.hlt());
        m.Cpu.RaiseNmi();
        m.RunToHlt(engine);

        // Taken at the start (before MOV SS) or after the instruction the shadow covers, never between.
        Assert.Equal(1, EventLog.Count(m));
        Assert.NotEqual(at[1], EventLog.Entry(m, 0).Rip);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void NmiThroughNotPresentGateReportsExt(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        LongModeIdt.SetGate(m, Vector.NMI, LongModeIdt.Handler(Vector.NMI), present: false);
        m.Cpu.RaiseNmi();
        m.Load(a => a.hlt()).RunToHlt(engine);

        // SDM 6.13: error code = IDT index << 3 | IDT (bit 1) | EXT (bit 0, an external event).
        Assert.Equal((ulong)Vector.NP, m.Reg(8));
        Assert.Equal((ulong)((Vector.NMI << 3) | 3), m.Reg(10));
    }
}
