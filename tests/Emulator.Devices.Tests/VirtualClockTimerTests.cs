using Emulator.Devices.Time;
using Xunit;

namespace Emulator.Devices.Tests;

public class VirtualClockTimerTests
{
    [Fact]
    public void TimersFireInDeadlineOrderWithTiesInSchedulingOrder()
    {
        ulong now = 0;
        var clock = new VirtualClock(() => now);
        var fired = new List<string>();
        var a = clock.CreateTimer("a", t => fired.Add($"a@{t}"));
        var b = clock.CreateTimer("b", t => fired.Add($"b@{t}"));
        var c = clock.CreateTimer("c", t => fired.Add($"c@{t}"));
        c.Schedule(100);
        a.Schedule(100);
        b.Schedule(50);
        Assert.Equal(50UL, clock.NextDeadline);
        now = 99;
        Assert.Equal(1, clock.RunDue());
        now = 100;
        Assert.Equal(2, clock.RunDue());
        Assert.Equal(["b@50", "c@100", "a@100"], fired);
        Assert.Null(clock.NextDeadline);
    }

    [Fact]
    public void CancelAndRescheduleReplaceTheDeadline()
    {
        ulong now = 0;
        var clock = new VirtualClock(() => now);
        int fired = 0;
        var timer = clock.CreateTimer("t", _ => fired++);
        timer.Schedule(10);
        timer.Schedule(30);
        Assert.Equal(30UL, clock.NextDeadline);
        timer.Cancel();
        Assert.Null(clock.NextDeadline);
        Assert.False(timer.IsScheduled);
        timer.Schedule(20);
        now = 25;
        Assert.Equal(1, clock.RunDue());
        Assert.Equal(1, fired);
        now = 40;
        Assert.Equal(0, clock.RunDue());
    }

    [Fact]
    public void CallbacksMayRescheduleWithinOneRun()
    {
        ulong now = 0;
        var clock = new VirtualClock(() => now);
        var times = new List<ulong>();
        ClockTimer? timer = null;
        timer = clock.CreateTimer("periodic", t =>
        {
            times.Add(t);
            timer!.Schedule(t + 10);
        });
        timer.Schedule(10);
        now = 35;
        Assert.Equal(3, clock.RunDue());
        Assert.Equal([10UL, 20UL, 30UL], times);
        Assert.Equal(40UL, clock.NextDeadline);
    }
}
