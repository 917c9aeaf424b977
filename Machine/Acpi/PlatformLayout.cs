namespace Emulator.Machine.Acpi;

/// <summary>
/// Where the board's interrupt controllers, timers and power-management registers sit: the one
/// list the firmware tables describe (they must match the devices the board maps). The values
/// are the classic PC/Q35-less layout QEMU's "pc" machine also uses.
/// </summary>
public static class PlatformLayout
{
    public const uint LocalApicBase = 0xFEE0_0000;
    public const byte BootCpuApicId = 0;

    public const uint IoApicBase = 0xFEC0_0000;
    public const byte IoApicId = 1;
    public const int IoApicPins = 24;

    public const uint HpetBase = 0xFED0_0000;
    public const uint HpetLength = 0x400;

    /// <summary>HPET capabilities ID as the HPET table reports it (vendor 8086, 3 comparators, 64-bit counter, legacy route capable).</summary>
    public const uint HpetEventTimerBlockId = 0x8086_A201;

    /// <summary>ACPI fixed-hardware register blocks (ACPI 6.5 section 4.8), in I/O space.</summary>
    public const ushort Pm1aEventBlock = 0x600;
    public const byte Pm1EventLength = 4;
    public const ushort Pm1aControlBlock = 0x604;
    public const byte Pm1ControlLength = 2;
    public const ushort PmTimerBlock = 0x608;
    public const byte PmTimerLength = 4;
    public const ushort Gpe0Block = 0x620;
    public const byte Gpe0Length = 4;

    /// <summary>The SCI is ISA IRQ 9, level-triggered active-high (GSI 9 on the I/O APIC).</summary>
    public const byte SciIrq = 9;

    /// <summary>The reset register (PIIX/ICH "reset control", port 0xCF9): writing 0x06 resets the machine.</summary>
    public const ushort ResetPort = 0xCF9;
    public const byte ResetValue = 0x06;

    /// <summary>Sleep type for S5 (soft off) written to PM1_CNT.SLP_TYP with SLP_EN.</summary>
    public const byte S5SleepType = 0;

    /// <summary>The top of the PCI hole below 4 GiB: memory windows end below the I/O APIC.</summary>
    public const uint PciHoleEnd = 0xFEBF_FFFF;
}
