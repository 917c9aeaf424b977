using Emulator.Mmu.Physical;
using Xunit;

namespace Emulator.Mmu.Tests.Physical;

public unsafe class GuestRamTests
{
    [Theory]
    [InlineData(0x1000UL)]
    [InlineData(0x3000UL)]
    [InlineData(0x10_0000UL)]
    [InlineData(0x123_4000UL)]
    public void PointerIsPageAlignedAndMemoryIsZeroed(ulong size)
    {
        using var ram = new GuestRam(size);
        Assert.Equal(size, ram.Size);
        Assert.Equal(0UL, (ulong)ram.Pointer % GuestRam.PageSize);
        var all = new ReadOnlySpan<byte>(ram.Pointer, (int)size);
        Assert.Equal(-1, all.IndexOfAnyExcept((byte)0));
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(1UL)]
    [InlineData(0xFFFUL)]
    [InlineData(0x1001UL)]
    [InlineData(0x1800UL)]
    public void SizeMustBeANonZeroMultipleOfAPage(ulong size)
    {
        Assert.Throws<ArgumentException>(() => new GuestRam(size));
    }

    [Fact]
    public void AsSpanSeesTheSameBytesAsThePointer()
    {
        using var ram = new GuestRam(0x2000);
        ram.AsSpan(0x1FF0, 16).Fill(0x5A);
        Assert.Equal(0x5A, ram.Pointer[0x1FFF]);
        Assert.Equal(0, ram.Pointer[0x1FEF]);
        Assert.Equal(0x2000, ram.AsSpan(0, 0x2000).Length);
        Assert.Equal(0, ram.AsSpan(0x2000, 0).Length);
    }

    [Theory]
    [InlineData(0x2000UL, 1)]
    [InlineData(0x1FFFUL, 2)]
    [InlineData(0x2001UL, 0)]
    [InlineData(0UL, 0x2001)]
    [InlineData(0UL, -1)]
    [InlineData(ulong.MaxValue, 2)]
    public void AsSpanRejectsRangesOutsideRam(ulong offset, int length)
    {
        using var ram = new GuestRam(0x2000);
        Assert.Throws<ArgumentOutOfRangeException>(() => ram.AsSpan(offset, length));
    }

    [Fact]
    public void PointerThrowsAfterDispose()
    {
        var ram = new GuestRam(0x1000);
        ram.Dispose();
        ram.Dispose(); // a second Dispose is harmless
        Assert.Throws<ObjectDisposedException>(() => (ulong)ram.Pointer);
    }
}
