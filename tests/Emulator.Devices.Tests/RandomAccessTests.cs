using Xunit;

namespace Emulator.Devices.Tests;

/// <summary>
/// STYLE.md's random-access test: any sequence of reads and writes of any size to any port, with
/// serial input arriving and resets in between, leaves the process standing (no exception escapes).
/// </summary>
public class RandomAccessTests
{
    private static readonly ushort[] s_hotPorts = [0x3F8, 0x80, 0x8900, 0xE9, 0x501, 0xF4];

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(4, 1)]
    public void RandomPortTrafficNeverThrows(int seed, int exitSize)
    {
        var random = new Random(seed);
        var pc = new PcPorts(exitSize == 4 ? (ushort)0xF4 : (ushort)0x501, exitSize);
        int[] sizes = [1, 2, 4];
        for (int i = 0; i < 50_000; i++)
        {
            // Mostly near a device (including the ports just before and after its range), sometimes anywhere.
            ushort port = random.Next(4) == 0
                ? (ushort)random.Next(0x10000)
                : (ushort)(s_hotPorts[random.Next(s_hotPorts.Length)] + random.Next(-3, 11));
            int size = sizes[random.Next(3)];
            switch (random.Next(10))
            {
                case < 5:
                    pc.Ports.Read(port, size);
                    break;
                case < 9:
                    pc.Ports.Write(port, size, (uint)random.NextInt64(0x1_0000_0000));
                    break;
                default:
                    if (random.Next(50) == 0)
                    {
                        pc.Uart.Reset();
                    }

                    pc.Uart.Receive((byte)random.Next(256));
                    break;
            }
        }

        // Still a working UART afterwards.
        pc.Uart.Reset();
        pc.Transmitted.Clear();
        pc.Com(0, 0x41);
        Assert.Equal([0x41], pc.Transmitted);
    }
}
