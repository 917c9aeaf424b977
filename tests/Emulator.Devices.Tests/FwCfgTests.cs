using System.Buffers.Binary;
using System.Text;
using Emulator.Devices.FwCfg;
using Emulator.Mmu.Ports;
using Xunit;

namespace Emulator.Devices.Tests;

/// <summary>
/// fw_cfg through its legacy ports only (QEMU docs/specs/fw_cfg.rst): select with a 16-bit write
/// to 0x510, read bytes from 0x511.
/// </summary>
public class FwCfgTests
{
    private readonly IoPortSpace _ports = new();
    private readonly FwCfg.FwCfg _device = new(256UL << 20);

    public FwCfgTests()
    {
        _ports.Map(FwCfg.FwCfg.SelectorPort, FwCfg.FwCfg.PortCount, _device);
    }

    private byte[] ReadItem(ushort selector, int length)
    {
        _ports.Write(0x510, 2, selector);
        var bytes = new byte[length];
        for (int k = 0; k < length; k++)
        {
            bytes[k] = (byte)_ports.Read(0x511, 1);
        }

        return bytes;
    }

    [Fact]
    public void SignatureIsQemu()
    {
        Assert.Equal("QEMU", Encoding.ASCII.GetString(ReadItem(0x0000, 4)));
    }

    [Fact]
    public void IdReportsTheTraditionalInterfaceOnly()
    {
        // Bit 0: traditional I/O interface; bit 1 (DMA) clear.
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(ReadItem(0x0001, 4)));
    }

    [Fact]
    public void RamSizeAndCpuCountsAreLittleEndian()
    {
        Assert.Equal(256UL << 20, BinaryPrimitives.ReadUInt64LittleEndian(ReadItem(0x0003, 8)));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(ReadItem(0x0005, 2)));
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(ReadItem(0x000F, 2)));
    }

    [Fact]
    public void ReadsPastTheEndAndOfUnknownItemsAreZero()
    {
        Assert.Equal([(byte)'Q', (byte)'E', (byte)'M', (byte)'U', 0, 0], ReadItem(0x0000, 6));
        Assert.Equal(new byte[4], ReadItem(0x0123, 4));
    }

    [Fact]
    public void SelectingAgainRewinds()
    {
        ReadItem(0x0000, 2);
        Assert.Equal("QEMU", Encoding.ASCII.GetString(ReadItem(0x0000, 4)));
    }

    [Fact]
    public void EmptyFileDirectoryHasACountOfZero()
    {
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(ReadItem(0x0019, 4)));
    }

    [Fact]
    public void FileDirectoryListsFilesBigEndianAndTheirSelectorsServeTheContents()
    {
        _device.AddFile("etc/test", [1, 2, 3]);
        _device.AddFile("opt/emu/other", [9]);
        byte[] dir = ReadItem(0x0019, 4 + (2 * 64));
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32BigEndian(dir));
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32BigEndian(dir.AsSpan(4)));
        ushort select = BinaryPrimitives.ReadUInt16BigEndian(dir.AsSpan(8));
        Assert.Equal("etc/test", Encoding.ASCII.GetString(dir, 12, 56).TrimEnd('\0'));
        Assert.Equal("opt/emu/other", Encoding.ASCII.GetString(dir, 4 + 64 + 8, 56).TrimEnd('\0'));
        Assert.Equal([1, 2, 3], ReadItem(select, 3));
    }

    [Fact]
    public void ByteWritesAndWideReadsChangeNothing()
    {
        _ports.Write(0x510, 2, 0);
        _ports.Write(0x511, 1, 0x55);
        _ports.Write(0x510, 1, 0x05); // not a selector write
        Assert.Equal(0xFFFFUL, _ports.Read(0x510, 2));
        Assert.Equal((ulong)'Q', _ports.Read(0x511, 1));
    }

    [Fact]
    public void RandomTrafficNeverThrows()
    {
        var random = new Random(7);
        int[] sizes = [1, 2, 4];
        for (int i = 0; i < 20_000; i++)
        {
            var port = (ushort)(0x50E + random.Next(6));
            int size = sizes[random.Next(3)];
            if (random.Next(2) == 0)
            {
                _ports.Read(port, size);
            }
            else
            {
                _ports.Write(port, size, (uint)random.Next());
            }
        }
    }
}
