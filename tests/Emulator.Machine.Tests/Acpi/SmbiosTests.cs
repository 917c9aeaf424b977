using System.Buffers.Binary;
using System.Text;
using Emulator.Machine.Acpi;
using Emulator.Mmu.Physical;
using Xunit;

namespace Emulator.Machine.Tests.Acpi;

/// <summary>
/// The SMBIOS tables as an OS finds and reads them: Linux's dmi_scan.c searches 0xF0000-0xFFFFF on
/// 16-byte boundaries for "_SM_", checks both checksums, then walks the structure table
/// (DMTF DSP0134 5.2.1 and chapter 7).
/// </summary>
public class SmbiosTests
{
    private sealed record Structure(byte Type, ushort Handle, byte[] Formatted, List<string> Strings)
    {
        /// <summary>String number <paramref name="index"/> (1-based), or null for 0.</summary>
        public string? String(int index) => index == 0 ? null : Strings[index - 1];
    }

    private static byte Sum(ReadOnlySpan<byte> bytes)
    {
        byte sum = 0;
        foreach (byte b in bytes)
        {
            sum += b;
        }

        return sum;
    }

    /// <summary>Installs the tables for 128 MiB below and 64 MiB above 4 GiB, then scans for them as Linux does.</summary>
    private static (byte[] Entry, List<Structure> Structures) FindInGuestMemory()
    {
        using var ram = new GuestRam(0x0C00_0000);
        using var memory = new PhysicalMemory(ram);
        memory.MapRam("low", 0, 0, 0x0800_0000);
        memory.MapRam("high", 0x1_0000_0000, 0x0800_0000, 0x0400_0000);
        Smbios.Install(memory, 0x206C1, 0x1234);

        var area = new byte[0x10000];
        memory.ReadBytes(0xF0000, area);
        for (int offset = 0; offset < area.Length; offset += 16)
        {
            if (Encoding.ASCII.GetString(area, offset, 4) != "_SM_")
            {
                continue;
            }

            byte[] entry = area[offset..(offset + area[offset + 5])];
            ushort length = BinaryPrimitives.ReadUInt16LittleEndian(entry.AsSpan(22));
            uint address = BinaryPrimitives.ReadUInt32LittleEndian(entry.AsSpan(24));
            var table = new byte[length];
            memory.ReadBytes(address, table);
            return (entry, Parse(table));
        }

        throw new Xunit.Sdk.XunitException("no _SM_ anchor in 0xF0000-0xFFFFF");
    }

    private static List<Structure> Parse(byte[] table)
    {
        var list = new List<Structure>();
        int k = 0;
        while (k < table.Length)
        {
            byte type = table[k], length = table[k + 1];
            ushort handle = BinaryPrimitives.ReadUInt16LittleEndian(table.AsSpan(k + 2));
            byte[] formatted = table[(k + 4)..(k + length)];
            var strings = new List<string>();
            int s = k + length;
            if (table[s] == 0)
            {
                s += 2; // no strings: two NULs
            }
            else
            {
                while (table[s] != 0)
                {
                    int end = Array.IndexOf(table, (byte)0, s);
                    strings.Add(Encoding.ASCII.GetString(table, s, end - s));
                    s = end + 1;
                }

                s++;
            }

            list.Add(new Structure(type, handle, formatted, strings));
            k = s;
            if (type == Smbios.TypeEnd)
            {
                break;
            }
        }

        Assert.Equal(table.Length, k);
        return list;
    }

    [Fact]
    public void EntryPointIsFoundWithBothChecksumsAndDescribesTheTable()
    {
        var (entry, structures) = FindInGuestMemory();
        Assert.Equal(0x1F, entry.Length);
        Assert.Equal(0, Sum(entry));
        Assert.Equal("_DMI_", Encoding.ASCII.GetString(entry, 16, 5));
        Assert.Equal(0, Sum(entry.AsSpan(16, 15)));
        Assert.Equal(2, entry[6]);
        Assert.Equal(8, entry[7]);
        Assert.Equal(0x28, entry[30]);
        Assert.Equal(structures.Count, BinaryPrimitives.ReadUInt16LittleEndian(entry.AsSpan(28)));
        Assert.Equal(0u, Smbios.EntryPointAddress % 16);
    }

    [Fact]
    public void StructuresAreTheOnesQemuProvidesWithUniqueHandles()
    {
        var (_, structures) = FindInGuestMemory();
        Assert.Equal(new byte[] { 0, 1, 3, 4, 16, 17, 19, 19, 32, 127 }, structures.Select(s => s.Type));
        Assert.Equal(structures.Count, structures.Select(s => s.Handle).Distinct().Count());
    }

    [Fact]
    public void IdentityStringsAreWhatLinuxPrintsAsDmi()
    {
        var (_, structures) = FindInGuestMemory();
        var bios = structures[0];
        Assert.Equal(Smbios.Vendor, bios.String(bios.Formatted[0]));
        Assert.Equal(Smbios.BiosVersion, bios.String(bios.Formatted[1]));
        Assert.Matches(@"^\d\d/\d\d/\d{4}$", bios.String(bios.Formatted[4])!);
        var system = structures[1];
        Assert.Equal(Smbios.Vendor, system.String(system.Formatted[0]));
        Assert.Equal(Smbios.Product, system.String(system.Formatted[1]));
    }

    [Fact]
    public void ProcessorCarriesTheCpuidSignatureAndMemoryStructuresAddUp()
    {
        var (_, structures) = FindInGuestMemory();
        var cpu = structures.Single(s => s.Type == Smbios.TypeProcessor);
        Assert.Equal(0x206C1u, BinaryPrimitives.ReadUInt32LittleEndian(cpu.Formatted.AsSpan(4)));
        Assert.Equal(0x1234u, BinaryPrimitives.ReadUInt32LittleEndian(cpu.Formatted.AsSpan(8)));
        Assert.Equal(0x41, cpu.Formatted[20]); // populated, enabled

        ulong total = 0x0800_0000UL + 0x0400_0000UL;
        var array = structures.Single(s => s.Type == Smbios.TypeMemoryArray);
        Assert.Equal(total / 1024, BinaryPrimitives.ReadUInt32LittleEndian(array.Formatted.AsSpan(3)));

        var device = structures.Single(s => s.Type == Smbios.TypeMemoryDevice);
        Assert.Equal(array.Handle, BinaryPrimitives.ReadUInt16LittleEndian(device.Formatted));
        Assert.Equal(total >> 20, BinaryPrimitives.ReadUInt16LittleEndian(device.Formatted.AsSpan(8)));

        var ranges = structures.Where(s => s.Type == Smbios.TypeMappedAddress)
            .Select(s => (Start: BinaryPrimitives.ReadUInt32LittleEndian(s.Formatted) * 1024UL, End: (BinaryPrimitives.ReadUInt32LittleEndian(s.Formatted.AsSpan(4)) * 1024UL) + 1023))
            .ToList();
        Assert.Equal([(0UL, 0x07FF_FFFFUL), (0x1_0000_0000UL, 0x1_03FF_FFFFUL)], ranges);
    }
}
