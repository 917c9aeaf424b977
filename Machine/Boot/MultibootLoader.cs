using System.Buffers.Binary;
using System.Text;
using Emulator.Cpu.State;
using Emulator.Machine.Config;
using Emulator.Mmu.Physical;

namespace Emulator.Machine.Boot;

/// <summary>
/// Loads a Multiboot (version 0.6.96) kernel: finds the header in the first 8 KiB, loads the ELF32
/// segments or the a.out-kludge image, places modules page-aligned after the kernel, builds the
/// information structure (mem_lower/mem_upper, command line, modules, memory map, loader name) and
/// sets the entry state of section 3.2: EAX = 0x2BADB002, EBX = info address, flat 32-bit segments,
/// protected mode without paging, interrupts off.
/// </summary>
public static class MultibootLoader
{
    public const uint HeaderMagic = 0x1BADB002;
    public const uint BootloaderMagic = 0x2BADB002;
    public const int SearchLength = 8192;

    // Header flags (section 3.1.2): bits 0-15 are requirements the loader must honour or refuse.
    public const uint FlagPageAlign = 1u << 0;
    public const uint FlagMemoryInfo = 1u << 1;
    public const uint FlagVideoMode = 1u << 2;
    public const uint FlagAoutKludge = 1u << 16;

    // Info flags (section 3.3).
    public const uint InfoMemory = 1u << 0;
    public const uint InfoCmdline = 1u << 2;
    public const uint InfoMods = 1u << 3;
    public const uint InfoMmap = 1u << 6;
    public const uint InfoLoaderName = 1u << 9;

    /// <summary>Where the loader keeps its GDT, info structure and strings: conventional memory above the IVT/BDA.</summary>
    public const uint BootArea = 0x8000;
    public const uint BootAreaEnd = 0x9F000;

    public const string LoaderName = "emu";

    /// <summary>True when the file carries a Multiboot header (used to tell kernel formats apart).</summary>
    public static bool IsMultiboot(ReadOnlySpan<byte> image) => FindHeader(image) >= 0;

    private static int FindHeader(ReadOnlySpan<byte> image)
    {
        int limit = Math.Min(image.Length, SearchLength) - 12;
        for (int offset = 0; offset <= limit; offset += 4)
        {
            uint magic = BinaryPrimitives.ReadUInt32LittleEndian(image[offset..]);
            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(image[(offset + 4)..]);
            uint checksum = BinaryPrimitives.ReadUInt32LittleEndian(image[(offset + 8)..]);
            if (magic == HeaderMagic && magic + flags + checksum == 0)
            {
                return offset;
            }
        }

        return -1;
    }

    public sealed record Module(string Path, string CommandLine, byte[] Data);

    /// <summary>Loads the kernel and modules into RAM and sets the CPU's entry state.</summary>
    public static void Load(PhysicalMemory memory, ref CpuState cpu, string kernelName, byte[] image, string commandLine, IReadOnlyList<Module> modules)
    {
        int header = FindHeader(image);
        if (header < 0)
        {
            throw new ConfigException($"{kernelName} is not a Multiboot kernel (no Multiboot header in its first 8 KiB)");
        }

        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(header + 4));
        uint unsupported = flags & 0xFFFF & ~(FlagPageAlign | FlagMemoryInfo);
        if (unsupported != 0)
        {
            throw new ConfigException($"{kernelName} requires Multiboot features this loader lacks (header flags 0x{unsupported:x}; video mode information is not provided)");
        }

        ulong ramTop = LowRamTop(memory);
        uint entry;
        ulong kernelEnd;
        if ((flags & FlagAoutKludge) != 0)
        {
            (entry, kernelEnd) = LoadAoutKludge(memory, kernelName, image, header, ramTop);
        }
        else
        {
            (entry, kernelEnd) = LoadElf(memory, kernelName, image, ramTop);
        }

        // Modules go page-aligned after the kernel (section 3.3: "mods_addr ... page-aligned if requested").
        ulong next = (kernelEnd + 0xFFF) & ~0xFFFUL;
        var moduleRanges = new List<(uint Start, uint End, string CommandLine)>();
        foreach (var module in modules)
        {
            ulong end = next + (ulong)module.Data.Length;
            if (end > ramTop)
            {
                throw new ConfigException($"module {module.Path} ({module.Data.Length} bytes) does not fit in guest RAM after the kernel; give the guest more memory");
            }

            memory.WriteBytes(next, module.Data);
            moduleRanges.Add(((uint)next, (uint)end, module.CommandLine));
            next = (end + 0xFFF) & ~0xFFFUL;
        }

