using Emulator.Devices.Time;
using Xunit;

namespace Emulator.Machine.Tests;

/// <summary>The host thread that ends a vCPU slice when the next timer deadline falls due.</summary>
public class DeadlineKickerTests
{
    [Fact]
    public void AnEarlierDeadlineWakesTheKickerSleepingTowardsALaterOne()
    {
        var clock = new VirtualClock();
        using var kicked = new ManualResetEventSlim(false);
        using var kicker = new DeadlineKicker(clock, kicked.Set);
        kicker.Arm(clock.Nanoseconds + 3_600_000_000_000UL); // an hour away
        kicker.Arm(clock.Nanoseconds + 1_000_000); // 1 ms away
        Assert.True(kicked.Wait(TimeSpan.FromSeconds(30)));
        Assert.Equal(1, kicker.Kicks);
    }

    [Fact]
    public void DeterministicClocksAreRefused()
    {
        var clock = new VirtualClock(() => 0UL, 0);
        Assert.Throws<ArgumentException>(() => new DeadlineKicker(clock, () => { }));
    }
}
