using System.Buffers.Binary;
using System.Text;
using Emulator.Mmu.Physical;

namespace Emulator.Machine.Acpi;

/// <summary>
/// SMBIOS 2.8 tables (DMTF DSP0134 3.x describes the 2.x entry point in section 5.2.1 and every
/// structure in chapter 7) for kernel boots, where no firmware builds them: the 31-byte "_SM_"
/// entry point on a 16-byte boundary of 0xF0000-0xFFFFF, where an OS searches (Linux's
/// dmi_scan.c), and the structure table after it. The structures are the ones QEMU's pc machine
/// provides: BIOS (type 0), system (1), chassis (3), processor (4), physical memory array (16),
/// memory device (17), memory array mapped addresses (19, one per RAM range), system boot (32)
/// and end of table (127). Linux prints the identity at boot ("DMI: emu Standard PC ...").
/// With SeaBIOS (--bios) the firmware builds its own tables and this image is not installed.
/// </summary>
public static class Smbios
{
    /// <summary>The entry point: above the MP table in the BIOS area (<see cref="MpTable.FloatingPointerAddress"/>).</summary>
    public const uint EntryPointAddress = 0xF1000;
    public const int EntryPointLength = 0x1F;
    public const uint TableAddress = EntryPointAddress + 0x20;

    public const byte MajorVersion = 2, MinorVersion = 8;

    public const string Vendor = "emu";
    public const string Product = "Standard PC (i440FX + PIIX)";
    public const string BiosVersion = "1.0";
    public const string BiosDate = "01/01/2026"; // mm/dd/yyyy (DSP0134 7.1)

    // Structure types (DSP0134 table 3).
    public const byte TypeBios = 0, TypeSystem = 1, TypeChassis = 3, TypeProcessor = 4, TypeMemoryArray = 16;
    public const byte TypeMemoryDevice = 17, TypeMappedAddress = 19, TypeSystemBoot = 32, TypeEnd = 127;

    /// <summary>Handles: one per structure, in order; the memory array's handle is referenced by types 17 and 19.</summary>
    public const ushort MemoryArrayHandle = 0x1000, MemoryDeviceHandle = 0x1100, MappedAddressHandle = 0x1300;

    /// <summary>Builds the tables for the RAM ranges of <paramref name="memory"/> and writes them into guest memory.</summary>
    public static byte[] Install(PhysicalMemory memory, uint cpuSignature, uint cpuFeatures)
    {
        var ram = new List<(ulong Base, ulong Size)>();
        foreach (var region in memory.Regions)
        {
            if (region.Kind == RegionKind.Ram)
            {
                ram.Add((region.Base, region.Size));
            }
        }

        byte[] image = Build(ram, cpuSignature, cpuFeatures);
        memory.WriteBytes(EntryPointAddress, image);
        return image;
    }

    /// <summary>The entry point, padded to 32 bytes, followed by the structure table, as one image at <see cref="EntryPointAddress"/>.</summary>
    /// <param name="ram">Guest-physical RAM ranges (base, size).</param>
    public static byte[] Build(IReadOnlyList<(ulong Base, ulong Size)> ram, uint cpuSignature, uint cpuFeatures)
    {
        ulong totalBytes = 0;
        foreach (var (_, size) in ram)
        {
            totalBytes += size;
        }

        var structures = new List<byte[]>
        {
            BiosInformation(),
            SystemInformation(),
            Chassis(),
            Processor(cpuSignature, cpuFeatures),
            MemoryArray(totalBytes),
            MemoryDevice(totalBytes),
        };
        ushort handle = MappedAddressHandle;
        foreach (var (rangeBase, size) in ram)
        {
            structures.Add(MappedAddress(handle++, rangeBase, size));
        }

        structures.Add(Structure(TypeSystemBoot, 0x2000, new byte[7])); // 6 reserved bytes, status 0: no errors
        structures.Add(Structure(TypeEnd, 0x7F00, []));

        byte[] table = Aml.Concat(structures);
        int maxStructure = 0;
        foreach (var structure in structures)
        {
            maxStructure = Math.Max(maxStructure, structure.Length);
        }

        var entry = new byte[0x20];
        Encoding.ASCII.GetBytes("_SM_", entry);
        entry[5] = EntryPointLength;
        entry[6] = MajorVersion;
        entry[7] = MinorVersion;
        BinaryPrimitives.WriteUInt16LittleEndian(entry.AsSpan(8), (ushort)maxStructure);
        entry[10] = 0; // entry point revision 0: bytes 11-15 are the formatted area, all zero
        Encoding.ASCII.GetBytes("_DMI_", entry.AsSpan(16));
        BinaryPrimitives.WriteUInt16LittleEndian(entry.AsSpan(22), (ushort)table.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(24), TableAddress);
        BinaryPrimitives.WriteUInt16LittleEndian(entry.AsSpan(28), (ushort)structures.Count);
        entry[30] = (MajorVersion << 4) | MinorVersion; // BCD revision
        entry[21] = Checksum(entry.AsSpan(16, 15)); // intermediate checksum over "_DMI_" .. BCD revision
        entry[4] = Checksum(entry.AsSpan(0, EntryPointLength));
        return [.. entry, .. table];
    }

