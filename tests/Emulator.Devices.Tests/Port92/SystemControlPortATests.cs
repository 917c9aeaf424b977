using Emulator.Devices.Port92;
using Emulator.Mmu.Ports;
using Xunit;

namespace Emulator.Devices.Tests.Port92;

/// <summary>Port 0x92 driven through the port space (PIIX4 datasheet, port 92h).</summary>
public class SystemControlPortATests
{
    [Fact]
    public void ResetOnARisingBitZeroOnly()
    {
        int resets = 0;
        var ports = new IoPortSpace();
        ports.Map(SystemControlPortA.Port, 1, new SystemControlPortA(() => resets++));

        Assert.Equal(0x02u, ports.Read(0x92, 1)); // A20 enabled at power-on
        ports.Write(0x92, 1, 0x02);
        Assert.Equal(0, resets);
        ports.Write(0x92, 1, 0x03);
        Assert.Equal(1, resets);
        ports.Write(0x92, 1, 0x03); // still set: no new edge
        Assert.Equal(1, resets);
        ports.Write(0x92, 1, 0x02);
        ports.Write(0x92, 1, 0x01);
        Assert.Equal(2, resets);
        Assert.Equal(0x01u, ports.Read(0x92, 1)); // A20 bit reads back as written; reserved bits read 0
    }

    [Fact]
    public void BitOneDrivesTheA20LineOnEveryWriteAndResetEnablesIt()
    {
        var a20 = new List<bool>();
        var ports = new IoPortSpace();
        var device = new SystemControlPortA(() => { }, a20.Add);
        ports.Map(SystemControlPortA.Port, 1, device);

        ports.Write(0x92, 1, 0x00); // fast A20 off
        ports.Write(0x92, 1, 0x02); // on
        ports.Write(0x92, 1, 0x00);
        device.Reset();
        Assert.Equal([false, true, false, true], a20);
        Assert.Equal(0x02u, ports.Read(0x92, 1));
    }

    [Fact]
    public void RandomTrafficNeverThrows()
    {
        var ports = new IoPortSpace();
        var device = new SystemControlPortA(() => { });
        ports.Map(SystemControlPortA.Port, 1, device);
        var random = new Random(92);
        for (int k = 0; k < 10_000; k++)
        {
            int size = 1 << random.Next(3);
            if (random.Next(2) == 0)
            {
                ports.Write(0x92, size, (uint)random.Next());
            }
            else
            {
                Assert.Equal(0u, ports.Read(0x92, 1) & 0xFC);
            }
        }
    }
}
