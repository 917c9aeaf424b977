using System.Buffers.Binary;
using System.Text;
using Emulator.Cpu;
using Emulator.Cpu.State;
using Emulator.Machine.Config;
using Emulator.Mmu.Physical;

namespace Emulator.Machine.Boot;

/// <summary>
/// Boots a Linux bzImage directly, as a boot loader following the Linux x86 boot protocol does
/// (Documentation/arch/x86/boot.rst; the zero page is Documentation/arch/x86/zero-page.rst).
/// The real-mode setup code is not run: the loader fills boot_params itself (the copied setup
/// header, the E820 map, the command line, the initrd, the ACPI RSDP address) and enters the
/// kernel past it.
/// <list type="bullet">
/// <item>Kernels with XLF_KERNEL_64 (protocol 2.12+) are entered at the 64-bit entry point, load
/// address + 0x200, in long mode ("64-bit boot protocol"): identity-mapped first 4 GiB (2 MiB
/// pages), a GDT with flat __BOOT_CS (0x10) and __BOOT_DS (0x18), RSI = boot_params, IF = 0.</item>
/// <item>Others are entered at the 32-bit entry point, the load address, in flat protected mode
/// without paging ("32-bit boot protocol"): ESI = boot_params, EBP = EDI = EBX = 0, IF = 0.</item>
/// </list>
/// The protected-mode kernel goes at 1 MiB, or at pref_address when the kernel is relocatable.
/// </summary>
public static class LinuxLoader
{
    // Setup header offsets in the image and in boot_params (boot.rst, "The real-mode kernel header").
    public const int SetupSectsOffset = 0x1F1;
    public const int BootFlagOffset = 0x1FE;
    public const int JumpOffset = 0x200;
    public const int HeaderMagicOffset = 0x202;
    public const int VersionOffset = 0x206;
    public const int TypeOfLoaderOffset = 0x210;
    public const int LoadFlagsOffset = 0x211;
    public const int Code32StartOffset = 0x214;
    public const int RamdiskImageOffset = 0x218;
    public const int RamdiskSizeOffset = 0x21C;
    public const int CmdLinePtrOffset = 0x228;
    public const int InitrdAddrMaxOffset = 0x22C;
    public const int KernelAlignmentOffset = 0x230;
    public const int RelocatableKernelOffset = 0x234;
    public const int XLoadFlagsOffset = 0x236;
    public const int CmdlineSizeOffset = 0x238;
    public const int PrefAddressOffset = 0x258;
    public const int InitSizeOffset = 0x260;

    // boot_params fields outside the setup header (zero-page.rst).
    public const int AcpiRsdpAddrOffset = 0x070;
    public const int ExtRamdiskImageOffset = 0x0C0;
    public const int ExtRamdiskSizeOffset = 0x0C4;
    public const int ExtCmdLinePtrOffset = 0x0C8;
    public const int E820EntriesOffset = 0x1E8;
    public const int E820TableOffset = 0x2D0;
    public const int E820MaxEntries = 128;

    public const ushort BootFlag = 0xAA55;
    public const uint HeaderMagic = 0x53726448; // "HdrS"
    public const ushort MinimumVersion = 0x0206;

    public const byte LoadedHigh = 1 << 0; // loadflags: the protected-mode code is loaded at 0x100000
    public const ushort XlfKernel64 = 1 << 0; // xloadflags: has the 64-bit entry point at +0x200
    public const byte TypeOfLoaderUndefined = 0xFF;

    /// <summary>Where the loader puts its own data (conventional memory, below the EBDA).</summary>
    public const uint GdtAddress = 0x6000;
    public const uint BootParamsAddress = 0x7000;
    public const uint Pml4Address = 0x9000; // then the PDPT and four page directories, to 0xEFFF
    public const uint CommandLineAddress = 0x20000;
    public const uint CommandLineAreaEnd = 0x30000;

