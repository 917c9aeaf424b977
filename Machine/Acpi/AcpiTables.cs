using System.Buffers.Binary;
using System.Text;
using Emulator.Mmu.Physical;

namespace Emulator.Machine.Acpi;

/// <summary>
/// Builds the ACPI tables of the board (ACPI 6.5 chapter 5) as one image placed in the BIOS area
/// at <see cref="TablesBase"/>: RSDP, FACS, DSDT, FADT, MADT, HPET, XSDT and RSDT, each with its
/// checksum. The RSDP comes first, on a 16-byte boundary of 0xE0000-0xFFFFF, where an OS that is
/// not told its address searches for it (section 5.2.5.1).
/// </summary>
public static class AcpiTables
{
    /// <summary>Where the image goes: the start of the BIOS area (reserved in the E820 map).</summary>
    public const uint TablesBase = 0xE0000;

    /// <summary>The space the image may use (0xE0000-0xEFFFF; the MP table goes above).</summary>
    public const int MaxSize = 0x10000;

    public const string OemId = "EMU   ";
    public const string OemTableId = "EMU-PC  ";
    public const uint OemRevision = 1;
    public const string CreatorId = "EMU ";
    public const uint CreatorRevision = 1;

    /// <summary>The size of the common System Description Table header (section 5.2.6).</summary>
    public const int HeaderSize = 36;

    /// <summary>The built image and where each table landed.</summary>
    public sealed record Image(byte[] Bytes, uint Base, IReadOnlyDictionary<string, uint> Addresses)
    {
        public uint RsdpAddress => Addresses["RSD PTR "];
    }

    /// <summary>Builds the tables and writes them into guest memory at <see cref="TablesBase"/>.</summary>
    public static Image Install(PhysicalMemory memory, ulong lowRamEnd)
    {
        var image = Build(lowRamEnd);
        memory.WriteBytes(image.Base, image.Bytes);
        return image;
    }

    public static Image Build(ulong lowRamEnd)
    {
        var layout = new Layout(TablesBase);
        uint rsdp = layout.Reserve("RSD PTR ", 36, 16);
        uint facs = layout.Add("FACS", Facs(), 64); // section 5.2.10: 64-byte aligned
        uint dsdt = layout.Add("DSDT", Table("DSDT", 2, Dsdt.Build(lowRamEnd)), 16);
        uint fadt = layout.Add("FACP", Fadt(facs, dsdt), 16);
        uint madt = layout.Add("APIC", Madt(), 16);
        uint hpet = layout.Add("HPET", Hpet(), 16);
        uint xsdt = layout.Add("XSDT", Table("XSDT", 1, Aml.Concat([Le(fadt, 8), Le(madt, 8), Le(hpet, 8)])), 16);
        uint rsdt = layout.Add("RSDT", Table("RSDT", 1, Aml.Concat([Le(fadt, 4), Le(madt, 4), Le(hpet, 4)])), 16);
        layout.Fill(rsdp, Rsdp(rsdt, xsdt));
        return new Image(layout.Bytes(), TablesBase, layout.Addresses);
    }

