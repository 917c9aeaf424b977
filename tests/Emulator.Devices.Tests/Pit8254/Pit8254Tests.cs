using Xunit;

namespace Emulator.Devices.Tests.Pit8254;

/// <summary>
/// The 8254 through its ports against the Intel 8254 datasheet (order no. 231164): control word
/// format (figure 7), modes 0-5 (figures 11-16), counter latch and read-back commands (figures 8-10).
/// </summary>
public class Pit8254Tests
{
    private const ushort C0 = 0x40, C2 = 0x42, Cw = 0x43, PortB = 0x61;

    [Fact]
    public void Mode2RaisesIrq0OncePerPeriodAtTheRightTimes()
    {
        var pit = new PitPorts();
        pit.Out(Cw, 0x34); // counter 0, LSB then MSB, mode 2, binary
        pit.Count(C0, 1193);
        Assert.True(pit.Irq0.IsRaised); // mode 2: OUT high after the count is loaded
        pit.RunTo(10_000_000);

        // OUT goes low while the CE holds 1 and high again on the reload (datasheet, mode 2).
        Assert.Equal((0UL, true), pit.Edges[0]); // the control word sets OUT high (datasheet, mode 2)
        var rising = pit.Edges.Skip(1).Where(e => e.Level).Select(e => e.Time).ToList();
        var falling = pit.Edges.Where(e => !e.Level).Select(e => e.Time).ToList();
        Assert.Equal(Enumerable.Range(1, 10).Select(k => PitPorts.TickTime((ulong)(k * 1193))), rising);
        Assert.Equal(Enumerable.Range(1, 10).Select(k => PitPorts.TickTime((ulong)(k * 1193 - 1))), falling);
    }

    [Fact]
    public void Mode2DeliversEveryEdgeWhenTheLoopRunsInLongSlices()
    {
        var pit = new PitPorts();
        pit.Out(Cw, 0x34);
        pit.Count(C0, 1193); // 999.847 us
        for (ulong t = 3_333_333; t <= 100_000_000; t += 3_333_333)
        {
            pit.JumpTo(t);
        }

        pit.JumpTo(100_000_000);
        Assert.Equal(101, pit.Edges.Count(e => e.Level)); // one from the control word, then one per period
        Assert.Equal(100, pit.Edges.Count(e => !e.Level));
    }

    [Fact]
    public void Mode2NewCountTakesEffectAtTheNextReload()
    {
        var pit = new PitPorts();
        pit.Out(Cw, 0x34);
        pit.Count(C0, 100);
        pit.RunToTick(30);
        pit.Count(C0, 50); // datasheet, mode 2: the current period finishes first
        pit.Out(Cw, 0xE2);
        Assert.Equal(0x40, pit.In(C0) & 0x40); // null count until the CR is moved to the CE
        pit.RunToTick(260);
        var rising = pit.Edges.Skip(1).Where(e => e.Level).Select(e => e.Time);
        Assert.Equal([PitPorts.TickTime(100), PitPorts.TickTime(150), PitPorts.TickTime(200), PitPorts.TickTime(250)], rising);
        pit.Out(Cw, 0xE2);
        Assert.Equal(0x00, pit.In(C0) & 0x40);
    }

    [Fact]
    public void Mode0InterruptsOnceAtTerminalCount()
    {
        var pit = new PitPorts();
        pit.Out(Cw, 0x30); // counter 0, LSB then MSB, mode 0
        pit.Count(C0, 100);
        Assert.False(pit.Irq0.IsRaised); // mode 0: OUT low after the control word and while counting
        pit.RunTo(PitPorts.TickTime(100) - 1);
        Assert.False(pit.Irq0.IsRaised);
        pit.RunToTick(100);
        Assert.True(pit.Irq0.IsRaised);
        Assert.Equal([(PitPorts.TickTime(100), true)], pit.Edges);
        Assert.Null(pit.Clock.NextDeadline);

        // The counter keeps counting down past zero with OUT high.
        pit.RunToTick(110);
        Assert.Equal(0x10000 - 10, pit.ReadCount(C0));
        Assert.True(pit.Irq0.IsRaised);

        // A new count restarts it, lowering OUT.
        pit.Count(C0, 5);
        Assert.False(pit.Irq0.IsRaised);
        pit.RunToTick(115);
        Assert.True(pit.Irq0.IsRaised);
    }

