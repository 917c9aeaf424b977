using Emulator.Mmu.Ports;
using Xunit;

namespace Emulator.Mmu.Tests.Ports;

public class IoPortSpaceTests
{
    private readonly IoPortSpace _ports = new();

    [Theory]
    [InlineData(1, 0xFFu)]
    [InlineData(2, 0xFFFFu)]
    [InlineData(4, 0xFFFF_FFFFu)]
    public void UnmappedPortsReadAllOnesAndIgnoreWrites(int size, uint expected)
    {
        foreach (ushort port in new ushort[] { 0, 0x80, 0x3F8, 0xFFFC })
        {
            _ports.Write(port, size, 0);
            Assert.Equal(expected, _ports.Read(port, size));
        }
    }

    [Fact]
    public void OffsetsAreRelativeToTheRangeBase()
    {
        var device = new RecordingDevice();
        _ports.Map(0x3F8, 8, device);
        Assert.Equal(0xA3u, _ports.Read(0x3FB, 1));
        _ports.Write(0x3FF, 1, 0x42);
        _ports.Write(0x3F8, 4, 0x1234_5678);
        Assert.Equal([(3UL, 1, 0xA3UL, false), (7UL, 1, 0x42UL, true), (0UL, 4, 0x1234_5678UL, true)], device.Log);
        Assert.Same(device, _ports.Lookup(0x3FF)!.Device);
        Assert.Null(_ports.Lookup(0x400));
        Assert.Equal("03f8-03ff recorder", _ports.Ranges.Single().ToString());
    }

    [Fact]
    public void ReadsAreMaskedToTheAccessSize()
    {
        _ports.Map(0x60, 4, new RecordingDevice(read: (offset, size) => 0x1122_3344_5566_7788));
        Assert.Equal(0x88u, _ports.Read(0x60, 1));
        Assert.Equal(0x7788u, _ports.Read(0x60, 2));
        Assert.Equal(0x5566_7788u, _ports.Read(0x60, 4));
    }

    [Fact]
    public void WritesPassOnlyTheLowBytesOfTheValue()
    {
        // IBusDevice.Write: "writes the low size bytes of value"; the bus masks, as PhysicalMemory does for MMIO.
        var device = new RecordingDevice();
        _ports.Map(0x60, 4, device);
        _ports.Write(0x60, 1, 0x1234_5678);
        _ports.Write(0x60, 2, 0x1234_5678);
        _ports.Write(0x60, 4, 0x1234_5678);
        Assert.Equal([0x78UL, 0x5678UL, 0x1234_5678UL], device.Log.Select(e => e.Value));
    }

    [Fact]
    public void AnAccessStraddlingTwoDevicesIsSplitAtTheRangeBoundary()
    {
        var a = new RecordingDevice("a", (offset, size) => 0x1111_1111);
        var b = new RecordingDevice("b", (offset, size) => 0x2222_2222);
        _ports.Map(0x100, 2, a);
        _ports.Map(0x102, 2, b);

        // 4 bytes at 0x101: one byte of a, both bytes of b, one unmapped byte (QEMU splits at the
        // region boundary into the largest accesses that fit each region).
        Assert.Equal(0xFF22_2211u, _ports.Read(0x101, 4));
        Assert.Equal([(1UL, 1, 0x1111_1111UL, false)], a.Log);
        Assert.Equal([(0UL, 2, 0x2222_2222UL, false)], b.Log);

        a.Log.Clear();
        b.Log.Clear();
        _ports.Write(0x101, 4, 0xDDCC_BBAA);
        Assert.Equal([(1UL, 1, 0xAAUL, true)], a.Log);
        Assert.Equal([(0UL, 2, 0xCCBBUL, true)], b.Log);

        // A word at the last port of a range and the first unmapped one.
        a.Log.Clear();
        b.Log.Clear();
        Assert.Equal(0x2211u, _ports.Read(0x101, 2));
        Assert.Equal([(0UL, 1, 0x2222_2222UL, false)], b.Log);
        b.Log.Clear();
        _ports.Write(0x103, 2, 0xBEEF);
        Assert.Equal([(1UL, 1, 0xEFUL, true)], b.Log);
    }

    [Fact]
    public void ADwordStartingInUnmappedSpaceReachesTheDeviceAfterIt()
    {
        var device = new RecordingDevice(read: (offset, size) => 0x5A5A);
        _ports.Map(0x202, 2, device);
        Assert.Equal(0x5A5A_FFFFu, _ports.Read(0x200, 4));
        _ports.Write(0x200, 4, 0x1234_5678);
        Assert.Equal([(0UL, 2, 0x5A5AUL, false), (0UL, 2, 0x1234UL, true)], device.Log);
    }

    [Fact]
    public void MappingAPortTwiceThrowsAndLeavesTheMapUnchanged()
    {
        var first = new RecordingDevice("first");
        var second = new RecordingDevice("second");
        _ports.Map(0x3F8, 8, first);
        Assert.Throws<InvalidOperationException>(() => _ports.Map(0x3F8, 8, second));
        Assert.Throws<InvalidOperationException>(() => _ports.Map(0x3F0, 9, second));
        Assert.Throws<InvalidOperationException>(() => _ports.Map(0x3FF, 1, second));
        Assert.Null(_ports.Lookup(0x3F0));
        Assert.Same(first, _ports.Lookup(0x3FF)!.Device);
        Assert.Single(_ports.Ranges);
        _ports.Map(0x3F0, 8, second); // the ports next to it are still free
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(0, -1)]
    [InlineData(0xFFFF, 2)]
    [InlineData(0, 0x10001)]
    public void MappingOutsideTheSpaceThrows(int basePort, int length)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ports.Map((ushort)basePort, length, new RecordingDevice()));
    }

    [Fact]
    public void ObserverSeesEachAccessOnce()
    {
        var seen = new List<(ushort Port, int Size, uint Value, bool IsWrite)>();
        _ports.Observer = (port, size, value, isWrite) => seen.Add((port, size, value, isWrite));
        _ports.Map(0x100, 2, new RecordingDevice("a", (offset, size) => 0x11));
        _ports.Map(0x102, 2, new RecordingDevice("b", (offset, size) => 0x22));

        _ports.Read(0x100, 1);
        _ports.Read(0x101, 4);
        _ports.Read(0x400, 2);
        _ports.Write(0x101, 4, 0xDDCC_BBAA);
        _ports.Write(0x400, 1, 7);
        Assert.Equal(
            [(0x100, 1, 0x11u, false), (0x101, 4, 0xFF00_2211u, false), (0x400, 2, 0xFFFFu, false), (0x101, 4, 0xDDCC_BBAAu, true), (0x400, 1, 7u, true)],
            seen);
    }
}
