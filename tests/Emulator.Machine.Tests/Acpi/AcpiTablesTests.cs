using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Emulator.Machine.Acpi;
using Xunit;

namespace Emulator.Machine.Tests.Acpi;

/// <summary>
/// Walks the table image the way an OS does (ACPI 6.5 chapter 5): find the RSDP, follow the XSDT
/// and RSDT, check every signature, length and checksum, then decode each table's fields.
/// </summary>
public class AcpiTablesTests
{
    private const ulong RamBytes = 128UL << 20;

    private static readonly AcpiTables.Image s_image = AcpiTables.Build(RamBytes);

    private static ReadOnlySpan<byte> At(uint address, int length) => s_image.Bytes.AsSpan((int)(address - s_image.Base), length);

    private static uint U32(uint address) => BinaryPrimitives.ReadUInt32LittleEndian(At(address, 4));

    private static ulong U64(uint address) => BinaryPrimitives.ReadUInt64LittleEndian(At(address, 8));

    private static byte Sum(ReadOnlySpan<byte> bytes)
    {
        byte sum = 0;
        foreach (byte b in bytes)
        {
            sum += b;
        }

        return sum;
    }

    /// <summary>Checks a table's header and returns its bytes.</summary>
    private static byte[] Table(uint address, string signature)
    {
        Assert.Equal(signature, Encoding.ASCII.GetString(At(address, 4)));
        int length = (int)U32(address + 4);
        byte[] table = At(address, length).ToArray();
        Assert.True(Sum(table) == 0, $"{signature} checksum");
        Assert.Equal("EMU   ", Encoding.ASCII.GetString(table, 10, 6));
        return table;
    }

    /// <summary>The tables the XSDT points to, by signature.</summary>
    private static Dictionary<string, uint> XsdtEntries()
    {
        uint rsdp = s_image.RsdpAddress;
        byte[] xsdt = Table((uint)U64(rsdp + 24), "XSDT");
        var entries = new Dictionary<string, uint>();
        for (int k = 36; k < xsdt.Length; k += 8)
        {
            uint address = (uint)BinaryPrimitives.ReadUInt64LittleEndian(xsdt.AsSpan(k));
            entries[Encoding.ASCII.GetString(At(address, 4))] = address;
        }

        return entries;
    }

    [Fact]
    public void RsdpIsARevision2PointerInTheBiosAreaWithBothChecksums()
    {
        uint rsdp = s_image.RsdpAddress;
        Assert.InRange(rsdp, 0xE0000u, 0xFFFFFu);
        Assert.Equal(0u, rsdp % 16);
        Assert.Equal("RSD PTR ", Encoding.ASCII.GetString(At(rsdp, 8)));
        Assert.Equal(0, Sum(At(rsdp, 20)));
        Assert.Equal(2, At(rsdp, 16)[15]);
        Assert.Equal(36u, U32(rsdp + 20));
        Assert.Equal(0, Sum(At(rsdp, 36)));
    }

    [Fact]
    public void XsdtAndRsdtListTheSameTables()
    {
        uint rsdp = s_image.RsdpAddress;
        byte[] rsdt = Table(U32(rsdp + 16), "RSDT");
        var fromRsdt = new List<uint>();
        for (int k = 36; k < rsdt.Length; k += 4)
        {
            fromRsdt.Add(BinaryPrimitives.ReadUInt32LittleEndian(rsdt.AsSpan(k)));
        }

        var entries = XsdtEntries();
        Assert.Equal(["APIC", "FACP", "HPET"], entries.Keys.Order());
        Assert.Equal(entries.Values.Order(), fromRsdt.Order());
        foreach (var (signature, address) in entries)
        {
            Table(address, signature);
        }
    }

