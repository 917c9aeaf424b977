using Emulator.Devices.DebugExit;
using Emulator.Devices.Interrupts;
using Xunit;

namespace Emulator.Devices.Tests;

/// <summary>isa-debug-exit, the Bochs shutdown port, the 0xE9 debug console and port 0x80.</summary>
public class SmallDeviceTests
{
    [Theory]
    [InlineData(1, 0u, 1)]
    [InlineData(1, 1u, 3)]
    [InlineData(1, 0x7Fu, 0xFF)]
    [InlineData(1, 0xFFu, 0x1FF)]
    [InlineData(2, 0x1234u, 0x2469)]
    [InlineData(4, 0x10u, 0x21)]
    [InlineData(4, 0x1234_5678u, 0x2468_ACF1)]
    public void IsaDebugExitReportsValueShiftedLeftOrOne(int iosize, uint value, int status)
    {
        // QEMU hw/misc/debugexit.c: exit((val << 1) | 1).
        var pc = new PcPorts(0xF4, iosize);
        pc.Ports.Write(0xF4, iosize, value);
        Assert.Equal([status], pc.ExitStatuses);
        Assert.Equal(0u, pc.Ports.Read(0xF4, 1));
    }

    [Theory]
    [InlineData(1, 0xFF)]
    [InlineData(2, 0xBEEF)]
    [InlineData(4, 0xDEAD_BEEF)]
    public void IsaDebugExitSeesOneAccessOfItsOwnWidthFromAWiderOut(int iosize, uint mask)
    {
        // A 32-bit OUT to a narrower port range is split at the range end (QEMU flatview dispatch):
        // the device sees one write of the bytes inside its range, so one exit request.
        var pc = new PcPorts(0x501, iosize);
        pc.Ports.Write(0x501, 4, 0xDEAD_BEEF);
        Assert.Equal([IsaDebugExit.ExitStatus(0xDEAD_BEEF & mask)], pc.ExitStatuses);
    }

    [Fact]
    public void IsaDebugExitOffsetsInsideItsRangeAlsoExit()
    {
        var pc = new PcPorts(0x501, 2);
        pc.Out(0x502, 0x05);
        Assert.Equal([11], pc.ExitStatuses);
        pc.Out(0x503, 0x05); // outside the range: nothing
        Assert.Equal([11], pc.ExitStatuses);
    }

    [Theory]
    [InlineData("Shutdown", 1)]
    [InlineData("shutdown", 0)]
    [InlineData("Shutdow", 0)]
    [InlineData("ShutdowN", 0)]
    [InlineData("SShutdown", 1)]
    [InlineData("ShutShutdown", 1)]
    [InlineData("Shutdown\0Shutdown", 2)]
    [InlineData("xShutdownx", 1)]
    [InlineData("Shut down", 0)]
    public void BochsShutdownNeedsTheExactString(string written, int powerOffs)
    {
        // Bochs iodev/unmapped.cc: the bytes of "Shutdown" in order; any other byte restarts the match.
        var pc = new PcPorts();
        foreach (char c in written)
        {
            pc.Out(0x8900, (byte)c);
        }

        Assert.Equal(powerOffs, pc.PowerOffs);
        Assert.Equal(0xFFu, pc.Ports.Read(0x8900, 1));
    }

    [Fact]
    public void BochsShutdownIgnoresTheHighBytesOfAWiderOut()
    {
        var pc = new PcPorts();
        foreach (char c in "Shutdown")
        {
            pc.Ports.Write(0x8900, 2, 0x5500u | c);
        }

        Assert.Equal(1, pc.PowerOffs);
    }

    [Fact]
    public void DebugConsoleEchoesBytesAndReadsBackE9()
    {
        var pc = new PcPorts();
        foreach (char c in "ok\n")
        {
            pc.Out(0xE9, (byte)c);
        }

        Assert.Equal("ok\n"u8.ToArray(), pc.DebugOutput);
        Assert.Equal(0xE9, pc.In(0xE9));
    }

    [Fact]
    public void DebugConsoleWiderWritesAndReadsCoverOnlyItsOnePort()
    {
        // The board maps debugcon at 0xE9 with length 1, as QEMU's isa-debugcon: a 16- or 32-bit
        // OUT reaches it with its low byte; the other bytes go to 0xEA.. (unmapped, dropped).
        var pc = new PcPorts();
        pc.Ports.Write(0xE9, 2, 0x6261);
        pc.Ports.Write(0xE9, 4, 0x6665_6463);
        Assert.Equal("ac"u8.ToArray(), pc.DebugOutput);
        Assert.Equal(0xFFE9u, pc.Ports.Read(0xE9, 2));
        Assert.Equal(0xFFFF_FFE9u, pc.Ports.Read(0xE9, 4));
    }

    [Fact]
    public void PostPortKeepsTheLastCode()
    {
        var pc = new PcPorts();
        var seen = new List<byte>();
        pc.Post.Observer = seen.Add;
        Assert.Equal(0, pc.In(0x80));
        pc.Out(0x80, 0x12);
        pc.Ports.Write(0x80, 2, 0xAB34);
        Assert.Equal(0x34, pc.In(0x80));
        Assert.Equal([0x12, 0x34], seen);
        pc.Post.Reset();
        Assert.Equal(0, pc.In(0x80));
    }

    [Fact]
    public void InterruptLineReportsOnlyChanges()
    {
        var line = new InterruptLine("irq9");
        var levels = new List<bool>();
        line.Lower(); // unwired and already low: nothing happens
        line.Sink = levels.Add;
        line.Raise();
        line.Raise();
        Assert.True(line.IsRaised);
        line.Lower();
        line.Pulse();
        line.Set(false);
        Assert.False(line.IsRaised);
        Assert.Equal([true, false, true, false], levels);
        Assert.Equal("irq9", line.Name);
    }
}
