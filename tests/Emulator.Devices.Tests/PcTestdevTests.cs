using Emulator.Devices.Interrupts;
using Emulator.Mmu.Physical;
using Emulator.Mmu.Ports;
using Xunit;

namespace Emulator.Devices.Tests;

/// <summary>
/// QEMU's pc-testdev (hw/misc/pc-testdev.c) through its ports and its MMIO window only, mapped
/// where Machine/Board/PcBoard.cs maps it.
/// </summary>
public sealed class PcTestdevTests : IDisposable
{
    private readonly IoPortSpace _ports = new();
    private readonly GuestRam _ram = new(1 << 20);
    private readonly PhysicalMemory _memory;
    private readonly InterruptLine _irq5 = new("irq5");
    private readonly PcTestdev.PcTestdev _device;

    public PcTestdevTests()
    {
        _device = new PcTestdev.PcTestdev([null, null, null, null, null, _irq5]);
        _ports.Map(0xE0, 12, _device);
        _ports.Map(0x2000, 24, _device.IrqLines);
        _memory = new PhysicalMemory(_ram);
        _memory.MapMmio("pc-testdev-iomem", 0xFF00_0000, 0x1_0000, _device.Memory);
    }

    [Fact]
    public void PortE0IsAReadBackRegisterAtEveryWidthAndOffset()
    {
        _ports.Write(0xE0, 4, 0x1234_5678);
        Assert.Equal(0x1234_5678UL, _ports.Read(0xE0, 4));
        Assert.Equal(0x5678UL, _ports.Read(0xE0, 2));
        Assert.Equal(0x34UL, _ports.Read(0xE2, 1));
        _ports.Write(0xE1, 1, 0xAB);
        Assert.Equal(0x1234_AB78UL, _ports.Read(0xE0, 4));
        _ports.Write(0xE2, 2, 0xCDEF);
        Assert.Equal(0xCDEF_AB78UL, _ports.Read(0xE0, 4));
    }

    [Fact]
    public void PortE8IsTheSameRegisterByteByByte()
    {
        _ports.Write(0xE8, 4, 0xA1B2_C3D4);
        Assert.Equal(0xA1B2_C3D4UL, _ports.Read(0xE0, 4));
        Assert.Equal(0xB2UL, _ports.Read(0xEA, 1));
    }

    [Fact]
    public void FlushPagePortAcceptsWritesAndLeavesTheRegister()
    {
        _ports.Write(0xE0, 4, 7);
        _ports.Write(0xE4, 4, 0x1000);
        Assert.Equal(1, _device.FlushRequests);
        Assert.Equal(7UL, _ports.Read(0xE0, 4));
    }

    [Fact]
    public void IrqLinePortsDriveTheirLines()
    {
        _ports.Write(0x2005, 1, 1);
        Assert.True(_irq5.IsRaised);
        _ports.Write(0x2005, 1, 0);
        Assert.False(_irq5.IsRaised);
        _ports.Write(0x2003, 1, 1); // an unwired line: accepted
    }

    [Fact]
    public void MmioWindowStoresWhatIsWritten()
    {
        _memory.Write(0xFF00_0010, 8, 0x0102_0304_0506_0708);
        _memory.Write(0xFF00_FFFF, 1, 0x99);
        Assert.Equal(0x0506_0708UL, _memory.Read(0xFF00_0010, 4));
        Assert.Equal(0x07UL, _memory.Read(0xFF00_0011, 1));
        Assert.Equal(0x99UL, _memory.Read(0xFF00_FFFF, 1));
    }

    [Fact]
    public void RandomTrafficNeverThrows()
    {
        var random = new Random(3);
        int[] sizes = [1, 2, 4];
        for (int i = 0; i < 20_000; i++)
        {
            int size = sizes[random.Next(3)];
            var port = (ushort)(random.Next(2) == 0 ? 0xDE + random.Next(16) : 0x1FFE + random.Next(30));
            if (random.Next(2) == 0)
            {
                _ports.Read(port, size);
            }
            else
            {
                _ports.Write(port, size, (uint)random.Next());
            }

            ulong address = 0xFF00_0000 + (ulong)random.Next(0x1_0000);
            _memory.Write(address, size, (uint)random.Next());
            _memory.Read(address, size);
        }
    }

    public void Dispose()
    {
        _memory.Dispose();
        _ram.Dispose();
    }
}
