using Emulator.Devices.Apic;
using Xunit;

namespace Emulator.Devices.Tests.Apic;

/// <summary>The local APIC through its MMIO page and x2APIC MSRs on a manual clock (SDM Vol. 3A chapter 10).</summary>
public class LocalApicTests
{
    private const ulong Base = 0xFEE0_0000;

    private sealed class Rig
    {
        public Rig()
        {
            Apic = new LocalApic(Bus.Clock);
            Bus.MapMmio(Base, 0x1000, Apic);
            Apic.EoiBroadcast += Eois.Add;
        }

        public ClockedPorts Bus { get; } = new();

        public LocalApic Apic { get; }

        public List<byte> Eois { get; } = [];

        public uint this[int reg]
        {
            get => (uint)Bus.ReadMmio(Base + (ulong)reg);
            set => Bus.WriteMmio(Base + (ulong)reg, value);
        }

        public void Enable(uint spurious = 0xFF) => this[0xF0] = 0x100 | spurious;
    }

    [Fact]
    public void ResetStateIsVirtualWireWithTheApicSoftwareDisabled()
    {
        var rig = new Rig();
        Assert.Equal(0u, rig[0x20]);
        Assert.Equal(0x50014u, rig[0x30]);
        Assert.Equal(0xFFu, rig[0xF0]);
        Assert.Equal(0x700u, rig[0x350]); // LINT0 ExtINT, unmasked
        Assert.Equal(0x10000u, rig[0x320]);
        Assert.True(rig.Apic.AcceptsPicInterrupt);
        rig[0x350] = 0x10700; // masked: the 8259A no longer gets through
        Assert.False(rig.Apic.AcceptsPicInterrupt);
    }

    [Fact]
    public void FixedInterruptsAreDeliveredByPriorityAndEoiClearsTheHighestIsrBit()
    {
        var rig = new Rig();
        rig.Enable();
        rig.Apic.Deliver(LocalApicRegisters.DeliveryFixed, 0x41, level: false);
        rig.Apic.Deliver(LocalApicRegisters.DeliveryFixed, 0x62, level: false);
        Assert.Equal(1u << 1, rig[0x200 + 0x20]); // IRR bits 65 and 98
        Assert.True(rig.Apic.HasInterrupt);
        Assert.Equal(0x62, rig.Apic.Acknowledge());
        Assert.Equal(0x60u, rig[0xA0]); // PPR follows the in-service class
        Assert.False(rig.Apic.HasInterrupt); // 0x41 is a lower class
        rig[0xB0] = 0;
        Assert.Equal(0u, rig[0xA0]);
        Assert.Equal(0x41, rig.Apic.Acknowledge());

        // TPR blocks classes at or below it.
        rig[0xB0] = 0;
        rig[0x80] = 0x50;
        rig.Apic.Deliver(LocalApicRegisters.DeliveryFixed, 0x55, level: false);
        Assert.False(rig.Apic.HasInterrupt);
        Assert.Equal(0xFF, rig.Apic.Acknowledge()); // spurious
        rig[0x80] = 0x40;
        Assert.Equal(0x55, rig.Apic.Acknowledge());
    }