    [Fact]
    public void FadtDescribesThePmBlocksResetRegisterAndTheDsdt()
    {
        byte[] f = Table(XsdtEntries()["FACP"], "FACP");
        Assert.Equal(276, f.Length);
        Assert.Equal(6, f[8]);
        uint dsdt = BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(40));
        Assert.Equal(dsdt, BinaryPrimitives.ReadUInt64LittleEndian(f.AsSpan(140)));
        Table(dsdt, "DSDT");
        uint facs = BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(36));
        Assert.Equal("FACS", Encoding.ASCII.GetString(At(facs, 4)));
        Assert.Equal(0u, facs % 64);
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(f.AsSpan(132))); // X_FIRMWARE_CTRL unused

        Assert.Equal(9, BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan(46))); // SCI_INT
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(48))); // SMI_CMD
        Assert.Equal(0x600u, BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(56)));
        Assert.Equal(0x604u, BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(64)));
        Assert.Equal(0x608u, BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(76)));
        Assert.Equal(0x620u, BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(80)));
        Assert.Equal([4, 2, 0, 4, 4], f[88..93]); // PM1_EVT_LEN, PM1_CNT_LEN, PM2_CNT_LEN, PM_TMR_LEN, GPE0_BLK_LEN
        Assert.Equal(0b11, BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan(109))); // legacy devices, 8042
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(112));
        Assert.Equal((1u << 0) | (1u << 2) | (1u << 5) | (1u << 10), flags);
        // RESET_REG: system I/O, 8 bits, byte access, port 0xCF9; RESET_VALUE 6.
        Assert.Equal([1, 8, 0, 1], f[116..120]);
        Assert.Equal(0xCF9UL, BinaryPrimitives.ReadUInt64LittleEndian(f.AsSpan(120)));
        Assert.Equal(6, f[128]);
        // X_PM1a_EVT_BLK, X_PM1a_CNT_BLK, X_PM_TMR_BLK, X_GPE0_BLK: I/O space, width = length * 8.
        foreach (var (offset, port, bits) in new[] { (148, 0x600, 32), (172, 0x604, 16), (208, 0x608, 32), (220, 0x620, 32) })
        {
            Assert.Equal(1, f[offset]);
            Assert.Equal(bits, f[offset + 1]);
            Assert.Equal((ulong)port, BinaryPrimitives.ReadUInt64LittleEndian(f.AsSpan(offset + 4)));
        }
    }

    [Fact]
    public void MadtListsTheCpuIoApicOverridesAndNmi()
    {
        byte[] m = Table(XsdtEntries()["APIC"], "APIC");
        Assert.Equal(0xFEE00000u, BinaryPrimitives.ReadUInt32LittleEndian(m.AsSpan(36)));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(m.AsSpan(40)));
        var entries = new List<byte[]>();
        for (int k = 44; k < m.Length; k += m[k + 1])
        {
            Assert.True(m[k + 1] >= 2, "MADT entry length");
            entries.Add(m[k..(k + m[k + 1])]);
        }

        Assert.Equal(44 + entries.Sum(e => e.Length), m.Length);
        var cpu = Assert.Single(entries, e => e[0] == 0);
        Assert.Equal([0, 8, 0, 0, 1, 0, 0, 0], cpu);
        var ioapic = Assert.Single(entries, e => e[0] == 1);
        Assert.Equal(1, ioapic[2]);
        Assert.Equal(0xFEC00000u, BinaryPrimitives.ReadUInt32LittleEndian(ioapic.AsSpan(4)));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(ioapic.AsSpan(8)));
        var overrides = entries.Where(e => e[0] == 2).Select(e => (Irq: e[3], Gsi: BinaryPrimitives.ReadUInt32LittleEndian(e.AsSpan(4)), Flags: BinaryPrimitives.ReadUInt16LittleEndian(e.AsSpan(8)))).ToList();
        Assert.Equal([(0, 2u, 0b0101), (9, 9u, 0b1101)], overrides.Select(o => ((int)o.Irq, o.Gsi, (int)o.Flags)));
        var nmi = Assert.Single(entries, e => e[0] == 4);
        Assert.Equal(0xFF, nmi[2]);
        Assert.Equal(1, nmi[5]); // LINT1
    }

    [Fact]
    public void HpetTableGivesTheBlockIdAndBase()
    {
        byte[] h = Table(XsdtEntries()["HPET"], "HPET");
        Assert.Equal(56, h.Length);
        Assert.Equal(0x8086A201u, BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(36)));
        Assert.Equal(0, h[40]); // system memory
        Assert.Equal(0xFED00000UL, BinaryPrimitives.ReadUInt64LittleEndian(h.AsSpan(44)));
        Assert.Equal(100, BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(53)));
        Assert.Equal(0, h[55]);
    }

    private static AmlReader Dsdt()
    {
        byte[] f = Table(XsdtEntries()["FACP"], "FACP");
        byte[] dsdt = Table((uint)BinaryPrimitives.ReadUInt64LittleEndian(f.AsSpan(140)), "DSDT");
        return AmlReader.Read(dsdt[36..]);
    }

    [Fact]
    public void DsdtHasTheS5PackageAndTheDevices()
    {
        var aml = Dsdt();
        Assert.Equal(new object[] { 0UL, 0UL, 0UL, 0UL }, (object[])aml.Names["\\_S5_"]);
        Assert.Equal(["\\_SB_.PCI0", "\\_SB_.PCI0.RTC_", "\\_SB_.PCI0.KBD_", "\\_SB_.PCI0.MOU_", "\\_SB_.PCI0.COM1", "\\_SB_.PCI0.HPET"], aml.Devices);
        Assert.Equal(0x030AD041UL, aml.Names["\\_SB_.PCI0._HID"]); // EISAID ("PNP0A03")
        Assert.Equal(0UL, aml.Names["\\_SB_.PCI0._BBN"]);
        Assert.Equal(0x000BD041UL, aml.Names["\\_SB_.PCI0.RTC_._HID"]); // PNP0B00
        Assert.Equal(0x0303D041UL, aml.Names["\\_SB_.PCI0.KBD_._HID"]); // PNP0303
        Assert.Equal(0x130FD041UL, aml.Names["\\_SB_.PCI0.MOU_._HID"]); // PNP0F13
        Assert.Equal(0x0105D041UL, aml.Names["\\_SB_.PCI0.COM1._HID"]); // PNP0501
        Assert.Equal(0x0301D041UL, aml.Names["\\_SB_.PCI0.HPET._HID"]); // PNP0103
    }

    /// <summary>Decodes a _CRS buffer into "kind min-max" lines (ACPI 6.5 section 6.4).</summary>
    private static List<string> Crs(AmlReader aml, string device)
    {
        byte[] b = (byte[])aml.Names[device + "._CRS"];
        var list = new List<string>();
        int k = 0;
        while (true)
        {
            byte tag = b[k];
            if ((tag & 0x80) == 0)
            {
                int length = tag & 7;
                switch (tag >> 3)
                {
                    case 0x04: list.Add($"irq mask 0x{BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(k + 1)):x}"); break;
                    case 0x08: list.Add($"io 0x{BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(k + 2)):x}-0x{BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(k + 4)):x} len {b[k + 7]}"); break;
                    case 0x0F:
                        Assert.Equal(k + 2, b.Length);
                        return list;
                    default: throw new InvalidDataException($"small tag 0x{tag:x2}");
                }

                k += 1 + length;
            }
            else
            {
                int length = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(k + 1));
                var body = b.AsSpan(k + 3, length);
                switch (tag)
                {
                    case 0x86: list.Add($"mem32fixed 0x{BinaryPrimitives.ReadUInt32LittleEndian(body[1..]):x} len 0x{BinaryPrimitives.ReadUInt32LittleEndian(body[5..]):x}"); break;
                    case 0x87: list.Add($"dword type {body[0]} 0x{BinaryPrimitives.ReadUInt32LittleEndian(body[7..]):x}-0x{BinaryPrimitives.ReadUInt32LittleEndian(body[11..]):x} len 0x{BinaryPrimitives.ReadUInt32LittleEndian(body[19..]):x}"); break;
                    case 0x88: list.Add($"word type {body[0]} 0x{BinaryPrimitives.ReadUInt16LittleEndian(body[5..]):x}-0x{BinaryPrimitives.ReadUInt16LittleEndian(body[7..]):x} len 0x{BinaryPrimitives.ReadUInt16LittleEndian(body[11..]):x}"); break;
                    default: throw new InvalidDataException($"large tag 0x{tag:x2}");
                }

                k += 3 + length;
            }
        }
    }

    [Fact]
    public void PciRootDecodesBusZeroTheIoRangesAndTheMemoryHoles()
    {
        Assert.Equal(
            [
                "word type 2 0x0-0xff len 0x100",
                "io 0xcf8-0xcf8 len 8",
                "word type 1 0x0-0xcf7 len 0xcf8",
                "word type 1 0xd00-0xffff len 0xf300",
                "dword type 0 0xa0000-0xbffff len 0x20000",
                "dword type 0 0x8000000-0xfebfffff len 0xf6c00000",
            ],
            Crs(Dsdt(), "\\_SB_.PCI0"));
    }

    [Fact]
    public void IsaDevicesClaimTheirPortsIrqsAndMemory()
    {
        var aml = Dsdt();
        Assert.Equal(["io 0x70-0x70 len 2", "irq mask 0x100"], Crs(aml, "\\_SB_.PCI0.RTC_"));
        Assert.Equal(["io 0x60-0x60 len 1", "io 0x64-0x64 len 1", "irq mask 0x2"], Crs(aml, "\\_SB_.PCI0.KBD_"));
        Assert.Equal(["io 0x3f8-0x3f8 len 8", "irq mask 0x10"], Crs(aml, "\\_SB_.PCI0.COM1"));
        Assert.Equal(["mem32fixed 0xfed00000 len 0x400"], Crs(aml, "\\_SB_.PCI0.HPET"));
    }

    [Fact]
    public void PciMemoryWindowStartsAtTheEndOfLowRam()
    {
        var image = AcpiTables.Build(3UL << 30);
        uint fadt = image.Addresses["FACP"];
        uint dsdt = BinaryPrimitives.ReadUInt32LittleEndian(image.Bytes.AsSpan((int)(fadt - image.Base + 40)));
        int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(image.Bytes.AsSpan((int)(dsdt - image.Base + 4)));
        var aml = AmlReader.Read(image.Bytes[(int)(dsdt - image.Base + 36)..(int)(dsdt - image.Base + length)]);
        Assert.Contains("dword type 0 0xc0000000-0xfebfffff len 0x3ec00000", Crs(aml, "\\_SB_.PCI0"));
    }

    [RequiresIaslFact]
    public void IaslDisassemblesEveryTableWithoutErrors()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"emu-acpi-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var entries = XsdtEntries();
            uint dsdtAddress = BinaryPrimitives.ReadUInt32LittleEndian(Table(entries["FACP"], "FACP").AsSpan(40));
            entries["DSDT"] = dsdtAddress;
            foreach (var (signature, address) in entries)
            {
                File.WriteAllBytes(Path.Combine(dir, signature.ToLowerInvariant() + ".dat"), Table(address, signature));
            }

            foreach (string signature in entries.Keys)
            {
                string name = signature.ToLowerInvariant();
                var (status, output) = Run(dir, "-d", name + ".dat");
                Assert.True(status == 0, $"iasl -d {name}.dat exited {status}:\n{output}");
                string dsl = File.ReadAllText(Path.Combine(dir, name + ".dsl"));
                Assert.DoesNotContain("**** Unknown", dsl, StringComparison.Ordinal);
            }

            // The disassembled DSDT says, in ASL, what the tables are meant to contain.
            string dsdt = File.ReadAllText(Path.Combine(dir, "dsdt.dsl"));
            foreach (string expected in new[] { "Name (\\_S5, Package (0x04)", "Device (PCI0)", "EisaId (\"PNP0A03\")", "EisaId (\"PNP0B00\")", "EisaId (\"PNP0303\")", "EisaId (\"PNP0501\")", "EisaId (\"PNP0103\")", "WordBusNumber (ResourceProducer", "Memory32Fixed (ReadOnly", "0xFED00000" })
            {
                Assert.Contains(expected, dsdt, StringComparison.Ordinal);
            }

            // And the ASL compiles back without errors.
            var (compiled, compileOutput) = Run(dir, "-p", "recompiled", "dsdt.dsl");
            Assert.True(compiled == 0, $"iasl dsdt.dsl exited {compiled}:\n{compileOutput}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static (int Status, string Output) Run(string dir, params string[] args)
    {
        var info = new ProcessStartInfo(RequiresIaslFactAttribute.IaslPath) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.Result);
    }
}
