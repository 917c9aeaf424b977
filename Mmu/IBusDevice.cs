namespace Emulator.Mmu;

/// <summary>
/// The one device contract of DESIGN.md: reads and writes relative to the device's own range.
/// The same contract serves I/O ports and MMIO; the bus that maps the device computes the offset.
/// </summary>
public interface IBusDevice
{
    /// <summary>A short name for maps and traces ("uart16550", "debugcon").</summary>
    string Name { get; }

    /// <summary>Reads <paramref name="size"/> bytes (1, 2, 4 or 8) at <paramref name="offset"/>.</summary>
    ulong Read(ulong offset, int size);

    /// <summary>Writes the low <paramref name="size"/> bytes of <paramref name="value"/>.</summary>
    void Write(ulong offset, int size, ulong value);

    /// <summary>Returns the device to its power-on state.</summary>
    void Reset();
}
