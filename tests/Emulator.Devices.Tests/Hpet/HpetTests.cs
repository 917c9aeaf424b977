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
}