    public const ulong DefaultLoadAddress = 0x100000;
    public const ulong FourGiB = 0x1_0000_0000;

    /// <summary>True when the file starts with a bzImage setup header (boot flag and "HdrS").</summary>
    public static bool IsBzImage(ReadOnlySpan<byte> image) =>
        image.Length >= 0x208
        && BinaryPrimitives.ReadUInt16LittleEndian(image[BootFlagOffset..]) == BootFlag
        && BinaryPrimitives.ReadUInt32LittleEndian(image[HeaderMagicOffset..]) == HeaderMagic;

    /// <summary>What the loader decided; tests and the trace show it.</summary>
    public sealed record Placement(ulong KernelAddress, ulong Entry, bool LongMode, ulong InitrdAddress, ulong InitrdSize, uint RsdpAddress);

    /// <summary>Loads the kernel, initrd and command line into RAM, builds boot_params and sets the entry state.</summary>
    /// <param name="lowRamEnd">End of the RAM contiguous from 0, below 4 GiB.</param>
    /// <param name="rsdpAddress">Where the ACPI RSDP is (0: none).</param>
    public static Placement Load(PhysicalMemory memory, ref CpuState cpu, string kernelName, byte[] image, byte[] initrd, string commandLine, ulong lowRamEnd, uint rsdpAddress)
    {
        if (!IsBzImage(image))
        {
            throw new ConfigException($"{kernelName} is not a Linux bzImage (no boot flag 0xAA55 and \"HdrS\" signature in its setup header)");
        }

        var h = image.AsSpan();
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(h[VersionOffset..]);
        if (version < MinimumVersion)
        {
            throw new ConfigException($"{kernelName} uses boot protocol {version >> 8}.{version & 0xFF:d2}; this loader needs 2.06 or newer (Linux 2.6.22+)");
        }

        byte loadFlags = h[LoadFlagsOffset];
        if ((loadFlags & LoadedHigh) == 0)
        {
            throw new ConfigException($"{kernelName} is a zImage (loaded below 1 MiB), not a bzImage; only bzImages are supported");
        }

        // The setup header ends where the jump at 0x200 lands: 0x202 + its 8-bit displacement.
        int headerEnd = HeaderMagicOffset + h[JumpOffset + 1];
        int setupSects = h[SetupSectsOffset] == 0 ? 4 : h[SetupSectsOffset];
        int kernelOffset = (setupSects + 1) * 512;
        if (image.Length <= kernelOffset || headerEnd > kernelOffset || headerEnd < CmdlineSizeOffset + 4)
        {
            throw new ConfigException($"{kernelName} is truncated or malformed: {image.Length} bytes, but its setup code claims {kernelOffset} bytes before the kernel");
        }

        // Fields by protocol version (boot.rst, "Details of header fields").
        bool relocatable = h[RelocatableKernelOffset] != 0;
        uint initrdAddrMax = BinaryPrimitives.ReadUInt32LittleEndian(h[InitrdAddrMaxOffset..]);
        uint cmdlineSize = BinaryPrimitives.ReadUInt32LittleEndian(h[CmdlineSizeOffset..]);
        ushort xloadflags = version >= 0x020C ? BinaryPrimitives.ReadUInt16LittleEndian(h[XLoadFlagsOffset..]) : (ushort)0;
        ulong prefAddress = version >= 0x020A ? BinaryPrimitives.ReadUInt64LittleEndian(h[PrefAddressOffset..]) : DefaultLoadAddress;
        uint initSize = version >= 0x020A ? BinaryPrimitives.ReadUInt32LittleEndian(h[InitSizeOffset..]) : 0;
        uint kernelAlignment = BinaryPrimitives.ReadUInt32LittleEndian(h[KernelAlignmentOffset..]);

        ulong kernelAddress = relocatable ? prefAddress : DefaultLoadAddress;
        if (relocatable && kernelAlignment != 0 && (kernelAlignment & (kernelAlignment - 1)) == 0)
        {
            kernelAddress = (kernelAddress + kernelAlignment - 1) & ~((ulong)kernelAlignment - 1);
        }

        int kernelLength = image.Length - kernelOffset;
        // init_size is how much memory the kernel needs from its load address to decompress and start.
        ulong kernelEnd = kernelAddress + Math.Max((ulong)kernelLength, initSize);
        if (kernelAddress < DefaultLoadAddress || kernelEnd > lowRamEnd || !memory.IsRam(kernelAddress, kernelEnd - kernelAddress))
        {
            throw new ConfigException($"{kernelName} needs RAM from 0x{kernelAddress:x} to 0x{kernelEnd:x} (load address + init_size), but guest RAM below 4 GiB ends at 0x{lowRamEnd:x}; give the guest more memory (-m)");
        }

        byte[] cmdline = Encoding.UTF8.GetBytes(commandLine);
        uint cmdlineLimit = version >= 0x0206 ? cmdlineSize : 255;
        if ((uint)cmdline.Length > cmdlineLimit || CommandLineAddress + cmdline.Length + 1 > CommandLineAreaEnd)
        {
            throw new ConfigException($"the kernel command line is {cmdline.Length} bytes; {kernelName} accepts at most {cmdlineLimit}");
        }

        // The initrd goes as high as it may: below initrd_addr_max, 4 GiB and the end of low RAM,
        // 4 KiB aligned, and above the kernel's init_size area (boot.rst: "as high as possible").
        ulong initrdAddress = 0;
        if (initrd.Length > 0)
        {
            ulong ceiling = Math.Min(Math.Min((ulong)initrdAddrMax + 1, lowRamEnd), FourGiB);
            ulong size = (ulong)initrd.Length;
            initrdAddress = size <= ceiling ? (ceiling - size) & ~0xFFFUL : 0;
            if (size > ceiling || initrdAddress < kernelEnd)
            {
                throw new ConfigException($"the initrd ({initrd.Length} bytes) does not fit between the kernel (ends at 0x{kernelEnd:x}) and 0x{ceiling:x} (the lower of initrd_addr_max+1 and the end of low RAM); give the guest more memory (-m)");
            }

            memory.WriteBytes(initrdAddress, initrd);
        }

        memory.WriteBytes(kernelAddress, h[kernelOffset..]);
        memory.WriteBytes(CommandLineAddress, [.. cmdline, 0]);

        var bootParams = new byte[4096];
        image.AsSpan(SetupSectsOffset, headerEnd - SetupSectsOffset).CopyTo(bootParams.AsSpan(SetupSectsOffset));
        var p = bootParams.AsSpan();
        p[TypeOfLoaderOffset] = TypeOfLoaderUndefined;
        BinaryPrimitives.WriteUInt32LittleEndian(p[Code32StartOffset..], (uint)kernelAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(p[CmdLinePtrOffset..], CommandLineAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(p[RamdiskImageOffset..], (uint)initrdAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(p[RamdiskSizeOffset..], (uint)initrd.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(p[AcpiRsdpAddrOffset..], rsdpAddress);
        WriteE820(p, memory);
        memory.WriteBytes(BootParamsAddress, bootParams);

        bool longMode = (xloadflags & XlfKernel64) != 0;
        ulong entry = longMode ? kernelAddress + 0x200 : kernelAddress;
        SetEntryState(memory, ref cpu, entry, longMode);
        FirmwareMtrrs.Program(ref cpu, lowRamEnd);
        return new Placement(kernelAddress, entry, longMode, initrdAddress, (ulong)initrd.Length, rsdpAddress);
    }

    /// <summary>The BIOS memory map (E820) in boot_params: 20-byte entries of base, length and type.</summary>
    private static void WriteE820(Span<byte> bootParams, PhysicalMemory memory)
    {
        var map = E820.Build(memory);
        if (map.Count > E820MaxEntries)
        {
            throw new ConfigException($"the memory map has {map.Count} entries; boot_params holds {E820MaxEntries}");
        }

        bootParams[E820EntriesOffset] = (byte)map.Count;
        for (int k = 0; k < map.Count; k++)
        {
            var entry = bootParams[(E820TableOffset + (20 * k))..];
            BinaryPrimitives.WriteUInt64LittleEndian(entry, map[k].Base);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[8..], map[k].Length);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[16..], (uint)map[k].Type);
        }
    }

    // The boot GDT (boot.rst: "__BOOT_CS(0x10) and __BOOT_DS(0x18) ... 4G flat segment").
    public const ulong Code64Descriptor = 0x00AF9B000000FFFF; // 0x10 in long mode: L = 1, execute/read
    public const ulong Code32Descriptor = 0x00CF9B000000FFFF; // 0x10 in protected mode: D = 1, execute/read
    public const ulong DataDescriptor = 0x00CF93000000FFFF; // 0x18: read/write, 4 GiB

    private static void SetEntryState(PhysicalMemory memory, ref CpuState s, ulong entry, bool longMode)
    {
        ulong code = longMode ? Code64Descriptor : Code32Descriptor;
        var gdt = new byte[32];
        BinaryPrimitives.WriteUInt64LittleEndian(gdt.AsSpan(16), code);
        BinaryPrimitives.WriteUInt64LittleEndian(gdt.AsSpan(24), DataDescriptor);
        memory.WriteBytes(GdtAddress, gdt);

        s.Reset();
        s.Gdtr = new TableRegister { Base = GdtAddress, Limit = 31 };
        s.Rflags = Flags.Reserved1;
        s.Cs = Cpu.X86Cpu.FromDescriptor(0x10, code);
        var data = Cpu.X86Cpu.FromDescriptor(0x18, DataDescriptor);
        s.Ds = s.Es = s.Ss = s.Fs = s.Gs = data;
        s.Rip = entry;
        s.Gpr[CpuState.RSI] = BootParamsAddress;
        s.Cr0 = ControlBits.Cr0PE | ControlBits.Cr0ET;
        if (longMode)
        {
            WriteIdentityPageTables(memory);
            s.Cr3 = Pml4Address;
            s.Cr4 = ControlBits.Cr4PAE;
            s.Efer = ControlBits.EferLME | ControlBits.EferLMA;
            s.Cr0 |= ControlBits.Cr0PG;
        }
    }

    /// <summary>
    /// PML4 -> one PDPT -> four page directories of 2 MiB pages: virtual = physical for 0-4 GiB
    /// (SDM Vol. 3A 4.5, "4-Level Paging"). Entries are present, writable, supervisor.
    /// </summary>
    private static void WriteIdentityPageTables(PhysicalMemory memory)
    {
        const ulong presentWritable = 0x3;
        const ulong pageSize = 0x80;
        uint pdpt = Pml4Address + 0x1000;
        uint firstPd = pdpt + 0x1000;
        var table = new byte[0x1000];
        BinaryPrimitives.WriteUInt64LittleEndian(table, pdpt | presentWritable);
        memory.WriteBytes(Pml4Address, table);

        Array.Clear(table);
        for (int k = 0; k < 4; k++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(table.AsSpan(8 * k), (ulong)(firstPd + (0x1000 * k)) | presentWritable);
        }

        memory.WriteBytes(pdpt, table);
        for (int pd = 0; pd < 4; pd++)
        {
            for (int k = 0; k < 512; k++)
            {
                ulong physical = ((ulong)pd << 30) | ((ulong)k << 21);
                BinaryPrimitives.WriteUInt64LittleEndian(table.AsSpan(8 * k), physical | presentWritable | pageSize);
            }

            memory.WriteBytes(firstPd + (uint)(0x1000 * pd), table);
        }
    }
}