    [Fact]
    public void HasInterruptFollowsIrrThroughAcknowledgeResetAndGlobalDisable()
    {
        // HasInterrupt skips the lock while IRR is empty: every path that empties or fills IRR must keep that true.
        var rig = new Rig();
        rig.Enable();
        Assert.False(rig.Apic.HasInterrupt);
        rig.Apic.Deliver(LocalApicRegisters.DeliveryFixed, 0x30, level: false);
        rig.Apic.Deliver(LocalApicRegisters.DeliveryFixed, 0x31, level: false);
        Assert.Equal(0x31, rig.Apic.Acknowledge());
        rig[0xB0] = 0;
        Assert.True(rig.Apic.HasInterrupt); // 0x30 still waits in IRR
        Assert.Equal(0x30, rig.Apic.Acknowledge());
        rig[0xB0] = 0;
        Assert.False(rig.Apic.HasInterrupt);

        rig.Apic.Deliver(LocalApicRegisters.DeliveryFixed, 0x40, level: false);
        Assert.True(rig.Apic.ApicBaseChanging(Base)); // globally disabled: IRR is cleared
        Assert.True(rig.Apic.ApicBaseChanging(Base | LocalApic.ApicBaseEnable));
        rig.Enable();
        Assert.False(rig.Apic.HasInterrupt);
        Assert.Equal(0u, rig[0x200 + 0x20]);

        rig.Apic.Deliver(LocalApicRegisters.DeliveryFixed, 0x50, level: false);
        rig.Apic.Reset();
        rig.Enable();
        Assert.False(rig.Apic.HasInterrupt);
        rig.Apic.Deliver(LocalApicRegisters.DeliveryFixed, 0x50, level: false);
        Assert.True(rig.Apic.HasInterrupt);
    }

    [Fact]
    public void SoftwareDisabledApicHoldsInterruptsAndMasksLvtWrites()
    {
        var rig = new Rig();
        rig.Apic.Deliver(LocalApicRegisters.DeliveryFixed, 0x30, level: false);
        Assert.False(rig.Apic.HasInterrupt);
        rig[0x320] = 0x30; // unmasked timer... kept masked while disabled
        Assert.Equal(0x10030u, rig[0x320]);
        rig.Enable();
        Assert.True(rig.Apic.HasInterrupt);
    }

    [Fact]
    public void LevelTriggeredEoiIsBroadcast()
    {
        var rig = new Rig();
        rig.Enable();
        rig.Apic.Deliver(LocalApicRegisters.DeliveryFixed, 0x39, level: true);
        Assert.Equal(1u << (0x39 - 32), rig[0x180 + 0x10]); // TMR
        Assert.Equal(0x39, rig.Apic.Acknowledge());
        rig[0xB0] = 0;
        Assert.Equal([0x39], rig.Eois);
        rig.Apic.Deliver(LocalApicRegisters.DeliveryFixed, 0x39, level: false);
        rig.Apic.Acknowledge();
        rig[0xB0] = 0;
        Assert.Equal([0x39], rig.Eois);
    }

    [Fact]
    public void OneShotTimerCountsDownAtTheDividedBusClockAndInterruptsOnce()
    {
        var rig = new Rig();
        rig.Enable();
        rig[0x3E0] = 0x3; // divide by 16
        rig[0x320] = 0x40; // one-shot, vector 0x40
        rig[0x380] = 1000;
        rig.Bus.RunTo(1600);
        Assert.Equal(900u, rig[0x390]);
        rig.Bus.RunTo(15_999);
        Assert.False(rig.Apic.HasInterrupt);
        rig.Bus.RunTo(16_000);
        Assert.Equal(0u, rig[0x390]);
        Assert.Equal(0x40, rig.Apic.Acknowledge());
        rig[0xB0] = 0;
        rig.Bus.RunTo(100_000);
        Assert.False(rig.Apic.HasInterrupt);
        Assert.Null(rig.Bus.Clock.NextDeadline);
    }

    [Fact]
    public void PeriodicTimerReloadsAndAMaskedTimerStillCounts()
    {
        var rig = new Rig();
        rig.Enable();
        rig[0x3E0] = 0xB; // divide by 1
        rig[0x320] = 0x20041; // periodic, vector 0x41
        rig[0x380] = 500;
        int count = 0;
        for (ulong t = 500; t <= 5000; t += 500)
        {
            rig.Bus.RunTo(t);
            Assert.True(rig.Apic.HasInterrupt);
            Assert.Equal(0x41, rig.Apic.Acknowledge());
            rig[0xB0] = 0;
            count++;
        }

        Assert.Equal(10, count);
        rig.Bus.RunTo(5100);
        Assert.Equal(400u, rig[0x390]);
        rig[0x320] = 0x30041; // masked
        rig.Bus.RunTo(6000);
        Assert.False(rig.Apic.HasInterrupt);
        Assert.Equal(500u, rig[0x390]);
    }

