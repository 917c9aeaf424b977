using Xunit;

namespace Emulator.Devices.Tests.Hpet;

/// <summary>The HPET through its MMIO registers on a manual clock (IA-PC HPET specification 1.0a).</summary>
public class HpetTests
{
    private const ulong Base = 0xFED0_0000;

    private sealed class Rig
    {
        public Rig()
        {
            Hpet = new Devices.Hpet.Hpet(Bus.Clock, (line, level) => Lines.Add((Bus.Now, line, level)));
            Bus.MapMmio(Base, 0x1000, Hpet);
        }

        public ClockedPorts Bus { get; } = new();

        public Devices.Hpet.Hpet Hpet { get; }

        public List<(ulong Time, int Line, bool Level)> Lines { get; } = [];

        public ulong this[int reg]
        {
            get => Bus.ReadMmio(Base + (ulong)reg, 8);
            set => Bus.WriteMmio(Base + (ulong)reg, value, 8);
        }
    }

    [Fact]
    public void CapabilitiesAndAMainCounterThatRunsOnlyWhenEnabled()
    {
        var rig = new Rig();
        ulong caps = rig[0x000];
        Assert.Equal(0x8086UL, (caps >> 16) & 0xFFFF);
        Assert.Equal(100_000_000UL, caps >> 32); // 100 ns in femtoseconds: 10 MHz
        Assert.Equal(2UL, (caps >> 8) & 0x1F); // three timers
        Assert.Equal(0xA000UL, caps & 0xA000); // 64-bit counter, legacy replacement capable
        rig.Bus.RunTo(1_000_000);
        Assert.Equal(0UL, rig[0x0F0]);
        rig[0x0F0] = 1000;
        rig[0x010] = 1;
        rig.Bus.RunTo(2_000_000);
        Assert.Equal(1000UL + 10_000, rig[0x0F0]);
        Assert.Equal((uint)(11_000), (uint)rig.Bus.ReadMmio(Base + 0xF0, 4));
        rig[0x010] = 0;
        rig.Bus.RunTo(3_000_000);
        Assert.Equal(11_000UL, rig[0x0F0]);
    }

    [Fact]
    public void OneShotEdgeInterruptOnTheRoutedPin()
    {
        var rig = new Rig();
        Assert.Equal(0x00F0_0000UL, rig[0x100] >> 32);
        rig[0x100] = (20 << 9) | (1 << 2); // route to pin 20, interrupts on, edge
        rig[0x108] = 500; // 50 us
        rig[0x010] = 1;
        rig.Bus.RunTo(49_999);
        Assert.Empty(rig.Lines);
        rig.Bus.RunTo(50_000);
        Assert.Equal([(50_000UL, 20, true), (50_000UL, 20, false)], rig.Lines);
        rig.Bus.RunTo(10_000_000);
        Assert.Equal(2, rig.Lines.Count);
    }

    [Fact]
    public void PeriodicLevelTimerLatchesStatusUntilCleared()
    {
        var rig = new Rig();
        rig[0x120] = (21 << 9) | (1 << 6) | (1 << 3) | (1 << 2) | (1 << 1); // timer 1: pin 21, VAL_SET, periodic, enabled, level
        rig[0x128] = 1000; // comparator and 100 us period
        rig[0x010] = 1;
        rig.Bus.RunTo(100_000);
        Assert.Equal(2UL, rig[0x020]);
        Assert.Equal([(100_000UL, 21, true)], rig.Lines);
        rig[0x020] = 2;
        Assert.Equal(0UL, rig[0x020]);
        Assert.Equal((100_000UL, 21, false), rig.Lines[^1]);
        rig.Bus.RunTo(200_000);
        Assert.Equal(2UL, rig[0x020]);
        Assert.Equal(3000UL, rig[0x128]); // the comparator moved on by the period
    }

    [Fact]
    public void PeriodicWriteWithoutValSetChangesOnlyThePeriod()
    {
        // Linux's periodic set-up (hpet_clkevt_set_state_periodic): VAL_SET, write "now + delta"
        // as the comparator, then write "delta" alone, which must set the period, not the comparator.
        var rig = new Rig();
        rig[0x010] = 1;
        rig.Bus.RunTo(100_000); // counter 1000
        rig[0x100] = (1 << 8) | (1 << 6) | (1 << 3) | (1 << 2); // 32-bit, VAL_SET, periodic, edge
        rig[0x108] = 1000 + 400;
        Assert.Equal(0UL, rig[0x100] & (1 << 6)); // VAL_SET clears itself
        rig[0x108] = 400;
        Assert.Equal(1400UL, rig[0x108]);
        rig.Bus.RunTo(220_000);
        Assert.Equal([140_000UL, 180_000UL, 220_000UL], rig.Lines.Where(l => l.Level).Select(l => l.Time));
    }

