using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Emulator.Mmu.Physical;

/// <summary>
/// The guest-physical address map: RAM, ROM and MMIO regions looked up a page at a time.
/// Every access is bounds-checked here: unmapped reads return all ones, unmapped writes and
/// writes to ROM are dropped, accesses that cross a page or region boundary are split.
/// Writes to RAM pages that hold translated code raise <see cref="CodeModified"/>.
/// </summary>
public sealed unsafe class PhysicalMemory : IDisposable
{
    /// <summary>The physical address width this machine models (CPUID 0x80000008 reports it).</summary>
    public const int PhysicalAddressBits = 40;

    private const int PageShift = 12;
    private const int ChunkShift = 30; // one second-level table per GiB
    private const int PagesPerChunk = 1 << (ChunkShift - PageShift);

    private readonly MemoryRegion?[]?[] _chunks = new MemoryRegion?[]?[1 << (PhysicalAddressBits - ChunkShift)];
    private readonly List<MemoryRegion> _regions = [];
    private readonly List<nint> _romBlocks = [];
    private readonly byte[] _codePages;

    public PhysicalMemory(GuestRam ram)
    {
        Ram = ram;
        _codePages = new byte[ram.Size >> PageShift];
    }

    public GuestRam Ram { get; }

    /// <summary>Regions in the order they were mapped; a later region hides an earlier one where they overlap.</summary>
    public IReadOnlyList<MemoryRegion> Regions => _regions;

    /// <summary>Called for every MMIO access when set: (address, size, value, isWrite, region). For tracing.</summary>
    public Action<ulong, int, ulong, bool, MemoryRegion>? MmioObserver { get; set; }

    /// <summary>
    /// Raised with the address and size of a write to a RAM page marked as code, after the write.
    /// The mark is cleared first; a listener whose translations on the page survive the write
    /// (they do not cover the bytes written) marks the page again.
    /// </summary>
    public event Action<ulong, int>? CodeModified;

    public static ulong MaxAddress => (1UL << PhysicalAddressBits) - 1;

    /// <summary>Physical address bit 20, the one the A20 gate forces to zero.</summary>
    public const ulong A20Bit = 1UL << 20;

    /// <summary>
    /// ANDed into every physical address the CPU forms (its own accesses and its page walks, not
    /// DMA): all ones while the A20 gate is enabled, all but bit 20 while it is disabled, so that
    /// addresses wrap at 1 MiB as on an 8086 (the 8042 output port bit 1 and port 92h bit 1 drive
    /// the gate; Intel SDM Vol. 3A 21.33.2 "A20M#"). The CPU caches translations, so a change raises
    /// <see cref="A20Changed"/> for it to drop them; nothing is paid while the gate stays as it is.
    /// </summary>
    public ulong A20Mask { get; private set; } = ulong.MaxValue;

    /// <summary>Raised after the A20 gate changes state.</summary>
    public event Action? A20Changed;

    public bool A20Enabled
    {
        get => A20Mask == ulong.MaxValue;
        set
        {
            if (value == A20Enabled)
            {
                return;
            }

            A20Mask = value ? ulong.MaxValue : ~A20Bit;
            A20Changed?.Invoke();
        }
    }

    public MemoryRegion MapRam(string name, ulong guestBase, ulong ramOffset, ulong size)
    {
        // Code-page tracking and TLB host pages index guest RAM a page at a time: a slice that
        // started mid-page would put one guest page across two tracked RAM pages.
        if ((ramOffset & 0xFFF) != 0)
        {
            throw new ArgumentException($"RAM slice offset {ramOffset:x} is not page-aligned", nameof(ramOffset));
        }

        if (ramOffset > Ram.Size || size > Ram.Size - ramOffset)
        {
            throw new ArgumentOutOfRangeException(nameof(size), $"RAM slice {ramOffset:x}+{size:x} exceeds guest RAM of {Ram.Size:x}");
        }

        // SAFETY: ramOffset + size <= Ram.Size checked above; the pointer lives as long as Ram.
        var region = new MemoryRegion(name, guestBase, size, RegionKind.Ram, Ram.Pointer + ramOffset, ramOffset, null);
        return Map(region);
    }

    /// <summary>Maps a copy of <paramref name="image"/> as read-only memory (size rounded up to pages).</summary>
    public MemoryRegion MapRom(string name, ulong guestBase, ReadOnlySpan<byte> image)
    {
        ulong size = ((ulong)image.Length + 0xFFF) & ~0xFFFUL;
        if (size == 0)
        {
            throw new ArgumentException("ROM image is empty", nameof(image));
        }

        // SAFETY: the block is size bytes, filled below, and freed in Dispose after the map is dropped.
        byte* block = (byte*)NativeMemory.AlignedAlloc((nuint)size, 4096);
        _romBlocks.Add((nint)block);
        var span = new Span<byte>(block, (int)size);
        span.Fill(0xFF);
        image.CopyTo(span);
        return Map(new MemoryRegion(name, guestBase, size, RegionKind.Rom, block, 0, null));
    }

