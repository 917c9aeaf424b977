using Emulator.Mmu.Physical;
using Xunit;

namespace Emulator.Mmu.Tests.Physical;

public sealed unsafe class PhysicalMemoryTests : IDisposable
{
    private const ulong RamSize = 0x10000;

    private readonly GuestRam _ram = new(RamSize);
    private readonly PhysicalMemory _memory;

    public PhysicalMemoryTests()
    {
        _memory = new PhysicalMemory(_ram);
        _memory.MapRam("ram", 0, 0, RamSize);
    }

    public void Dispose()
    {
        _memory.Dispose();
        _ram.Dispose();
    }

    private static ulong Mask(int size) => size == 8 ? ulong.MaxValue : (1UL << (8 * size)) - 1;

    [Theory]
    [InlineData(1, 0x100UL)]
    [InlineData(2, 0x100UL)]
    [InlineData(4, 0x100UL)]
    [InlineData(8, 0x100UL)]
    [InlineData(2, 0x101UL)]
    [InlineData(4, 0x103UL)]
    [InlineData(8, 0x105UL)]
    [InlineData(2, 0xFFFUL)]
    [InlineData(4, 0x1FFEUL)]
    [InlineData(8, 0x2FF9UL)]
    [InlineData(8, 0xFFF0UL)]
    public void WriteThenReadRoundTripsLittleEndian(int size, ulong address)
    {
        const ulong Pattern = 0x8877_6655_4433_2211;
        _memory.Write(address, size, Pattern);
        Assert.Equal(Pattern & Mask(size), _memory.Read(address, size));
        for (int i = 0; i < size; i++)
        {
            Assert.Equal((ulong)(0x11 * (i + 1)), _memory.Read(address + (ulong)i, 1));
            Assert.Equal((byte)(0x11 * (i + 1)), _ram.Pointer[address + (ulong)i]);
        }

        // Neighbours stay untouched.
        Assert.Equal(0UL, _memory.Read(address - 1, 1));
        Assert.Equal(0UL, _memory.Read(address + (ulong)size, 1));
    }

