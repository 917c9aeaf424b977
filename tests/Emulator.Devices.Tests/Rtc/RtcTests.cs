using Emulator.Devices.Interrupts;
using Emulator.Devices.Rtc;
using Xunit;

namespace Emulator.Devices.Tests.Rtc;

/// <summary>The MC146818A through ports 0x70/0x71 on a manual clock, against the Motorola datasheet.</summary>
public class RtcTests
{
    private const ulong Second = 1_000_000_000;
    private static readonly DateTimeOffset s_epoch = new(2024, 2, 29, 23, 59, 58, TimeSpan.Zero); // a Thursday

    private sealed class Rig
    {
        public Rig(DateTimeOffset? epoch = null)
        {
            Irq.Sink = level => Edges.Add((Bus.Now, level));
            Rtc = new Mc146818Rtc(Bus.Clock, Irq, epoch ?? s_epoch);
            Bus.Ports.Map(Mc146818Rtc.BasePort, 2, Rtc);
        }

        public ClockedPorts Bus { get; } = new();

        public InterruptLine Irq { get; } = new("irq8");

        public Mc146818Rtc Rtc { get; }

        public List<(ulong Time, bool Level)> Edges { get; } = [];

        public byte Get(int index)
        {
            Bus.Out(0x70, (byte)index);
            return Bus.In(0x71);
        }

        public void Set(int index, byte value)
        {
            Bus.Out(0x70, (byte)index);
            Bus.Out(0x71, value);
        }
    }

    [Fact]
    public void ReadsTheEpochInBcdAnd24HourModeThenCountsAcrossALeapDayAndMonthEnd()
    {
        var rig = new Rig();
        Assert.Equal(0x58, rig.Get(0x00));
        Assert.Equal(0x59, rig.Get(0x02));
        Assert.Equal(0x23, rig.Get(0x04));
        Assert.Equal(0x05, rig.Get(0x06)); // Thursday: Sunday is 1
        Assert.Equal(0x29, rig.Get(0x07));
        Assert.Equal(0x02, rig.Get(0x08));
        Assert.Equal(0x24, rig.Get(0x09));
        Assert.Equal(0x20, rig.Get(0x32));

        rig.Bus.RunTo(2 * Second);
        Assert.Equal(0x00, rig.Get(0x00));
        Assert.Equal(0x00, rig.Get(0x04));
        Assert.Equal(0x01, rig.Get(0x07));
        Assert.Equal(0x03, rig.Get(0x08));
        Assert.Equal(0x06, rig.Get(0x06));
    }

    [Fact]
    public void BinaryAnd12HourModesFormatTheHour()
    {
        var rig = new Rig(new DateTimeOffset(1999, 12, 31, 13, 5, 9, TimeSpan.Zero));
        rig.Set(0x0B, 0x04); // binary, 12-hour
        Assert.Equal(0x81, rig.Get(0x04)); // 1 PM
        Assert.Equal(9, rig.Get(0x00));
        Assert.Equal(99, rig.Get(0x09));
        Assert.Equal(19, rig.Get(0x32));
        rig.Set(0x0B, 0x00); // BCD, 12-hour
        Assert.Equal(0x81, rig.Get(0x04));
        rig.Set(0x0B, 0x02);
        Assert.Equal(0x13, rig.Get(0x04));
    }

    [Fact]
    public void SetBitFreezesUpdatesAndTheWrittenTimeRunsFromWhenItIsCleared()
    {
        var rig = new Rig();
        rig.Set(0x0B, 0x82); // SET, 24 h, BCD
        rig.Set(0x00, 0x30);
        rig.Set(0x02, 0x15);
        rig.Set(0x04, 0x10);
        rig.Set(0x07, 0x15);
        rig.Set(0x08, 0x06);
        rig.Set(0x09, 0x31);
        rig.Set(0x32, 0x20);
        rig.Bus.RunTo(5 * Second);
        Assert.Equal(0x30, rig.Get(0x00)); // no updates while SET
        Assert.Equal(0, rig.Get(0x0A) & 0x80); // and no UIP
        rig.Set(0x0B, 0x02);
        Assert.Equal(new DateTimeOffset(2031, 6, 15, 10, 15, 30, TimeSpan.Zero), rig.Rtc.Now);
        rig.Bus.RunTo(6 * Second - 1);
        Assert.Equal(0x30, rig.Get(0x00));
        rig.Bus.RunTo(6 * Second);
        Assert.Equal(0x31, rig.Get(0x00));
    }

    [Fact]
    public void UipIsSetOnlyIn244MicrosecondsBeforeAnUpdate()
    {
        var rig = new Rig();
        Assert.Equal(0x26, rig.Get(0x0A));
        rig.Bus.RunTo(Second - 244_001);
        Assert.Equal(0x26, rig.Get(0x0A));
        rig.Bus.RunTo(Second - 244_000);
        Assert.Equal(0xA6, rig.Get(0x0A));
        rig.Bus.RunTo(Second);
        Assert.Equal(0x26, rig.Get(0x0A));
    }

