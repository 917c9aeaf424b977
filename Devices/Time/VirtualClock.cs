using System.Diagnostics;

namespace Emulator.Devices.Time;

/// <summary>
/// The one clock every device and the CPU's time-stamp counter read (DESIGN.md, "Time"). By default
/// it follows host time; in deterministic mode (QEMU's -icount shift=N) it advances 2^N nanoseconds
/// per retired guest instruction, so the same guest with the same input runs the same way each time.
/// Tests give it a manual time source instead.
/// </summary>
/// <remarks>
/// The clock also keeps the timer events (QEMU's QEMUTimer on QEMU_CLOCK_VIRTUAL): a device creates a
/// <see cref="ClockTimer"/>, schedules it at a virtual-nanosecond deadline, and the run loop calls
/// <see cref="RunDue"/> between slices, bounding each slice by <see cref="NextDeadline"/>. Timers fire
/// in deadline order, ties in the order they were scheduled, so a deterministic clock gives the same
/// sequence of callbacks every run. Timers are single-threaded: schedule, cancel and run them only on
/// the vCPU thread (device port handlers run there too).
/// </remarks>
public sealed class VirtualClock
{
    private readonly Func<ulong>? _instructions;
    private readonly Func<ulong>? _manual;
    private readonly long _start = Stopwatch.GetTimestamp();
    private ulong _warped;
    private readonly PriorityQueue<(ClockTimer Timer, long Sequence), (ulong Deadline, long Sequence)> _queue = new();
    private long _sequence;

    /// <summary>A clock that follows the host.</summary>
    public VirtualClock()
    {
    }

    /// <summary>A deterministic clock: <paramref name="instructionsRetired"/> &lt;&lt; <paramref name="shift"/> nanoseconds.</summary>
    public VirtualClock(Func<ulong> instructionsRetired, int shift)
    {
        if (shift is < 0 or > 10)
        {
            throw new ArgumentOutOfRangeException(nameof(shift), "icount shift must be 0..10");
        }

        _instructions = instructionsRetired;
        Shift = shift;
    }

    /// <summary>A deterministic clock that reads virtual nanoseconds from <paramref name="nanoseconds"/> (tests step it by hand).</summary>
    public VirtualClock(Func<ulong> nanoseconds)
    {
        _manual = nanoseconds;
    }

    public bool Deterministic => _instructions is not null || _manual is not null;

    public int Shift { get; }

    /// <summary>Virtual nanoseconds since the machine was built.</summary>
    public ulong Nanoseconds => _manual is { } manual
        ? manual()
        : _instructions is { } count
            ? (count() << Shift) + _warped
            : (ulong)((Stopwatch.GetTimestamp() - _start) * (1_000_000_000.0 / Stopwatch.Frequency));

    /// <summary>
    /// Deterministic (icount) mode only: a halted CPU retires no instructions, so the run loop moves
    /// time forward to <paramref name="nanoseconds"/> (the next timer deadline), as QEMU's icount
    /// does when all vCPUs sleep. Never moves time backwards.
    /// </summary>
    public void WarpTo(ulong nanoseconds)
    {
        if (_instructions is not null && nanoseconds > Nanoseconds)
        {
            _warped += nanoseconds - Nanoseconds;
        }
    }

    /// <summary>The earliest deadline of a scheduled timer, or null when none is scheduled.</summary>
    public ulong? NextDeadline
    {
        get
        {
            DropStale();
            return _queue.TryPeek(out _, out var priority) ? priority.Deadline : null;
        }
    }

    /// <summary>A timer that calls <paramref name="callback"/> with its deadline when it fires.</summary>
    public ClockTimer CreateTimer(string name, Action<ulong> callback) => new(this, name, callback);

    /// <summary>
    /// Fires every timer whose deadline is at or before the current time, earliest first (ties in
    /// scheduling order). A callback may reschedule its own or other timers; those fire in this call
    /// too when already due. Returns how many callbacks ran.
    /// </summary>
    public int RunDue()
    {
        ulong now = Nanoseconds;
        int fired = 0;
        while (true)
        {
            DropStale();
            if (!_queue.TryPeek(out var entry, out var priority) || priority.Deadline > now)
            {
                return fired;
            }

            _queue.Dequeue();
            entry.Timer.Fire();
            fired++;
        }
    }

    internal long Enqueue(ClockTimer timer, ulong deadline)
    {
        long sequence = ++_sequence;
        _queue.Enqueue((timer, sequence), (deadline, sequence));
        return sequence;
    }

    // Cancelled and rescheduled timers leave their old entry behind; it is recognised by a sequence
    // number that no longer matches the timer's, and dropped here.
    private void DropStale()
    {
        while (_queue.TryPeek(out var entry, out _) && entry.Timer.Sequence != entry.Sequence)
        {
            _queue.Dequeue();
        }
    }
}
