namespace Emulator.Devices.Interrupts;

/// <summary>
/// One interrupt wire from a device to an interrupt controller. The device raises and lowers it;
/// <c>Machine</c> decides where it leads by setting <see cref="Sink"/> (DESIGN.md: "interrupt
/// lines are objects wired by Machine"). Safe to drive from any thread.
/// </summary>
public sealed class InterruptLine
{
    private int _level;

    public InterruptLine(string name)
    {
        Name = name;
    }

    public string Name { get; }

    /// <summary>Called with the new level whenever it changes. Unwired lines go nowhere.</summary>
    public Action<bool>? Sink { get; set; }

    public bool IsRaised => Volatile.Read(ref _level) != 0;

    public void Raise() => Set(true);

    public void Lower() => Set(false);

    /// <summary>A raise followed by a lower, as an edge-triggered source signals.</summary>
    public void Pulse()
    {
        Set(true);
        Set(false);
    }

    public void Set(bool level)
    {
        int value = level ? 1 : 0;
        if (Interlocked.Exchange(ref _level, value) != value)
        {
            Sink?.Invoke(level);
        }
    }
}
