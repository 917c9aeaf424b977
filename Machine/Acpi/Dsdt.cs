using static Emulator.Machine.Acpi.Aml;

namespace Emulator.Machine.Acpi;

/// <summary>
/// The Differentiated System Description Table's AML: the \_S5 sleep package (so the guest can
/// power off through PM1_CNT) and the PCI root bridge with the ISA devices the board has. The
/// ASL equivalent is written next to each piece.
/// </summary>
public static class Dsdt
{
    /// <summary>The AML body (the table header is added by <see cref="AcpiTables"/>).</summary>
    /// <param name="lowRamEnd">End of RAM below 4 GiB; the PCI memory window starts there.</param>
    public static byte[] Build(ulong lowRamEnd)
    {
        uint pciHoleStart = (uint)Math.Min(lowRamEnd, Board.PcBoard.LowMemoryLimit);
        return
        [
            // Name (\_S5, Package (4) { SLP_TYP_a, SLP_TYP_b, 0, 0 }): ACPI 6.5 section 7.4.2.
            // S5 only: no \_S3 (suspend to RAM needs a firmware resume path through the FACS waking
            // vector, which direct kernel boot does not have) and no \_S4 (nothing here saves the
            // machine). Linux prints "ACPI: PM: (supports S0 S5)", as it does on QEMU's pc machine
            // with -global PIIX4_PM.disable_s3=1 -global PIIX4_PM.disable_s4=1.
            .. Name("\\_S5", Package(Integer(PlatformLayout.S5SleepType), Integer(PlatformLayout.S5SleepType), Integer(0), Integer(0))),
            .. Scope("\\_SB", PciRoot(pciHoleStart)),
        ];
    }

    /// <summary>Device (PCI0): the host bridge and what it decodes (PCI Firmware Spec 3.2, section 4.1.2).</summary>
    private static byte[] PciRoot(uint pciHoleStart) => Device(
        "PCI0",
        Name("_HID", EisaId("PNP0A03")),
        Name("_UID", Integer(0)),
        Name("_BBN", Integer(0)),
        Name("_CRS", Resources.Template(
            Resources.WordBusNumber(0x00, 0xFF),
            Resources.Io(0xCF8, 0xCF8, 1, 8), // the configuration ports the bridge itself uses
            Resources.WordIo(0x0000, 0x0CF7),
            Resources.WordIo(0x0D00, 0xFFFF),
            Resources.DWordMemory(cacheable: true, 0x000A_0000, 0x000B_FFFF), // legacy VGA window
            Resources.DWordMemory(cacheable: false, pciHoleStart, PlatformLayout.PciHoleEnd))),
        Device(
            "RTC",
            Name("_HID", EisaId("PNP0B00")),
            Name("_CRS", Resources.Template(Resources.Io(0x70, 0x70, 1, 2), Resources.IrqNoFlags(8)))),
        Device(
            "KBD",
            Name("_HID", EisaId("PNP0303")),
            Name("_CRS", Resources.Template(Resources.Io(0x60, 0x60, 1, 1), Resources.Io(0x64, 0x64, 1, 1), Resources.IrqNoFlags(1)))),
        Device(
            "MOU",
            Name("_HID", EisaId("PNP0F13")), // PS/2 mouse on the 8042's auxiliary port, as QEMU's DSDT has it
            Name("_CRS", Resources.Template(Resources.IrqNoFlags(12)))),
        Device(
            "COM1",
            Name("_HID", EisaId("PNP0501")),
            Name("_UID", Integer(1)),
            Name("_CRS", Resources.Template(Resources.Io(0x3F8, 0x3F8, 1, 8), Resources.IrqNoFlags(4)))),
        Device(
            "HPET",
            Name("_HID", EisaId("PNP0103")),
            Name("_UID", Integer(0)),
            Name("_CRS", Resources.Template(Resources.Memory32Fixed(writable: false, PlatformLayout.HpetBase, PlatformLayout.HpetLength)))));
}
