using Emulator.Devices.Time;

namespace Emulator.Machine;

/// <summary>
/// A host thread that ends the vCPU's current slice when the earliest timer deadline falls due, so
/// device timers (the HPET tick, the APIC timer) fire on time however long a slice would run; the
/// run loop fires them between slices (<see cref="VirtualClock.RunDue"/>). QEMU's TCG does the same
/// with its timer thread kicking the vCPU (<c>qemu_cpu_kick</c>). Host time only: under
/// <c>--icount</c> the run loop bounds each slice by instruction count instead, and a host thread
/// must never decide where a deterministic run stops.
/// </summary>
public sealed class DeadlineKicker : IDisposable
{
    private const long None = long.MaxValue;

    private readonly VirtualClock _clock;
    private readonly Action _kick;
    private readonly AutoResetEvent _changed = new(false);
    private readonly Thread _thread;
    private long _deadline = None;
    private volatile bool _disposed;

    /// <param name="clock">A host-time clock (its <see cref="VirtualClock.Nanoseconds"/> is thread-safe).</param>
    /// <param name="kick">Ends the current slice (<c>X86Cpu.RequestStop</c>); called on the kicker's thread.</param>
    public DeadlineKicker(VirtualClock clock, Action kick)
    {
        if (clock.Deterministic)
        {
            throw new ArgumentException("the deadline kicker runs on host time only", nameof(clock));
        }

        _clock = clock;
        _kick = kick;
        _thread = new Thread(Loop) { IsBackground = true, Name = "emu deadline kicker" };
        _thread.Start();
    }

    /// <summary>Kicks counted so far (for statistics and tests).</summary>
    public long Kicks => Interlocked.Read(ref _kicks);

    private long _kicks;

    /// <summary>vCPU thread, before a slice: the slice must end by <paramref name="deadline"/> (virtual ns), or never when null.</summary>
    public void Arm(ulong? deadline)
    {
        long d = deadline is { } v ? (long)Math.Min(v, (ulong)(None - 1)) : None;
        long old = Interlocked.Exchange(ref _deadline, d);
        if (d < old)
        {
            _changed.Set(); // the kicker sleeps towards a later deadline (or none): wake it to look again
        }
    }

    private void Loop()
    {
        while (!_disposed)
        {
            long d = Volatile.Read(ref _deadline);
            if (d == None)
            {
                _changed.WaitOne();
                continue;
            }

            long now = (long)_clock.Nanoseconds;
            if (d > now)
            {
                // Whole milliseconds, rounded up: a kick a fraction of a millisecond late costs nothing.
                _changed.WaitOne((int)Math.Min(((d - now) / 1_000_000) + 1, 1000));
                continue;
            }

            if (Interlocked.CompareExchange(ref _deadline, None, d) == d)
            {
                Interlocked.Increment(ref _kicks);
                _kick();
            }
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _changed.Set();
        _thread.Join();
        _changed.Dispose();
    }
}