    [Fact]
    public void PeriodicInterruptAt1024HzRaisesIrq8UntilRegisterCIsRead()
    {
        var rig = new Rig();
        rig.Set(0x0A, 0x26); // 1024 Hz
        rig.Set(0x0B, 0x42); // PIE
        Assert.False(rig.Irq.IsRaised);
        rig.Bus.RunTo(976_562);
        Assert.False(rig.Irq.IsRaised);
        rig.Bus.RunTo(976_563); // 32 ticks of 32.768 kHz = 976.5625 us
        Assert.True(rig.Irq.IsRaised);
        Assert.Equal(0xC0, rig.Get(0x0C)); // IRQF | PF
        Assert.False(rig.Irq.IsRaised);
        Assert.Equal(0x00, rig.Get(0x0C));

        // Each period raises the line again once C has been read.
        int raises = 0;
        for (int k = 2; k <= 11; k++)
        {
            rig.Bus.RunTo((ulong)Math.Ceiling(k * 976_562.5));
            Assert.True(rig.Irq.IsRaised);
            raises++;
            Assert.Equal(0xC0, rig.Get(0x0C));
        }

        Assert.Equal(10, raises);
    }

    [Fact]
    public void PeriodicFlagIsSetWithoutPieButTheLineStaysLow()
    {
        var rig = new Rig();
        rig.Set(0x0A, 0x2F); // 2 Hz
        rig.Bus.RunTo(Second / 2);
        Assert.False(rig.Irq.IsRaised);
        Assert.Null(rig.Bus.Clock.NextDeadline); // no timer while no interrupt is enabled
        Assert.Equal(0x40, rig.Get(0x0C)); // PF only: no update has ended in half a second
    }

    [Fact]
    public void UpdateEndedInterruptOncePerSecond()
    {
        var rig = new Rig();
        rig.Set(0x0B, 0x12); // UIE
        rig.Bus.RunTo(Second - 1);
        Assert.False(rig.Irq.IsRaised);
        rig.Bus.RunTo(Second);
        Assert.True(rig.Irq.IsRaised);
        Assert.Equal(0xD0, rig.Get(0x0C)); // IRQF | UF, and PF: the 1024 Hz rate runs whether or not PIE is set
        rig.Bus.RunTo(2 * Second);
        Assert.True(rig.Irq.IsRaised);
        Assert.Equal([(Second, true), (Second, false), (2 * Second, true)], rig.Edges);
    }

    [Fact]
    public void AlarmFiresWhenTheTimeMatchesWithDontCareBytes()
    {
        var rig = new Rig(new DateTimeOffset(2024, 1, 1, 8, 0, 0, TimeSpan.Zero));
        rig.Set(0x01, 0x05); // seconds 05
        rig.Set(0x03, 0xC0); // any minute
        rig.Set(0x05, 0x08); // hour 08
        rig.Set(0x0B, 0x22); // AIE
        rig.Bus.RunTo(4 * Second);
        Assert.False(rig.Irq.IsRaised);
        rig.Bus.RunTo(5 * Second);
        Assert.True(rig.Irq.IsRaised);
        Assert.Equal(0xF0, rig.Get(0x0C)); // IRQF | AF | UF, and PF of the 1024 Hz rate
        rig.Bus.RunTo(65 * Second - 1);
        Assert.False(rig.Irq.IsRaised); // UF alone does not interrupt without UIE
        rig.Get(0x0C);
        rig.Bus.RunTo(65 * Second);
        Assert.True(rig.Irq.IsRaised); // the next minute, same second
    }

    [Fact]
    public void IndexPortStoresTheNmiDisableBitAndCmosRamKeepsBytes()
    {
        var rig = new Rig();
        rig.Bus.Out(0x70, 0x80 | 0x40);
        Assert.True(rig.Rtc.NmiDisabled);
        rig.Bus.Out(0x71, 0xA5);
        rig.Bus.Out(0x70, 0x40);
        Assert.False(rig.Rtc.NmiDisabled);
        Assert.Equal(0xA5, rig.Bus.In(0x71));
        Assert.Equal(0x80, rig.Get(0x0D)); // VRT
        rig.Set(0x0D, 0x00);
        Assert.Equal(0x80, rig.Get(0x0D));
    }

    [Fact]
    public void ChecksumCoversBytes10To2D()
    {
        var rig = new Rig();
        rig.Rtc.SetCmos(0x10, 0x40);
        rig.Rtc.SetCmos(0x2D, 0xF0);
        rig.Rtc.SetCmos(0x15, 0x80);
        rig.Rtc.UpdateChecksum();
        Assert.Equal(0x01, rig.Get(0x2E));
        Assert.Equal(0xB0, rig.Get(0x2F));
    }

    [Fact]
    public void ResetClearsInterruptEnablesAndFlagsButKeepsTheTime()
    {
        var rig = new Rig();
        rig.Set(0x0B, 0x52);
        rig.Bus.RunTo(Second);
        Assert.True(rig.Irq.IsRaised);
        rig.Rtc.Reset();
        Assert.False(rig.Irq.IsRaised);
        Assert.Equal(0x02, rig.Get(0x0B));
        Assert.Equal(0x59, rig.Get(0x00));
        Assert.Null(rig.Bus.Clock.NextDeadline);
    }

    [Fact]
    public void DividerResetStopsTheClock()
    {
        var rig = new Rig();
        rig.Set(0x0A, 0x66); // DV = 110: divider reset
        rig.Bus.RunTo(10 * Second);
        Assert.Equal(0x58, rig.Get(0x00));
        rig.Set(0x0A, 0x26);
        rig.Bus.RunTo(11 * Second);
        Assert.Equal(0x59, rig.Get(0x00));
    }
}