    [Fact]
    public void Mode3SquareWaveOnOut2FollowsGate2()
    {
        var pit = new PitPorts();
        pit.Out(Cw, 0xB6); // counter 2, LSB then MSB, mode 3
        pit.Count(C2, 7);
        pit.RunToTick(20);
        Assert.True(Out2(pit)); // gate low: OUT high, not counting
        pit.Out(PortB, 0x01); // gate 2 rises at tick 20: the counter loads and starts
        for (ulong t = 0; t < 21; t++)
        {
            pit.RunToTick(20 + t);
            // Odd N: high for (N + 1) / 2 clocks, low for (N - 1) / 2 (datasheet, mode 3).
            Assert.Equal(t % 7 < 4, Out2(pit));
        }

        pit.RunToTick(45); // d = 25, low half
        Assert.False(Out2(pit));
        pit.Out(PortB, 0x00); // gate low forces OUT high at once
        Assert.True(Out2(pit));
        pit.RunToTick(50);
        Assert.True(Out2(pit));
        Assert.Equal(0x00, pit.In(PortB) & 0x01);
    }

    [Fact]
    public void Mode3EvenCountDecrementsByTwo()
    {
        var pit = new PitPorts();
        pit.Out(PortB, 0x01);
        pit.Out(Cw, 0xB6);
        pit.Count(C2, 10);
        pit.RunToTick(2);
        Assert.Equal(6, pit.ReadCount(C2));
        Assert.True(Out2(pit));
        pit.RunToTick(5);
        Assert.False(Out2(pit));
    }

    [Fact]
    public void Mode1OneShotIsTriggeredByGate2()
    {
        var pit = new PitPorts();
        pit.Out(Cw, 0xB2); // counter 2, LSB then MSB, mode 1
        pit.Count(C2, 50);
        pit.RunToTick(10);
        Assert.True(Out2(pit)); // waits for a trigger with OUT high
        pit.Out(PortB, 0x01);
        pit.RunToTick(11);
        Assert.False(Out2(pit));
        pit.RunToTick(59);
        Assert.False(Out2(pit));
        pit.RunToTick(60);
        Assert.True(Out2(pit));

        // Retriggerable: a new rising edge starts another N-clock pulse.
        pit.Out(PortB, 0x00);
        pit.Out(PortB, 0x01);
        pit.RunToTick(61);
        Assert.False(Out2(pit));
        pit.RunToTick(110);
        Assert.True(Out2(pit));
    }

    [Fact]
    public void Mode4And5StrobeForOneClock()
    {
        var pit = new PitPorts();
        pit.Out(Cw, 0x38); // counter 0, mode 4
        pit.Count(C0, 20);
        Assert.True(pit.Irq0.IsRaised);
        pit.RunToTick(40);
        Assert.Equal([(0UL, true), (PitPorts.TickTime(20), false), (PitPorts.TickTime(21), true)], pit.Edges);

        pit.Out(Cw, 0xBA); // counter 2, mode 5: hardware-triggered strobe
        pit.Count(C2, 5);
        pit.RunToTick(50);
        Assert.True(Out2(pit));
        pit.Out(PortB, 0x01);
        pit.RunToTick(55);
        Assert.False(Out2(pit));
        pit.RunToTick(56);
        Assert.True(Out2(pit));
    }

    [Fact]
    public void ReadBackReturnsStatusThenCount()
    {
        var pit = new PitPorts();
        pit.Out(Cw, 0x34);
        pit.Out(Cw, 0xE2); // read-back, status only, counter 0
        Assert.Equal(0xF4, pit.In(C0)); // OUT high, null count, RW=11, mode 2
        pit.Count(C0, 1000);
        pit.Out(Cw, 0xE2);
        Assert.Equal(0xB4, pit.In(C0)); // count loaded: null count clear

        pit.RunToTick(250);
        pit.Out(Cw, 0xC2); // read-back, count and status
        pit.RunToTick(400);
        Assert.Equal(0xB4, pit.In(C0)); // status first (datasheet figure 11)
        Assert.Equal(750, pit.ReadCount(C0));
        Assert.Equal(600, pit.ReadCount(C0)); // then the live count again

        pit.Out(Cw, 0x30); // mode 0: OUT low after the control word
        pit.Out(Cw, 0xE2);
        Assert.Equal(0x70, pit.In(C0));
    }

