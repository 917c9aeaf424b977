namespace Emulator.Mmu.Physical;

/// <summary>
/// One entry of the physical address map. RAM and ROM are backed by host memory (RAM by a slice of
/// <see cref="GuestRam"/>, ROM by a block of its own); MMIO dispatches to a device with the offset
/// relative to <see cref="Base"/>.
/// </summary>
public sealed unsafe class MemoryRegion
{
    internal MemoryRegion(string name, ulong @base, ulong size, RegionKind kind, byte* host, ulong ramOffset, IBusDevice? device)
    {
        Name = name;
        Base = @base;
        Size = size;
        Kind = kind;
        Host = host;
        RamOffset = ramOffset;
        Device = device;
    }

    public string Name { get; }

    public ulong Base { get; }

    public ulong Size { get; }

    public RegionKind Kind { get; }

    /// <summary>Host address of <see cref="Base"/> for RAM and ROM; null for MMIO.</summary>
    public byte* Host { get; }

    /// <summary>For RAM: the offset of <see cref="Base"/> inside guest RAM (indexes code-page tracking).</summary>
    public ulong RamOffset { get; }

    public IBusDevice? Device { get; }

    public ulong End => Base + Size;

    public override string ToString() => $"{Base:x16}-{End - 1:x16} {Kind,-4} {Name}";
}
