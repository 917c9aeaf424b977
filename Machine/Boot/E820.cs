using Emulator.Mmu.Physical;

namespace Emulator.Machine.Boot;

/// <summary>
/// The BIOS memory map (ACPI 6.5 section 15, "System Address Map Interfaces"): usable RAM, with
/// the EBDA corner below 640 KiB and the BIOS area below 1 MiB reserved, as a PC firmware reports.
/// The BIOS area 0xE0000-0xFFFFF holds the ACPI tables and the MP table for kernel boots.
/// </summary>
public static class E820
{
    public enum EntryType
    {
        Ram = 1,
        Reserved = 2,
        Acpi = 3,
        Nvs = 4,
    }

    public readonly record struct Entry(ulong Base, ulong Length, EntryType Type);

    public const ulong LowRamEnd = 0x9FC00;

    /// <summary>The BIOS area, reserved: 0xE0000 up to 1 MiB.</summary>
    public const ulong BiosAreaStart = 0xE0000;

    public static List<Entry> Build(PhysicalMemory memory)
    {
        var map = new List<Entry>
        {
            new(0, LowRamEnd, EntryType.Ram),
            new(LowRamEnd, 0xA0000 - LowRamEnd, EntryType.Reserved),
            new(BiosAreaStart, 0x100000 - BiosAreaStart, EntryType.Reserved),
        };
        foreach (var region in memory.Regions)
        {
            if (region.Kind == RegionKind.Ram && region.End > 0x100000)
            {
                ulong start = Math.Max(region.Base, 0x100000);
                map.Add(new Entry(start, region.End - start, EntryType.Ram));
            }
        }

        return map;
    }
}