    public MemoryRegion MapMmio(string name, ulong guestBase, ulong size, IBusDevice device)
    {
        return Map(new MemoryRegion(name, guestBase, size, RegionKind.Mmio, null, 0, device));
    }

    private MemoryRegion Map(MemoryRegion region)
    {
        if ((region.Base & 0xFFF) != 0 || (region.Size & 0xFFF) != 0 || region.Size == 0)
        {
            throw new ArgumentException($"region {region.Name} must be page-aligned and non-empty ({region.Base:x}+{region.Size:x})");
        }

        if (region.End - 1 > MaxAddress || region.End < region.Base)
        {
            throw new ArgumentException($"region {region.Name} lies beyond the {PhysicalAddressBits}-bit physical address space");
        }

        for (ulong page = region.Base >> PageShift; page < region.End >> PageShift; page++)
        {
            var chunk = _chunks[page >> (ChunkShift - PageShift)] ??= new MemoryRegion?[PagesPerChunk];
            chunk[page & (PagesPerChunk - 1)] = region;
        }

        _regions.Add(region);
        return region;
    }

    /// <summary>The region that answers for <paramref name="address"/>, or null for unmapped space.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public MemoryRegion? Lookup(ulong address)
    {
        if (address > MaxAddress)
        {
            return null;
        }

        ulong page = address >> PageShift;
        return _chunks[page >> (ChunkShift - PageShift)]?[page & (PagesPerChunk - 1)];
    }

    /// <summary>
    /// The host address of the page at <paramref name="pageAddress"/> when it is RAM (or ROM, for
    /// reads), else null. A write pointer is withheld from pages that hold translated code, so that
    /// such writes take the slow path that notices them.
    /// </summary>
    public byte* HostPage(ulong pageAddress, bool forWrite)
    {
        var region = Lookup(pageAddress);
        if (region is null || region.Kind == RegionKind.Mmio)
        {
            return null;
        }

        ulong offset = (pageAddress & ~0xFFFUL) - region.Base;
        if (forWrite)
        {
            if (region.Kind != RegionKind.Ram || _codePages[(region.RamOffset + offset) >> PageShift] != 0)
            {
                return null;
            }
        }

        // SAFETY: offset < region.Size because Lookup found the region for this page.
        return region.Host + offset;
    }

    /// <summary>Reads 1, 2, 4 or 8 bytes, little-endian.</summary>
    public ulong Read(ulong address, int size)
    {
        var region = Lookup(address);
        if (region is not null && (address & 0xFFF) + (ulong)size <= 0x1000 && address + (ulong)size <= region.End)
        {
            ulong offset = address - region.Base;
            if (region.Kind == RegionKind.Mmio)
            {
                ulong read = region.Device!.Read(offset, size) & SizeMask(size);
                MmioObserver?.Invoke(address, size, read, false, region);
                return read;
            }

            // SAFETY: offset + size <= region.Size checked above.
            byte* p = region.Host + offset;
            return size switch
            {
                1 => *p,
                2 => Unsafe.ReadUnaligned<ushort>(p),
                4 => Unsafe.ReadUnaligned<uint>(p),
                8 => Unsafe.ReadUnaligned<ulong>(p),
                _ => throw new ArgumentOutOfRangeException(nameof(size)),
            };
        }

        if (region is null && (address & 0xFFF) + (ulong)size <= 0x1000)
        {
            return SizeMask(size);
        }

        // Crosses a page or region boundary: assemble byte by byte. Bytes past 2^64 - 1 do not
        // wrap to address 0: they lie beyond the physical address space and read as all ones.
        ulong value = 0;
        for (int i = 0; i < size; i++)
        {
            ulong a = address + (ulong)i;
            value |= (a < address ? 0xFFUL : Read(a, 1)) << (8 * i);
        }

        return value;
    }

    /// <summary>Writes the low 1, 2, 4 or 8 bytes of <paramref name="value"/>, little-endian.</summary>
    public void Write(ulong address, int size, ulong value)
    {
        var region = Lookup(address);
        if (region is not null && (address & 0xFFF) + (ulong)size <= 0x1000 && address + (ulong)size <= region.End)
        {
            ulong offset = address - region.Base;
            switch (region.Kind)
            {
                case RegionKind.Mmio:
                    MmioObserver?.Invoke(address, size, value & SizeMask(size), true, region);
                    region.Device!.Write(offset, size, value & SizeMask(size));
                    return;
                case RegionKind.Rom:
                    return;
            }

            // SAFETY: offset + size <= region.Size checked above.
            byte* p = region.Host + offset;
            switch (size)
            {
                case 1: *p = (byte)value; break;
                case 2: Unsafe.WriteUnaligned(p, (ushort)value); break;
                case 4: Unsafe.WriteUnaligned(p, (uint)value); break;
                case 8: Unsafe.WriteUnaligned(p, value); break;
                default: throw new ArgumentOutOfRangeException(nameof(size));
            }

            NoteRamWrite(region, offset, address, size);
            return;
        }

        if (region is null && (address & 0xFFF) + (ulong)size <= 0x1000)
        {
            return;
        }

        for (int i = 0; i < size && address + (ulong)i >= address; i++)
        {
            Write(address + (ulong)i, 1, value >> (8 * i));
        }
    }