    [Fact]
    public void LatchHoldsTheCountUntilRead()
    {
        var pit = new PitPorts();
        pit.Out(Cw, 0x34);
        pit.Count(C0, 1000);
        pit.RunToTick(100);
        pit.Out(Cw, 0x00); // counter latch command, counter 0
        pit.RunToTick(300);
        pit.Out(Cw, 0x00); // ignored: the first latch has not been read
        Assert.Equal(900, pit.ReadCount(C0));
        Assert.Equal(700, pit.ReadCount(C0));
    }

    [Fact]
    public void BcdCountsInDecimal()
    {
        var pit = new PitPorts();
        pit.Out(Cw, 0x31); // counter 0, LSB then MSB, mode 0, BCD
        pit.Count(C0, 0x1234);
        pit.RunToTick(34);
        Assert.Equal(0x1200, pit.ReadCount(C0));
        pit.RunTo(PitPorts.TickTime(1234) - 1);
        Assert.False(pit.Irq0.IsRaised);
        pit.RunToTick(1234);
        Assert.True(pit.Irq0.IsRaised);

        pit.Count(C0, 0); // 0 is 10^4 in BCD
        pit.RunToTick(1235);
        Assert.Equal(0x9999, pit.ReadCount(C0));
        pit.RunToTick(1234 + 10_000);
        Assert.True(pit.Irq0.IsRaised);
    }

    [Fact]
    public void SingleByteAccessModes()
    {
        var pit = new PitPorts();
        pit.Out(Cw, 0x14); // counter 0, LSB only, mode 2
        pit.Out(C0, 200);
        pit.RunToTick(50);
        Assert.Equal(150, pit.In(C0));
        Assert.Equal(150, pit.In(C0));
        pit.Out(Cw, 0x24); // MSB only
        pit.Out(C0, 0x02); // 0x200
        pit.RunToTick(51);
        Assert.Equal(0x01, pit.In(C0)); // 0x1FF
    }

    [Fact]
    public void PortBShowsRefreshToggleAndStoresItsBits()
    {
        var pit = new PitPorts();
        pit.Out(PortB, 0xFF);
        Assert.Equal(0x0F, pit.In(PortB)); // counter 2 unprogrammed (reset as mode 0): OUT2 low
        pit.RunTo(15_085);
        Assert.Equal(0x10, pit.In(PortB) & 0x10);
        pit.RunTo(30_170);
        Assert.Equal(0x00, pit.In(PortB) & 0x10);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RandomPortTrafficNeverThrows(int seed)
    {
        var random = new Random(seed);
        var pit = new PitPorts();
        int[] sizes = [1, 2, 4];
        for (int i = 0; i < 50_000; i++)
        {
            ushort port = random.Next(6) == 0 ? (ushort)0x61 : (ushort)(0x3E + random.Next(8));
            switch (random.Next(10))
            {
                case < 4:
                    pit.Ports.Read(port, sizes[random.Next(3)]);
                    break;
                case < 8:
                    pit.Ports.Write(port, sizes[random.Next(3)], (uint)random.NextInt64(0x1_0000_0000));
                    break;
                case 8:
                    pit.RunTo(pit.Now + (ulong)random.Next(100_000));
                    break;
                default:
                    pit.JumpTo(pit.Now + (ulong)random.NextInt64(10_000_000_000));
                    break;
            }
        }

        // Still a working timer afterwards.
        pit.Out(Cw, 0x30);
        pit.Count(C0, 10);
        Assert.False(pit.Irq0.IsRaised);
        pit.RunTo(pit.Now + PitPorts.TickTime(20));
        Assert.True(pit.Irq0.IsRaised);
    }

    private static bool Out2(PitPorts pit) => (pit.In(PortB) & 0x20) != 0;
}
