namespace Emulator.Devices.Time;

/// <summary>
/// A timer event on the <see cref="VirtualClock"/>: at most one pending deadline, in virtual
/// nanoseconds. Scheduling again moves the deadline; <see cref="Cancel"/> drops it. vCPU thread only.
/// </summary>
public sealed class ClockTimer
{
    private readonly VirtualClock _clock;
    private readonly Action<ulong> _callback;

    internal ClockTimer(VirtualClock clock, string name, Action<ulong> callback)
    {
        _clock = clock;
        Name = name;
        _callback = callback;
    }

    public string Name { get; }

    public bool IsScheduled => Sequence != 0;

    /// <summary>The pending deadline (meaningful only while <see cref="IsScheduled"/>).</summary>
    public ulong Deadline { get; private set; }

    // 0 when not scheduled; otherwise the sequence number of the live queue entry.
    internal long Sequence { get; private set; }

    /// <summary>Fires the callback once the clock reaches <paramref name="deadline"/> (replacing any earlier deadline).</summary>
    public void Schedule(ulong deadline)
    {
        Deadline = deadline;
        Sequence = _clock.Enqueue(this, deadline);
    }

    public void Cancel() => Sequence = 0;

    internal void Fire()
    {
        Sequence = 0;
        _callback(Deadline);
    }
}