    /// <summary>A table: the common header (section 5.2.6) with the length and checksum filled in.</summary>
    public static byte[] Table(string signature, byte revision, byte[] body)
    {
        var table = new byte[HeaderSize + body.Length];
        Encoding.ASCII.GetBytes(signature, table);
        BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(4), (uint)table.Length);
        table[8] = revision;
        Encoding.ASCII.GetBytes(OemId, table.AsSpan(10));
        Encoding.ASCII.GetBytes(OemTableId, table.AsSpan(16));
        BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(24), OemRevision);
        Encoding.ASCII.GetBytes(CreatorId, table.AsSpan(28));
        BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(32), CreatorRevision);
        body.CopyTo(table, HeaderSize);
        table[9] = Checksum(table);
        return table;
    }

    /// <summary>The byte that makes <paramref name="bytes"/> sum to zero (mod 256), given its own slot holds 0.</summary>
    public static byte Checksum(ReadOnlySpan<byte> bytes)
    {
        byte sum = 0;
        foreach (byte b in bytes)
        {
            sum += b;
        }

        return (byte)-sum;
    }

    /// <summary>RSDP revision 2 (section 5.2.5.3): checksum over the first 20 bytes, extended checksum over all 36.</summary>
    private static byte[] Rsdp(uint rsdt, uint xsdt)
    {
        var r = new byte[36];
        Encoding.ASCII.GetBytes("RSD PTR ", r);
        Encoding.ASCII.GetBytes(OemId, r.AsSpan(9));
        r[15] = 2;
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(16), rsdt);
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(20), 36);
        BinaryPrimitives.WriteUInt64LittleEndian(r.AsSpan(24), xsdt);
        r[8] = Checksum(r.AsSpan(0, 20));
        r[32] = Checksum(r);
        return r;
    }

    /// <summary>The Firmware ACPI Control Structure (section 5.2.10): no checksum; version 2; no waking vector.</summary>
    private static byte[] Facs()
    {
        var f = new byte[64];
        Encoding.ASCII.GetBytes("FACS", f);
        BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(4), 64);
        f[32] = 2;
        return f;
    }

    // FADT flags (table 5.10).
    public const uint FadtWbinvd = 1u << 0;
    public const uint FadtProcC1 = 1u << 2;
    public const uint FadtSlpButton = 1u << 5;
    public const uint FadtResetRegSup = 1u << 10;

    // IA-PC boot architecture flags (table 5.11).
    public const ushort BootArchLegacyDevices = 1 << 0;
    public const ushort BootArch8042 = 1 << 1;

    // Generic Address Structure address spaces (table 5.1).
    public const byte SystemMemory = 0;
    public const byte SystemIo = 1;

    /// <summary>
    /// The Fixed ACPI Description Table, revision 6 (section 5.2.9, table 5.9; 276 bytes). SMI_CMD
    /// is 0: the hardware is always in ACPI mode, so the OS never asks firmware to switch. The DSDT
    /// and each register block are given twice, as a 32-bit field and as its X_ counterpart.
    /// </summary>
    private static byte[] Fadt(uint facs, uint dsdt)
    {
        // Offsets below are those of table 5.9, counted from the start of the table.
        var b = new byte[276 - HeaderSize];
        void U8(int offset, byte value) => b[offset - HeaderSize] = value;
        void U16(int offset, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(offset - HeaderSize), value);
        void U32(int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(offset - HeaderSize), value);
        void U64(int offset, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(offset - HeaderSize), value);
        void Gas(int offset, byte space, byte bitWidth, byte accessSize, ulong address)
        {
            U8(offset, space);
            U8(offset + 1, bitWidth);
            U8(offset + 2, 0); // bit offset
            U8(offset + 3, accessSize); // 1 byte, 2 word, 3 dword, 4 qword
            U64(offset + 4, address);
        }

        U32(36, facs); // FIRMWARE_CTRL
        U32(40, dsdt); // DSDT
        U8(45, 0); // Preferred_PM_Profile: unspecified
        U16(46, PlatformLayout.SciIrq); // SCI_INT
        U32(48, 0); // SMI_CMD: none, ACPI mode is always on
        U32(56, PlatformLayout.Pm1aEventBlock);
        U32(64, PlatformLayout.Pm1aControlBlock);
        U32(76, PlatformLayout.PmTimerBlock);
        U32(80, PlatformLayout.Gpe0Block);
        U8(88, PlatformLayout.Pm1EventLength);
        U8(89, PlatformLayout.Pm1ControlLength);
        U8(91, PlatformLayout.PmTimerLength);
        U8(92, PlatformLayout.Gpe0Length);
        U16(96, 0x0FFF); // P_LVL2_LAT > 100: C2 not supported
        U16(98, 0xFFFF); // P_LVL3_LAT > 1000: C3 not supported
        U8(108, 0x32); // CENTURY: the CMOS register holding the century
        U16(109, BootArchLegacyDevices | BootArch8042);
        U32(112, FadtWbinvd | FadtProcC1 | FadtSlpButton | FadtResetRegSup);
        Gas(116, SystemIo, 8, 1, PlatformLayout.ResetPort); // RESET_REG
        U8(128, PlatformLayout.ResetValue);
        U8(131, 0); // FADT minor version
        // X_FIRMWARE_CTRL stays 0: the FACS is below 4 GiB, and giving both makes an OS load it twice.
        U64(140, dsdt); // X_DSDT
        Gas(148, SystemIo, PlatformLayout.Pm1EventLength * 8, 2, PlatformLayout.Pm1aEventBlock);
        Gas(172, SystemIo, PlatformLayout.Pm1ControlLength * 8, 2, PlatformLayout.Pm1aControlBlock);
        Gas(208, SystemIo, PlatformLayout.PmTimerLength * 8, 3, PlatformLayout.PmTimerBlock);
        Gas(220, SystemIo, PlatformLayout.Gpe0Length * 8, 1, PlatformLayout.Gpe0Block);
        return Table("FACP", 6, b);
    }

    // MADT structure types (table 5.44) and flags.
    public const byte MadtLocalApic = 0;
    public const byte MadtIoApic = 1;
    public const byte MadtInterruptSourceOverride = 2;
    public const byte MadtLocalApicNmi = 4;
    public const uint MadtPcatCompat = 1;

    // MPS INTI flags (table 5.50): polarity bits 1-0, trigger mode bits 3-2.
    public const ushort IntiActiveHigh = 0b01;
    public const ushort IntiEdge = 0b01 << 2;
    public const ushort IntiLevel = 0b11 << 2;

    /// <summary>
    /// The Multiple APIC Description Table (section 5.2.12): the one local APIC, the I/O APIC with
    /// GSIs 0-23, ISA IRQ 0 routed to GSI 2 (the PIT, as on every PC with an I/O APIC), the SCI as
    /// level-triggered active-high, and LINT1 of every processor wired to NMI.
    /// </summary>
    private static byte[] Madt()
    {
        byte[] body =
        [
            .. Le(PlatformLayout.LocalApicBase, 4),
            .. Le(MadtPcatCompat, 4), // dual 8259s present
            MadtLocalApic, 8, 0, PlatformLayout.BootCpuApicId, .. Le(1, 4), // processor UID 0, enabled
            MadtIoApic, 12, PlatformLayout.IoApicId, 0, .. Le(PlatformLayout.IoApicBase, 4), .. Le(0, 4),
            MadtInterruptSourceOverride, 10, 0, 0, .. Le(2, 4), .. Le(IntiActiveHigh | IntiEdge, 2),
            MadtInterruptSourceOverride, 10, 0, PlatformLayout.SciIrq, .. Le(PlatformLayout.SciIrq, 4), .. Le(IntiActiveHigh | IntiLevel, 2),
            MadtLocalApicNmi, 6, 0xFF, .. Le(0, 2), 1, // all processors, conforming flags, LINT1
        ];
        return Table("APIC", 4, body);
    }

    /// <summary>The IA-PC HPET Description Table (IA-PC HPET specification 1.0a, section 3.2.4).</summary>
    private static byte[] Hpet()
    {
        byte[] body =
        [
            .. Le(PlatformLayout.HpetEventTimerBlockId, 4),
            SystemMemory, 64, 0, 0, .. Le(PlatformLayout.HpetBase, 8), // base address (GAS)
            0, // HPET number
            .. Le(100, 2), // main counter minimum clock tick in periodic mode
            0, // page protection: none
        ];
        return Table("HPET", 1, body);
    }

    private static byte[] Le(ulong value, int size)
    {
        var bytes = new byte[size];
        for (int k = 0; k < size; k++)
        {
            bytes[k] = (byte)(value >> (8 * k));
        }

        return bytes;
    }

    /// <summary>Places tables one after another at their alignment and remembers their addresses.</summary>
    private sealed class Layout(uint baseAddress)
    {
        private readonly List<byte> _bytes = [];

        public Dictionary<string, uint> Addresses { get; } = [];

        public uint Reserve(string name, int size, int alignment)
        {
            while (_bytes.Count % alignment != 0)
            {
                _bytes.Add(0);
            }

            uint at = baseAddress + (uint)_bytes.Count;
            _bytes.AddRange(new byte[size]);
            Addresses[name] = at;
            if (_bytes.Count > MaxSize)
            {
                throw new InvalidOperationException($"the ACPI tables outgrew their {MaxSize}-byte area");
            }

            return at;
        }

        public uint Add(string name, byte[] table, int alignment)
        {
            uint at = Reserve(name, table.Length, alignment);
            Fill(at, table);
            return at;
        }

        public void Fill(uint at, byte[] table)
        {
            for (int k = 0; k < table.Length; k++)
            {
                _bytes[(int)(at - baseAddress) + k] = table[k];
            }
        }

        public byte[] Bytes() => [.. _bytes];
    }
}