    /// <summary>Copies guest-physical memory into <paramref name="destination"/> (unmapped bytes read as 0xFF).</summary>
    public void ReadBytes(ulong address, Span<byte> destination)
    {
        int done = 0;
        while (done < destination.Length)
        {
            ulong a = address + (ulong)done;
            int chunk = (int)Math.Min(0x1000 - (a & 0xFFF), (ulong)(destination.Length - done));
            byte* host = HostPage(a, forWrite: false);
            if (host != null)
            {
                // SAFETY: chunk stays inside the page HostPage returned.
                new ReadOnlySpan<byte>(host + (a & 0xFFF), chunk).CopyTo(destination.Slice(done, chunk));
            }
            else
            {
                for (int i = 0; i < chunk; i++)
                {
                    destination[done + i] = (byte)Read(a + (ulong)i, 1);
                }
            }

            done += chunk;
        }
    }

    /// <summary>Copies <paramref name="source"/> into guest-physical memory (ROM and unmapped bytes are dropped).</summary>
    public void WriteBytes(ulong address, ReadOnlySpan<byte> source)
    {
        // A page at a time into RAM (loading a kernel and its initrd is megabytes); anything else
        // (MMIO, ROM, unmapped, the end of the address space) a byte at a time through Write.
        int done = 0;
        while (done < source.Length)
        {
            ulong a = address + (ulong)done;
            int chunk = (int)Math.Min(0x1000 - (a & 0xFFF), (ulong)(source.Length - done));
            var region = Lookup(a);
            if (region is { Kind: RegionKind.Ram } && a + (ulong)chunk > a && a + (ulong)chunk <= region.End)
            {
                ulong offset = a - region.Base;

                // SAFETY: offset + chunk <= region.Size checked above.
                source.Slice(done, chunk).CopyTo(new Span<byte>(region.Host + offset, chunk));
                NoteRamWrite(region, offset, a, chunk);
            }
            else
            {
                for (int i = 0; i < chunk; i++)
                {
                    Write(a + (ulong)i, 1, source[done + i]);
                }
            }

            done += chunk;
        }
    }

    /// <summary>
    /// Writes <paramref name="length"/> zero bytes from <paramref name="address"/> (a BSS), as
    /// <see cref="WriteBytes"/> would, except that RAM already zero is left untouched: RAM never
    /// written since the machine was built is the kernel's zero page, and writing zeros over it
    /// would make the host allocate and fault in every page (a 4 MiB BSS took 10 ms).
    /// </summary>
    public void Clear(ulong address, ulong length)
    {
        ulong done = 0;
        while (done < length)
        {
            ulong a = address + done;
            int chunk = (int)Math.Min(0x1000 - (a & 0xFFF), length - done);
            var region = Lookup(a);
            if (region is { Kind: RegionKind.Ram } && a + (ulong)chunk > a && a + (ulong)chunk <= region.End)
            {
                // SAFETY: a + chunk <= region.End checked above.
                var target = new Span<byte>(region.Host + (a - region.Base), chunk);
                if (target.ContainsAnyExcept((byte)0))
                {
                    target.Clear();
                    NoteRamWrite(region, a - region.Base, a, chunk);
                }
            }
            else
            {
                WriteBytes(a, new byte[chunk]);
            }

            done += (ulong)chunk;
        }
    }

    /// <summary>True when [address, address+length) is entirely guest RAM.</summary>
    public bool IsRam(ulong address, ulong length)
    {
        ulong end = address + length;
        if (end < address)
        {
            return false;
        }

        for (ulong a = address & ~0xFFFUL; a < end; a += 0x1000)
        {
            if (Lookup(a) is not { Kind: RegionKind.Ram })
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Marks the RAM page holding <paramref name="address"/> as holding translated code.</summary>
    public void MarkCode(ulong address)
    {
        var region = Lookup(address);
        if (region is { Kind: RegionKind.Ram })
        {
            _codePages[(region.RamOffset + (address - region.Base)) >> PageShift] = 1;
        }
    }

    public bool IsCode(ulong address)
    {
        var region = Lookup(address);
        return region is { Kind: RegionKind.Ram } && _codePages[(region.RamOffset + (address - region.Base)) >> PageShift] != 0;
    }

    private void NoteRamWrite(MemoryRegion region, ulong offset, ulong address, int size)
    {
        ulong ramPage = (region.RamOffset + offset) >> PageShift;
        if (_codePages[ramPage] != 0)
        {
            _codePages[ramPage] = 0;
            CodeModified?.Invoke(address, size);
        }
    }

    private static ulong SizeMask(int size) => size >= 8 ? ulong.MaxValue : (1UL << (8 * size)) - 1;

    public void Dispose()
    {
        foreach (nint block in _romBlocks)
        {
            NativeMemory.AlignedFree((void*)block);
        }

        _romBlocks.Clear();
        Array.Clear(_chunks);
    }
}
