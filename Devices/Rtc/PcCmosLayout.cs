using static Emulator.Devices.Rtc.Mc146818Registers;

namespace Emulator.Devices.Rtc;

/// <summary>
/// The CMOS bytes a PC BIOS reads at boot, filled in by the board from the machine's RAM size (the
/// IBM PC/AT Technical Reference map for 0x10-0x31; 0x34-0x35 and 0x5B-0x5D as QEMU's pc_cmos_init
/// and SeaBIOS read them).
/// </summary>
public static class PcCmosLayout
{
    /// <param name="ramBelow4G">RAM mapped from address 0 up to the PCI hole.</param>
    /// <param name="ramAbove4G">RAM mapped from 4 GiB up.</param>
    /// <param name="mouse">Whether the 8042's aux port has a PS/2 mouse.</param>
    public static void Apply(Mc146818Rtc rtc, ulong ramBelow4G, ulong ramAbove4G, bool mouse)
    {
        rtc.SetCmos(FloppyTypes, 0); // no floppy drives
        rtc.SetCmos(Equipment, (byte)(EquipmentFpu | (mouse ? EquipmentMouse : 0)));

        // Base memory in KiB: always 640.
        SetWord(rtc, BaseMemoryLow, 640);

        // Extended memory (above 1 MiB) in KiB, at most 0xFFFF (just under 64 MiB), in both places.
        ulong extendedKiB = Math.Min(ramBelow4G > (1UL << 20) ? (ramBelow4G - (1UL << 20)) >> 10 : 0, 0xFFFF);
        SetWord(rtc, ExtendedMemoryLow, (ushort)extendedKiB);
        SetWord(rtc, ExtendedMemoryLow2, (ushort)extendedKiB);

        // Memory above 16 MiB and below 4 GiB in 64 KiB units, at most 0xFFFF.
        ulong above16M = Math.Min(ramBelow4G > (16UL << 20) ? (ramBelow4G - (16UL << 20)) >> 16 : 0, 0xFFFF);
        SetWord(rtc, Memory16MLow, (ushort)above16M);

        // Memory above 4 GiB in 64 KiB units, three bytes.
        ulong high = Math.Min(ramAbove4G >> 16, 0xFF_FFFF);
        rtc.SetCmos(MemoryAbove4G, (byte)high);
        rtc.SetCmos(MemoryAbove4G + 1, (byte)(high >> 8));
        rtc.SetCmos(MemoryAbove4G + 2, (byte)(high >> 16));

        rtc.UpdateChecksum();
    }

    private static void SetWord(Mc146818Rtc rtc, int low, ushort value)
    {
        rtc.SetCmos(low, (byte)value);
        rtc.SetCmos(low + 1, (byte)(value >> 8));
    }
}