        uint infoAddress = WriteInfo(memory, commandLine, moduleRanges);
        SetEntryState(memory, ref cpu, entry, infoAddress);
    }

    /// <summary>The end of RAM that is contiguous from 1 MiB (kernels and modules must fit below it).</summary>
    private static ulong LowRamTop(PhysicalMemory memory)
    {
        ulong top = 0x100000;
        while (memory.Lookup(top) is { Kind: RegionKind.Ram } region)
        {
            top = region.End;
        }

        return top;
    }

    private static (uint Entry, ulong End) LoadAoutKludge(PhysicalMemory memory, string name, byte[] image, int header, ulong ramTop)
    {
        var h = image.AsSpan(header);
        if (h.Length < 32)
        {
            throw new ConfigException($"{name}: Multiboot header is truncated");
        }

        uint headerAddr = BinaryPrimitives.ReadUInt32LittleEndian(h[12..]);
        uint loadAddr = BinaryPrimitives.ReadUInt32LittleEndian(h[16..]);
        uint loadEndAddr = BinaryPrimitives.ReadUInt32LittleEndian(h[20..]);
        uint bssEndAddr = BinaryPrimitives.ReadUInt32LittleEndian(h[24..]);
        uint entry = BinaryPrimitives.ReadUInt32LittleEndian(h[28..]);

        // Section 3.1.3: the file offset of load_addr is header offset - (header_addr - load_addr).
        long fileStart = header - ((long)headerAddr - loadAddr);
        long loadLength = loadEndAddr == 0 ? image.Length - fileStart : (long)loadEndAddr - loadAddr;
        if (headerAddr < loadAddr || fileStart < 0 || loadLength < 0 || fileStart + loadLength > image.Length)
        {
            throw new ConfigException($"{name}: Multiboot a.out header addresses do not match the file (header_addr 0x{headerAddr:x}, load_addr 0x{loadAddr:x}, load_end_addr 0x{loadEndAddr:x})");
        }

        ulong end = Math.Max(loadAddr + (ulong)loadLength, bssEndAddr);
        CheckFits(memory, name, loadAddr, end, ramTop);
        memory.WriteBytes(loadAddr, image.AsSpan((int)fileStart, (int)loadLength));
        if (bssEndAddr > loadAddr + (ulong)loadLength)
        {
            memory.Clear(loadAddr + (ulong)loadLength, bssEndAddr - (loadAddr + (ulong)loadLength));
        }

        return (entry, end);
    }

    private static (uint Entry, ulong End) LoadElf(PhysicalMemory memory, string name, byte[] image, ulong ramTop)
    {
        var f = image.AsSpan();
        // ELF header (System V ABI, figure 4-3): 32-bit, little-endian, executable, i386.
        if (f.Length < 52 || f[0] != 0x7F || f[1] != (byte)'E' || f[2] != (byte)'L' || f[3] != (byte)'F')
        {
            throw new ConfigException($"{name}: Multiboot header without the a.out flag, but the file is not ELF");
        }

        if (f[4] != 1 || f[5] != 1 || BinaryPrimitives.ReadUInt16LittleEndian(f[18..]) != 3)
        {
            throw new ConfigException($"{name}: only 32-bit little-endian i386 ELF Multiboot kernels are supported");
        }

        uint entry = BinaryPrimitives.ReadUInt32LittleEndian(f[24..]);
        uint phoff = BinaryPrimitives.ReadUInt32LittleEndian(f[28..]);
        int phentsize = BinaryPrimitives.ReadUInt16LittleEndian(f[42..]);
        int phnum = BinaryPrimitives.ReadUInt16LittleEndian(f[44..]);
        if (phentsize < 32 || phoff + ((ulong)phnum * (ulong)phentsize) > (ulong)f.Length)
        {
            throw new ConfigException($"{name}: ELF program headers lie outside the file");
        }

        ulong end = 0;
        int loaded = 0;
        for (int k = 0; k < phnum; k++)
        {
            var ph = f[(int)(phoff + (k * phentsize))..];
            if (BinaryPrimitives.ReadUInt32LittleEndian(ph) != 1)
            {
                continue; // not PT_LOAD
            }

            uint offset = BinaryPrimitives.ReadUInt32LittleEndian(ph[4..]);
            uint paddr = BinaryPrimitives.ReadUInt32LittleEndian(ph[12..]);
            uint filesz = BinaryPrimitives.ReadUInt32LittleEndian(ph[16..]);
            uint memsz = BinaryPrimitives.ReadUInt32LittleEndian(ph[20..]);
            if ((ulong)offset + filesz > (ulong)f.Length || filesz > memsz)
            {
                throw new ConfigException($"{name}: ELF segment {k} lies outside the file");
            }

            CheckFits(memory, name, paddr, (ulong)paddr + memsz, ramTop);
            memory.WriteBytes(paddr, f.Slice((int)offset, (int)filesz));
            if (memsz > filesz)
            {
                memory.Clear((ulong)paddr + filesz, memsz - filesz);
            }

            end = Math.Max(end, (ulong)paddr + memsz);
            loaded++;
        }

        if (loaded == 0)
        {
            throw new ConfigException($"{name}: ELF file has no loadable segments");
        }

        return (entry, end);
    }

    private static void CheckFits(PhysicalMemory memory, string name, ulong start, ulong end, ulong ramTop)
    {
        if (start < 0x100000 && end > BootArea)
        {
            throw new ConfigException($"{name} wants to load at 0x{start:x}, below 1 MiB, where the loader keeps its data; link it at 1 MiB or above");
        }

        if (end > ramTop || !memory.IsRam(start, end - start))
        {
            throw new ConfigException($"{name} needs memory up to 0x{end:x}, but guest RAM ends at 0x{ramTop:x}; give the guest more memory (-m)");
        }
    }

    private static uint WriteInfo(PhysicalMemory memory, string commandLine, List<(uint Start, uint End, string CommandLine)> modules)
    {
        uint cursor = BootArea + 0x100; // after the GDT
        uint Alloc(int size)
        {
            uint at = (cursor + 15) & ~15u;
            cursor = at + (uint)size;
            if (cursor > BootAreaEnd)
            {
                throw new ConfigException("the Multiboot command line and module list do not fit below 640 KiB");
            }

            return at;
        }

        uint String(string s)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(s + "\0");
            uint at = Alloc(bytes.Length);
            memory.WriteBytes(at, bytes);
            return at;
        }

        uint info = Alloc(120);
        var mbi = new byte[120];
        ulong ramBelow4G = LowRamTop(memory);
        uint flags = InfoMemory | InfoCmdline | InfoMods | InfoMmap | InfoLoaderName;
        BinaryPrimitives.WriteUInt32LittleEndian(mbi.AsSpan(4), 639); // mem_lower in KiB: 0..0x9FC00
        BinaryPrimitives.WriteUInt32LittleEndian(mbi.AsSpan(8), (uint)((ramBelow4G - 0x100000) / 1024)); // mem_upper
        BinaryPrimitives.WriteUInt32LittleEndian(mbi.AsSpan(16), String(commandLine));

        uint modsAddr = Alloc(16 * Math.Max(1, modules.Count));
        for (int k = 0; k < modules.Count; k++)
        {
            var entry = new byte[16];
            BinaryPrimitives.WriteUInt32LittleEndian(entry, modules[k].Start);
            BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(4), modules[k].End);
            BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(8), String(modules[k].CommandLine));
            memory.WriteBytes(modsAddr + (uint)(16 * k), entry);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(mbi.AsSpan(20), (uint)modules.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(mbi.AsSpan(24), modsAddr);

        var map = E820.Build(memory);
        uint mmapAddr = Alloc(24 * map.Count);
        for (int k = 0; k < map.Count; k++)
        {
            var entry = new byte[24];
            BinaryPrimitives.WriteUInt32LittleEndian(entry, 20); // size of the rest of the entry
            BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(4), map[k].Base);
            BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(12), map[k].Length);
            BinaryPrimitives.WriteUInt32LittleEndian(entry.AsSpan(20), (uint)map[k].Type);
            memory.WriteBytes(mmapAddr + (uint)(24 * k), entry);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(mbi.AsSpan(44), (uint)(24 * map.Count));
        BinaryPrimitives.WriteUInt32LittleEndian(mbi.AsSpan(48), mmapAddr);
        BinaryPrimitives.WriteUInt32LittleEndian(mbi.AsSpan(64), String(LoaderName));
        BinaryPrimitives.WriteUInt32LittleEndian(mbi, flags);
        memory.WriteBytes(info, mbi);
        return info;
    }

    /// <summary>Section 3.2, "Machine state": flat 4 GiB segments, PE set, PG clear, IF clear.</summary>
    private static void SetEntryState(PhysicalMemory memory, ref CpuState s, uint entry, uint info)
    {
        // A GDT the selectors below refer to, so a kernel that reloads them before its own LGDT still works.
        var gdt = new byte[32];
        BinaryPrimitives.WriteUInt64LittleEndian(gdt.AsSpan(16), 0x00CF9B000000FFFF); // 0x10: code, 32-bit, 4 GiB
        BinaryPrimitives.WriteUInt64LittleEndian(gdt.AsSpan(24), 0x00CF93000000FFFF); // 0x18: data, 32-bit, 4 GiB
        memory.WriteBytes(BootArea, gdt);

        s.Reset();
        s.Gdtr = new TableRegister { Base = BootArea, Limit = 31 };
        s.Cr0 = ControlBits.Cr0PE | ControlBits.Cr0ET;
        s.Rflags = Flags.Reserved1;
        s.Cs = Cpu.X86Cpu.FromDescriptor(0x10, 0x00CF9B000000FFFF);
        var data = Cpu.X86Cpu.FromDescriptor(0x18, 0x00CF93000000FFFF);
        s.Ds = s.Es = s.Fs = s.Gs = s.Ss = data;
        s.Rip = entry;
        s.Gpr[CpuState.RAX] = BootloaderMagic;
        s.Gpr[CpuState.RBX] = info;
        s.Gpr[CpuState.RDX] = 0;
    }
}
