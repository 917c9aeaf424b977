using System.Diagnostics;

namespace Emulator.Devices.Time;

/// <summary>
/// The one clock every device and the CPU's time-stamp counter read (DESIGN.md, "Time"). By default
/// it follows host time; in deterministic mode (QEMU's -icount shift=N) it advances 2^N nanoseconds
/// per retired guest instruction, so the same guest with the same input runs the same way each time.
/// </summary>
public sealed class VirtualClock
{
    private readonly Func<ulong>? _instructions;
    private readonly long _start = Stopwatch.GetTimestamp();

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

    public bool Deterministic => _instructions is not null;

    public int Shift { get; }

    /// <summary>Virtual nanoseconds since the machine was built.</summary>
    public ulong Nanoseconds => _instructions is { } count
        ? count() << Shift
        : (ulong)((Stopwatch.GetTimestamp() - _start) * (1_000_000_000.0 / Stopwatch.Frequency));
}