    [Fact]
    public void AccessCrossingFromRamIntoUnmappedSpaceSplits()
    {
        using var ram = new GuestRam(0x2000);
        using var memory = new PhysicalMemory(ram);
        memory.MapRam("ram", 0, 0, 0x2000);
        memory.Write(0x1FFE, 4, 0xDDCC_BBAA);
        Assert.Equal(0xAA, ram.Pointer[0x1FFE]);
        Assert.Equal(0xBB, ram.Pointer[0x1FFF]);
        Assert.Equal(0xFFFF_BBAAUL, memory.Read(0x1FFE, 4));
        Assert.Equal(0xFFFF_FFFF_FFFF_BBAAUL, memory.Read(0x1FFE, 8));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void UnmappedReadsReturnAllOnesAndWritesAreDropped(int size)
    {
        foreach (ulong address in new ulong[] { RamSize, RamSize + 0x123, 0xFEE0_0000, 0x1_0000_0FFD })
        {
            _memory.Write(address, size, 0);
            Assert.Equal(Mask(size), _memory.Read(address, size));
            Assert.Null(_memory.Lookup(address));
        }
    }

    [Fact]
    public void RomReadsItsImageAndDropsWrites()
    {
        byte[] image = [1, 2, 3, 4, 5];
        var region = _memory.MapRom("rom", 0x20000, image);
        Assert.Equal(RegionKind.Rom, region.Kind);
        Assert.Equal(0x1000UL, region.Size);
        Assert.Equal(0x0504_0302_01UL, _memory.Read(0x20000, 8) & 0xFF_FFFF_FFFF);
        Assert.Equal(0xFFUL, _memory.Read(0x20005, 1)); // padding past the image reads as erased flash
        _memory.Write(0x20000, 4, 0xFFFF_FFFF);
        _memory.Write(0x20001, 1, 0);
        _memory.WriteBytes(0x20002, [9, 9]);
        Assert.Equal(0x0403_0201UL, _memory.Read(0x20000, 4));
        Assert.True(_memory.HostPage(0x20000, forWrite: false) != null);
        Assert.True(_memory.HostPage(0x20000, forWrite: true) == null);
    }

    [Fact]
    public void MmioDispatchesWithOffsetsRelativeToTheRegionBase()
    {
        var device = new RecordingDevice(read: (offset, size) => 0x1122_3344_5566_7788 + offset);
        _memory.MapMmio("dev", 0xFED0_0000, 0x2000, device);
        Assert.Equal(0x7788UL + 0x10, _memory.Read(0xFED0_0010, 2));
        _memory.Write(0xFED0_1008, 4, 0xAABB_CCDD_EEFF_0011);
        Assert.Equal(0x1122_3344_5566_7788UL + 0x1000, _memory.Read(0xFED0_1000, 8));
        Assert.Equal(
            [(0x10UL, 2, 0x1122_3344_5566_7798UL, false), (0x1008UL, 4, 0xEEFF_0011UL, true), (0x1000UL, 8, 0x1122_3344_5566_8788UL, false)],
            device.Log);
        Assert.True(_memory.HostPage(0xFED0_0000, forWrite: false) == null);
        Assert.False(_memory.IsRam(0xFED0_0000, 1));
    }

    [Fact]
    public void MmioAccessCrossingAPageSplitsIntoBytesAtConsecutiveOffsets()
    {
        var device = new RecordingDevice();
        _memory.MapMmio("dev", 0x40000, 0x2000, device);
        ulong value = _memory.Read(0x40FFE, 4);
        // Each byte is the low byte of 0xA0 + offset: 0x109E, 0x109F, 0x10A0, 0x10A1.
        Assert.Equal(0xA1A0_9F9EUL, value);
        Assert.Equal([0xFFEUL, 0xFFFUL, 0x1000UL, 0x1001UL], device.Log.Select(e => e.Offset));
        Assert.All(device.Log, e => Assert.Equal(1, e.Size));
    }

    [Fact]
    public void WriteBytesCopiesRamInPagesAndSendsOtherBytesThroughWrite()
    {
        // RAM 0x2000-0x2FFF, an MMIO page at 0x3000, RAM again from 0x4000: the RAM parts land in
        // memory, the device sees one byte write per byte at consecutive offsets.
        var device = new RecordingDevice();
        _memory.MapMmio("hole", 0x3000, 0x1000, device);
        byte[] data = [.. Enumerable.Range(0, 0x2010).Select(k => (byte)((k * 13) + 1))];
        _memory.WriteBytes(0x2800, data);
        for (int k = 0; k < data.Length; k++)
        {
            ulong a = 0x2800 + (ulong)k;
            if (a is < 0x3000 or >= 0x4000)
            {
                Assert.Equal(data[k], (byte)_memory.Read(a, 1));
            }
        }

        Assert.Equal(0x1000, device.Log.Count);
        Assert.All(device.Log, e => Assert.Equal(1, e.Size));
        Assert.Equal(0UL, device.Log[0].Offset);
        Assert.Equal(0xFFFUL, device.Log[^1].Offset);
    }

    [Fact]
    public void OverlappingMapsLaterWins()
    {
        var device = new RecordingDevice();
        _memory.Write(0x3000, 4, 0x1234_5678);
        _memory.MapMmio("hole", 0x3000, 0x1000, device);
        Assert.Equal(0xA0UL, _memory.Read(0x3000, 1));
        Assert.Equal(0UL, _memory.Read(0x2FFF, 1));
        Assert.Equal(0UL, _memory.Read(0x4000, 1));
        Assert.Single(device.Log);

        // Mapping RAM again over the hole brings the old contents back.
        _memory.MapRam("ram-again", 0x3000, 0x3000, 0x1000);
        Assert.Equal(0x1234_5678UL, _memory.Read(0x3000, 4));
        Assert.Equal(3, _memory.Regions.Count);
    }

    [Fact]
    public void AddressesBeyondThePhysicalSpaceAreUnmapped()
    {
        ulong top = PhysicalMemory.MaxAddress;
        Assert.Equal((1UL << 40) - 1, top);
        Assert.Null(_memory.Lookup(top + 1));
        Assert.Equal(ulong.MaxValue, _memory.Read(top + 1, 8));
        Assert.Equal(0xFFFF_FFFFUL, _memory.Read(0x8000_0000_0000_0000, 4));
        _memory.Write(top + 1, 8, 0);
        Assert.Throws<ArgumentException>(() => _memory.MapMmio("high", 1UL << 40, 0x1000, new RecordingDevice()));
        Assert.Throws<ArgumentException>(() => _memory.MapMmio("straddle", top - 0xFFF, 0x2000, new RecordingDevice()));
        Assert.Throws<ArgumentException>(() => _memory.MapMmio("wrap", 0xFFFF_FFFF_FFFF_F000, 0x1000, new RecordingDevice()));

        // The topmost page can be mapped; an access running off its end reads all ones above it.
        _memory.MapRam("top", top - 0xFFF, 0, 0x1000);
        _memory.Write(0, 2, 0xBBAA);
        Assert.Equal(0xBBAAUL, _memory.Read(top - 0xFFF, 2));
        _ram.Pointer[0xFFF] = 0x77;
        Assert.Equal(0xFFFF_FFFF_FFFF_FF77UL, _memory.Read(top, 8));
    }

    [Fact]
    public void AccessRunningPastTheTopOfTheAddressSpaceDoesNotWrapToZero()
    {
        _memory.Write(0, 8, 0x0102_0304_0506_0708);
        Assert.Equal(0xFFFF_FFFFUL, _memory.Read(ulong.MaxValue - 1, 4));
        _memory.Write(ulong.MaxValue - 1, 4, 0);
        Assert.Equal(0x0102_0304_0506_0708UL, _memory.Read(0, 8));
    }

    [Fact]
    public void MapValidatesAlignmentAndRamBounds()
    {
        var device = new RecordingDevice();
        Assert.Throws<ArgumentException>(() => _memory.MapMmio("unaligned-base", 0x20800, 0x1000, device));
        Assert.Throws<ArgumentException>(() => _memory.MapMmio("unaligned-size", 0x20000, 0x800, device));
        Assert.Throws<ArgumentException>(() => _memory.MapMmio("empty", 0x20000, 0, device));
        Assert.Throws<ArgumentException>(() => _memory.MapRom("empty", 0x20000, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => _memory.MapRam("too-big", 0x20000, 0, RamSize + 0x1000));
        Assert.Throws<ArgumentOutOfRangeException>(() => _memory.MapRam("past-end", 0x20000, RamSize, 0x1000));
    }

    [Fact]
    public void MapRamRejectsARamOffsetThatIsNotPageAligned()
    {
        // Code-page tracking and the TLB's host pages index guest RAM by page: a slice starting
        // mid-page would let one guest page straddle two tracked RAM pages.
        Assert.ThrowsAny<ArgumentException>(() => _memory.MapRam("skewed", 0x20000, 0x800, 0x1000));
    }

    [Fact]
    public void WriteToMarkedCodePageRaisesCodeModifiedWithTheBytesWrittenAndClearsTheMark()
    {
        var events = new List<(ulong Address, int Size)>();
        _memory.CodeModified += (address, size) => events.Add((address, size));
        _memory.MarkCode(0x5123);
        Assert.True(_memory.IsCode(0x5000));
        Assert.True(_memory.IsCode(0x5FFF));
        Assert.False(_memory.IsCode(0x6000));
        Assert.True(_memory.HostPage(0x5000, forWrite: true) == null);
        Assert.True(_memory.HostPage(0x5000, forWrite: false) != null);

        _memory.Read(0x5000, 8);
        _memory.Write(0x6000, 8, 1);
        Assert.Empty(events);

        _memory.Write(0x5800, 4, 0x1234);
        _memory.Write(0x5804, 4, 0x5678); // the mark is gone: no listener marked the page again
        Assert.Equal([(0x5800UL, 4)], events);
        Assert.False(_memory.IsCode(0x5000));
        Assert.True(_memory.HostPage(0x5000, forWrite: true) != null);
        Assert.Equal(0x1234UL, _memory.Read(0x5800, 4)); // the listener runs after the write
    }

    [Fact]
    public void AListenerThatMarksThePageAgainSeesEveryLaterWrite()
    {
        var events = new List<(ulong Address, int Size)>();
        _memory.CodeModified += (address, size) =>
        {
            events.Add((address, size));
            _memory.MarkCode(address);
        };
        _memory.MarkCode(0x5000);
        _memory.Write(0x5010, 2, 1);
        _memory.Write(0x5020, 8, 2);
        Assert.Equal([(0x5010UL, 2), (0x5020UL, 8)], events);
        Assert.True(_memory.IsCode(0x5000));
    }

    [Fact]
    public void WriteSpanningTwoMarkedPagesRaisesOncePerPage()
    {
        var events = new List<ulong>();
        _memory.CodeModified += (address, _) => events.Add(address);
        _memory.MarkCode(0x7000);
        _memory.MarkCode(0x8000);
        _memory.Write(0x7FFC, 8, ulong.MaxValue);
        Assert.Equal([0x7FFCUL, 0x8000UL], events);

        events.Clear();
        _memory.MarkCode(0x7000);
        _memory.MarkCode(0x8000);
        _memory.WriteBytes(0x7F00, new byte[0x200]);
        Assert.Equal([0x7F00UL, 0x8000UL], events);
    }

    [Fact]
    public void ClearZeroesRamAndSendsOtherBytesThroughWrite()
    {
        // RAM with bytes in it on both sides of an MMIO page: all of it reads zero afterwards, and the
        // device sees one zero byte write per byte of its page.
        var device = new RecordingDevice();
        _memory.MapMmio("hole", 0x3000, 0x1000, device);
        _memory.WriteBytes(0x2800, [.. Enumerable.Repeat((byte)0x5A, 0x2010)]);
        device.Log.Clear();
        _memory.Clear(0x2801, 0x200E);
        Assert.Equal(0x5AUL, _memory.Read(0x2800, 1));
        Assert.Equal(0x5AUL, _memory.Read(0x480F, 1));
        for (ulong a = 0x2801; a < 0x480F; a++)
        {
            if (a is < 0x3000 or >= 0x4000)
            {
                Assert.Equal(0UL, _memory.Read(a, 1));
            }
        }

        Assert.Equal(0x1000, device.Log.Count);
        Assert.All(device.Log, e => Assert.Equal((1, 0UL, true), (e.Size, e.Value, e.IsWrite)));
    }

    [Fact]
    public void ClearLeavesRamThatIsAlreadyZeroUntouched()
    {
        // A code page already zero is not written (no CodeModified, still code); one with a byte in it is.
        var events = new List<ulong>();
        _memory.CodeModified += (address, _) => events.Add(address);
        _memory.Write(0x8010, 1, 0x90);
        _memory.MarkCode(0x7000);
        _memory.MarkCode(0x8000);
        _memory.Clear(0x7000, 0x2000);
        Assert.Equal([0x8000UL], events);
        Assert.True(_memory.IsCode(0x7000));
        Assert.False(_memory.IsCode(0x8000));
        Assert.Equal(0UL, _memory.Read(0x8010, 1));
    }

    [Fact]
    public void MarkCodeIgnoresRomMmioAndUnmappedSpace()
    {
        _memory.MapRom("rom", 0x20000, [0x90]);
        _memory.MapMmio("dev", 0x30000, 0x1000, new RecordingDevice());
        _memory.MarkCode(0x20000);
        _memory.MarkCode(0x30000);
        _memory.MarkCode(0x4000_0000);
        Assert.False(_memory.IsCode(0x20000));
        Assert.False(_memory.IsCode(0x30000));
        Assert.False(_memory.IsCode(0x4000_0000));
    }

    [Fact]
    public void ReadBytesAndWriteBytesSpanRamMmioRomAndUnmappedSpace()
    {
        // Map: RAM to 0x10000, MMIO page at 0x10000, ROM page at 0x11000, nothing at 0x12000.
        var device = new RecordingDevice(read: (offset, size) => 0x40 + offset);
        _memory.MapMmio("dev", 0x10000, 0x1000, device);
        _memory.MapRom("rom", 0x11000, Enumerable.Repeat((byte)0xEE, 0x1000).ToArray());
        _memory.Write(0xFFFE, 2, 0x2211);

        var buffer = new byte[0x2004];
        _memory.ReadBytes(0xFFFE, buffer);
        Assert.Equal(0x11, buffer[0]);
        Assert.Equal(0x22, buffer[1]);
        Assert.Equal(0x40, buffer[2]);
        Assert.Equal(0x41, buffer[3]);
        Assert.Equal(0xEE, buffer[0x1002]);
        Assert.Equal(0xEE, buffer[0x2001]);
        Assert.Equal(0xFF, buffer[0x2002]);
        Assert.Equal(0xFF, buffer[0x2003]);
        Assert.Equal(0x1000, device.Log.Count);

        device.Log.Clear();
        byte[] source = Enumerable.Range(0, 0x2004).Select(i => (byte)i).ToArray();
        _memory.WriteBytes(0xFFFE, source);
        Assert.Equal(0x00, _ram.Pointer[0xFFFE]);
        Assert.Equal(0x01, _ram.Pointer[0xFFFF]);
        Assert.Equal(0x1000, device.Log.Count);
        Assert.Equal((0UL, 1, 2UL, true), device.Log[0]);
        Assert.Equal((0xFFFUL, 1, 0x01UL, true), device.Log[^1]);
        Assert.Equal(0xEEEE_EEEEUL, _memory.Read(0x11000, 4));
        Assert.Equal(0xFFFF_FFFFUL, _memory.Read(0x12000, 4));
    }

    [Fact]
    public void WriteBytesCopiesAnUnalignedSpanOverSeveralRamPagesExactly()
    {
        // Copied a page at a time: every page edge inside the span, and nothing past either end.
        byte[] source = Enumerable.Range(0, 0x3456).Select(i => (byte)((i * 7) + 3)).ToArray();
        _memory.Write(0x1233, 1, 0xAA);
        _memory.Write(0x1234 + 0x3456, 1, 0xBB);
        _memory.WriteBytes(0x1234, source);
        Assert.Equal(source, new ReadOnlySpan<byte>(_ram.Pointer + 0x1234, source.Length).ToArray());
        Assert.Equal(0xAAUL, _memory.Read(0x1233, 1));
        Assert.Equal(0xBBUL, _memory.Read(0x1234 + 0x3456, 1));
    }

    [Fact]
    public void IsRamIsTrueOnlyForRangesEntirelyInRam()
    {
        _memory.MapMmio("dev", 0x8000, 0x1000, new RecordingDevice());
        Assert.True(_memory.IsRam(0, 0x8000));
        Assert.False(_memory.IsRam(0x7FFF, 2));
        Assert.False(_memory.IsRam(0xFFFF, 2));
        Assert.False(_memory.IsRam(ulong.MaxValue, 2));
    }
}