    [Fact]
    public void LegacyReplacementRoutesTimers0And1ToIrq0And8()
    {
        var rig = new Rig();
        rig[0x100] = (1 << 6) | (1 << 3) | (1 << 2); // VAL_SET, periodic, edge
        rig[0x108] = 100;
        rig[0x120] = 1 << 2;
        rig[0x128] = 250;
        rig[0x010] = 3; // enable, legacy replacement
        rig.Bus.RunTo(25_000);
        Assert.Equal(2, rig.Lines.Count(l => l.Line == Devices.Hpet.Hpet.LegacyIrq0 && l.Level)); // at 10 and 20 us
        Assert.Single(rig.Lines, l => l.Line == Devices.Hpet.Hpet.LegacyIrq8 && l.Level); // at 25 us
    }

    [Fact]
    public void ThirtyTwoBitModeComparesTheLowHalf()
    {
        var rig = new Rig();
        rig[0x0F0] = 0x1_FFFF_FF00;
        rig[0x140] = (22 << 9) | (1 << 8) | (1 << 2); // timer 2: 32-bit mode
        rig[0x148] = 0x1_0000_0010; // stored as 0x10
        Assert.Equal(0x10UL, rig[0x148]);
        rig[0x010] = 1;
        rig.Bus.RunTo((0x110 * 100) - 1);
        Assert.Empty(rig.Lines);
        rig.Bus.RunTo(0x110 * 100);
        Assert.Equal(2, rig.Lines.Count);
    }

    [Fact]
    public void APeriodicTimerThatFellBehindSkipsTheMissedPeriodsAndFiresOnce()
    {
        // The vCPU ran one long slice: time is 3.5 periods past the comparator when timers run.
        var rig = new Rig();
        rig[0x100] = (1 << 8) | (1 << 6) | (1 << 3) | (1 << 2) | (20 << 9); // 32-bit, VAL_SET, periodic, edge, pin 20
        rig[0x108] = 100; // 10 us, then every 10 us
        rig[0x010] = 1;
        rig.Bus.JumpTo(45_000);
        rig.Bus.Clock.RunDue();
        Assert.Single(rig.Lines, l => l.Level);
        Assert.Equal(500UL, rig[0x108]); // the next period boundary after the counter (450), not 200
        rig.Bus.RunTo(60_000);
        Assert.Equal([45_000UL, 50_000UL, 60_000UL], rig.Lines.Where(l => l.Level).Select(l => l.Time));
    }

    [Fact]
    public void ComparatorHalvesWriteTheComparatorAndThePeriodSeparately()
    {
        var rig = new Rig();
        rig[0x100] = (1 << 2) | (20 << 9); // one-shot, 64-bit
        rig.Bus.WriteMmio(Base + 0x108, 0x2000_0000, 4);
        rig.Bus.WriteMmio(Base + 0x10C, 0x1, 4);
        Assert.Equal(0x1_2000_0000UL, rig[0x108]);
        Assert.Equal(0x1UL, rig.Bus.ReadMmio(Base + 0x10C, 4));

        // Periodic: VAL_SET lets the first half set the comparator (and the period's half); the
        // next half, without VAL_SET, is the period's alone.
        rig[0x100] = (1 << 6) | (1 << 3) | (1 << 2) | (20 << 9);
        rig.Bus.WriteMmio(Base + 0x108, 300, 4); // comparator low half (high stays 1), period low half
        rig.Bus.WriteMmio(Base + 0x10C, 0, 4); // period high half only
        Assert.Equal(0x1_0000_012CUL, rig[0x108]);
        rig[0x010] = 1;
        rig.Bus.WriteMmio(Base + 0x10C, 0, 4); // comparator write without VAL_SET in periodic mode: period only
        Assert.Equal(0x1_0000_012CUL, rig[0x108]);
    }

    [Fact]
    public void MainCounterReadsInHalvesWhileRunning()
    {
        var rig = new Rig();
        rig[0x0F0] = 0xFFFF_FFF0;
        rig[0x010] = 1;
        rig.Bus.JumpTo(2_000); // 20 ticks: the low half wraps into the high half
        Assert.Equal(0x4UL, rig.Bus.ReadMmio(Base + 0xF0, 4));
        Assert.Equal(0x1UL, rig.Bus.ReadMmio(Base + 0xF4, 4));
        rig.Bus.JumpTo(3_000);
        Assert.Equal(0x1_0000_000EUL, rig[0x0F0]);
    }

    [Fact]
    public void LegacyRoutingIsAnnouncedWhenItChangesAndOnReset()
    {
        var rig = new Rig();
        var changes = new List<bool>();
        rig.Hpet.LegacyRoutingChanged += changes.Add;
        rig[0x010] = 1;
        Assert.False(rig.Hpet.LegacyRouting);
        rig[0x010] = 3;
        Assert.True(rig.Hpet.LegacyRouting);
        rig[0x010] = 2; // halted, still routed
        rig[0x010] = 0;
        rig[0x010] = 2;
        rig.Hpet.Reset();
        Assert.False(rig.Hpet.LegacyRouting);
        Assert.Equal([true, false, true, false], changes);
    }
}