    /// <summary>Type 0 (DSP0134 7.1): vendor, version, the F000 segment, release date, characteristics.</summary>
    private static byte[] BiosInformation()
    {
        var f = new byte[0x18 - 4];
        f[0] = 1; // vendor string
        f[1] = 2; // version string
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(2), 0xE800); // starting address segment
        f[4] = 3; // release date string
        f[5] = 0; // ROM size: 64 KiB
        BinaryPrimitives.WriteUInt64LittleEndian(f.AsSpan(6), 1UL << 3); // characteristics not supported
        f[14] = 0;
        f[15] = 1 << 4; // extension byte 2 bit 4: the system is a virtual machine
        f[16] = 1; // system BIOS major release
        f[17] = 0; // minor release
        f[18] = 0xFF; // no embedded controller firmware
        f[19] = 0xFF;
        return Structure(TypeBios, 0x0000, f, Vendor, BiosVersion, BiosDate);
    }

    /// <summary>Type 1 (7.2): manufacturer, product, version, no serial, a nil UUID, wake-up by power switch.</summary>
    private static byte[] SystemInformation()
    {
        var f = new byte[0x1B - 4];
        f[0] = 1; // manufacturer
        f[1] = 2; // product name
        f[2] = 3; // version
        f[3] = 0; // serial number: none
        // 4..19: UUID, all zero ("not present" would be all 0xFF; zero means "not set").
        f[20] = 6; // wake-up type: power switch
        f[21] = 0; // SKU: none
        f[22] = 0; // family: none
        return Structure(TypeSystem, 0x0100, f, Vendor, Product, BiosVersion);
    }

    /// <summary>Type 3 (7.4): an "other" chassis, states safe, no contained elements.</summary>
    private static byte[] Chassis()
    {
        var f = new byte[0x16 - 4];
        f[0] = 1; // manufacturer
        f[1] = 0x01; // type: other
        f[2] = 2; // version
        f[3] = 0; // serial
        f[4] = 0; // asset tag
        f[5] = 3; // boot-up state: safe
        f[6] = 3; // power supply state: safe
        f[7] = 3; // thermal state: safe
        f[8] = 2; // security status: unknown
        // 9..12 OEM-defined, 13 height, 14 power cords, 15 contained element count, 16 record length: 0
        f[17] = 0; // SKU: none
        return Structure(TypeChassis, 0x0300, f, Vendor, BiosVersion);
    }

    /// <summary>Type 4 (7.5): one populated, enabled CPU, its CPUID signature and features as the processor ID.</summary>
    private static byte[] Processor(uint signature, uint features)
    {
        var f = new byte[0x2A - 4];
        f[0] = 1; // socket designation
        f[1] = 3; // processor type: central processor
        f[2] = 0x01; // family: other (family 2 below says the same)
        f[3] = 2; // manufacturer
        BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(4), signature); // processor ID: CPUID.1:EAX
        BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(8), features); // and CPUID.1:EDX
        f[12] = 3; // version
        f[13] = 0; // voltage: unknown
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(14), 0); // external clock: unknown
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(16), 2000); // max speed, MHz
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(18), 2000); // current speed, MHz
        f[20] = 0x41; // status: socket populated, CPU enabled
        f[21] = 0x01; // upgrade: other
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(22), 0xFFFF); // L1 cache handle: none
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(24), 0xFFFF); // L2
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(26), 0xFFFF); // L3
        f[28] = 0; // serial
        f[29] = 0; // asset tag
        f[30] = 0; // part number
        f[31] = 1; // core count
        f[32] = 1; // cores enabled
        f[33] = 1; // thread count
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(34), 0x0004); // characteristics: 64-bit capable
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(36), 0x0001); // family 2: other
        return Structure(TypeProcessor, 0x0400, f, "CPU 0", Vendor, "emu software x86-64 CPU");
    }

    /// <summary>Type 16 (7.17): system memory, no ECC reporting, capacity in KiB (or the extended field above 2 TiB).</summary>
    private static byte[] MemoryArray(ulong totalBytes)
    {
        var f = new byte[0x17 - 4];
        f[0] = 0x01; // location: other
        f[1] = 0x03; // use: system memory
        f[2] = 0x06; // error correction: multi-bit ECC (as QEMU reports)
        ulong kib = totalBytes / 1024;
        BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(3), kib < 0x8000_0000 ? (uint)kib : 0x8000_0000);
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(7), 0xFFFE); // error information: not provided
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(9), 1); // one memory device
        BinaryPrimitives.WriteUInt64LittleEndian(f.AsSpan(11), kib < 0x8000_0000 ? 0 : totalBytes);
        return Structure(TypeMemoryArray, MemoryArrayHandle, f);
    }

    /// <summary>Type 17 (7.18): one DIMM holding all of RAM; size in MiB, or in the extended field from 32 GiB.</summary>
    private static byte[] MemoryDevice(ulong totalBytes)
    {
        var f = new byte[0x28 - 4];
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(0), MemoryArrayHandle);
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(2), 0xFFFE); // error information: not provided
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(4), 0xFFFF); // total width: unknown
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(6), 0xFFFF); // data width: unknown
        ulong mib = totalBytes >> 20;
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(8), mib < 0x7FFF ? (ushort)mib : (ushort)0x7FFF);
        f[10] = 0x09; // form factor: DIMM
        f[11] = 0; // not part of a set
        f[12] = 1; // device locator
        f[13] = 0; // bank locator: none
        f[14] = 0x07; // memory type: RAM
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(15), 0x0002); // type detail: unknown
        f[19] = 2; // manufacturer
        BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(24), mib < 0x7FFF ? 0 : (uint)mib); // extended size, MiB
        return Structure(TypeMemoryDevice, MemoryDeviceHandle, f, "DIMM 0", Vendor);
    }

    /// <summary>Type 19 (7.20): one RAM range of the array, in KiB, or in the extended byte fields from 4 TiB.</summary>
    private static byte[] MappedAddress(ushort handle, ulong rangeBase, ulong size)
    {
        var f = new byte[0x1F - 4];
        ulong startKib = rangeBase / 1024, endKib = ((rangeBase + size) / 1024) - 1;
        bool extended = endKib >= 0xFFFF_FFFF;
        BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(0), extended ? 0xFFFF_FFFF : (uint)startKib);
        BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(4), extended ? 0xFFFF_FFFF : (uint)endKib);
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(8), MemoryArrayHandle);
        f[10] = 1; // partition width
        BinaryPrimitives.WriteUInt64LittleEndian(f.AsSpan(11), extended ? rangeBase : 0);
        BinaryPrimitives.WriteUInt64LittleEndian(f.AsSpan(19), extended ? rangeBase + size - 1 : 0);
        return Structure(TypeMappedAddress, handle, f);
    }

    /// <summary>
    /// One structure: the 4-byte header (type, length of the formatted area, handle), the formatted
    /// fields, then the strings, each NUL-terminated, and a final NUL (two NULs when there are none).
    /// </summary>
    public static byte[] Structure(byte type, ushort handle, ReadOnlySpan<byte> fields, params string[] strings)
    {
        int length = 4 + fields.Length + 1 + (strings.Length == 0 ? 1 : 0);
        foreach (string s in strings)
        {
            length += Encoding.ASCII.GetByteCount(s) + 1;
        }

        // Zeroed: every string's NUL and the final NUL(s) are already in place.
        var bytes = new byte[length];
        bytes[0] = type;
        bytes[1] = (byte)(4 + fields.Length);
        bytes[2] = (byte)handle;
        bytes[3] = (byte)(handle >> 8);
        fields.CopyTo(bytes.AsSpan(4));
        int at = 4 + fields.Length;
        foreach (string s in strings)
        {
            at += Encoding.ASCII.GetBytes(s, bytes.AsSpan(at)) + 1;
        }

        return bytes;
    }

    private static byte Checksum(ReadOnlySpan<byte> bytes)
    {
        byte sum = 0;
        foreach (byte b in bytes)
        {
            sum += b;
        }

        return (byte)(0 - sum);
    }
}