    [Fact]
    public void TscDeadlineTimerFiresAtTheDeadlineAndDisarms()
    {
        var rig = new Rig();
        rig.Enable();
        rig[0x320] = 0x40050; // TSC-deadline, vector 0x50
        Assert.True(rig.Apic.TryWriteMsr(0x6E0, 10_000));
        Assert.True(rig.Apic.TryReadMsr(0x6E0, out ulong deadline));
        Assert.Equal(10_000UL, deadline);
        rig.Bus.RunTo(9_999);
        Assert.False(rig.Apic.HasInterrupt);
        rig.Bus.RunTo(10_000);
        Assert.Equal(0x50, rig.Apic.Acknowledge());
        rig.Apic.TryReadMsr(0x6E0, out deadline);
        Assert.Equal(0UL, deadline);
        rig[0x380] = 100; // ignored in TSC-deadline mode
        Assert.Equal(0u, rig[0x380]);
    }

    [Fact]
    public void IcrSendsFixedAndNmiToSelfAndRejectsIllegalVectors()
    {
        var rig = new Rig();
        rig.Enable();
        rig[0x310] = 0;
        rig[0x300] = 0x4070; // fixed 0x70, physical destination 0 (this APIC)
        Assert.Equal(0x70, rig.Apic.Acknowledge());
        rig[0x300] = 0x40400; // NMI, shorthand self
        Assert.True(rig.Apic.TakeNmi());
        Assert.False(rig.Apic.TakeNmi());
        rig[0x300] = 0xC0071; // all excluding self: nobody
        Assert.False(rig.Apic.HasInterrupt);
        rig[0x300] = 0x40005; // illegal vector
        rig[0x280] = 0;
        Assert.Equal(0x20u, rig[0x280]);
        rig[0x280] = 0;
        Assert.Equal(0u, rig[0x280]);
    }

    [Fact]
    public void X2ApicModeMovesTheRegistersToMsrs()
    {
        var rig = new Rig();
        Assert.False(rig.Apic.TryReadMsr(0x802, out _)); // not in x2APIC mode yet
        Assert.True(rig.Apic.ApicBaseChanging(Base | 0xD00));
        Assert.True(rig.Apic.X2ApicMode);
        Assert.Equal(0u, rig[0x30]); // the MMIO page is gone
        Assert.True(rig.Apic.TryReadMsr(0x803, out ulong version));
        Assert.Equal(0x50014UL, version);
        Assert.True(rig.Apic.TryReadMsr(0x80D, out ulong ldr));
        Assert.Equal(1UL, ldr);
        Assert.True(rig.Apic.TryWriteMsr(0x80F, 0x1FF));
        Assert.True(rig.Apic.TryWriteMsr(0x83F, 0x66)); // SELF IPI
        Assert.Equal(0x66, rig.Apic.Acknowledge());
        Assert.False(rig.Apic.TryWriteMsr(0x80B, 1)); // EOI must be 0
        Assert.True(rig.Apic.TryWriteMsr(0x80B, 0));
        Assert.False(rig.Apic.TryWriteMsr(0x802, 5)); // ID is read-only
        Assert.False(rig.Apic.TryReadMsr(0x80E, out _)); // no DFR in x2APIC mode
        Assert.True(rig.Apic.TryWriteMsr(0x830, 0x4077)); // ICR as one 64-bit MSR
        Assert.Equal(0x77, rig.Apic.Acknowledge());
        Assert.False(rig.Apic.ApicBaseChanging(Base | 0x900)); // x2APIC straight to xAPIC is refused
        Assert.True(rig.Apic.ApicBaseChanging(Base));
        Assert.False(rig.Apic.HardwareEnabled);
        Assert.True(rig.Apic.AcceptsPicInterrupt); // disabled: INTR passes straight through
    }
}
