namespace Emulator.Devices.Rtc;

/// <summary>
/// Register indexes and bits of the Motorola MC146818A real-time clock (datasheet, "Address map"
/// and "Register A-D"), and the CMOS bytes a PC BIOS reads (IBM PC/AT Technical Reference, CMOS
/// RAM address map; the memory-size bytes above 16 MiB and 4 GiB as QEMU's and SeaBIOS's).
/// </summary>
public static class Mc146818Registers
{
    // Time, alarm and date registers (datasheet table 3).
    public const int Seconds = 0x00, SecondsAlarm = 0x01, Minutes = 0x02, MinutesAlarm = 0x03, Hours = 0x04, HoursAlarm = 0x05;
    public const int Weekday = 0x06, DayOfMonth = 0x07, Month = 0x08, Year = 0x09;
    public const int RegisterA = 0x0A, RegisterB = 0x0B, RegisterC = 0x0C, RegisterD = 0x0D;

    // Register A: UIP (bit 7), DV2-DV0 (6-4), RS3-RS0 (3-0).
    public const byte AUip = 0x80;
    public const byte ADividerMask = 0x70;

    /// <summary>DV = 010: the 32.768 kHz time base, divider running.</summary>
    public const byte ADivider32k = 0x20;

    public const byte ARateMask = 0x0F;

    // Register B: SET, PIE, AIE, UIE, SQWE, DM (1 = binary), 24/12 (1 = 24 h), DSE.
    public const byte BSet = 0x80, BPie = 0x40, BAie = 0x20, BUie = 0x10, BSqwe = 0x08, BBinary = 0x04, B24Hour = 0x02, BDse = 0x01;

    // Register C: IRQF, PF, AF, UF.
    public const byte CIrqf = 0x80, CPf = 0x40, CAf = 0x20, CUf = 0x10;

    /// <summary>Register D: VRT, valid RAM and time (the battery is good).</summary>
    public const byte DVrt = 0x80;

    /// <summary>Hours register, 12-hour mode: bit 7 set means PM.</summary>
    public const byte HourPm = 0x80;

    /// <summary>An alarm byte with both top bits set matches every value ("don't care", datasheet).</summary>
    public const byte AlarmDontCare = 0xC0;

    // CMOS bytes of the PC/AT map.
    public const int ShutdownStatus = 0x0F, FloppyTypes = 0x10, Equipment = 0x14;
    public const int BaseMemoryLow = 0x15, BaseMemoryHigh = 0x16, ExtendedMemoryLow = 0x17, ExtendedMemoryHigh = 0x18;
    public const int ChecksumHigh = 0x2E, ChecksumLow = 0x2F;
    public const int ExtendedMemoryLow2 = 0x30, ExtendedMemoryHigh2 = 0x31, Century = 0x32;
    public const int Memory16MLow = 0x34, Memory16MHigh = 0x35, MemoryAbove4G = 0x5B;

    /// <summary>The checksum covers 0x10-0x2D (PC/AT Technical Reference).</summary>
    public const int ChecksumFirst = 0x10, ChecksumLast = 0x2D;

    // Equipment byte bits: math coprocessor present, PS/2 mouse present (QEMU sets both).
    public const byte EquipmentFpu = 0x02, EquipmentMouse = 0x04;
}
