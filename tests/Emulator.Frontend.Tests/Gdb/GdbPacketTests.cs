using System.Net;
using System.Text;
using Emulator.Frontend.Gdb;
using Xunit;

namespace Emulator.Frontend.Tests.Gdb;

/// <summary>Framing, escapes and run-length decoding as the GDB manual's "Overview" spells them, and endpoint parsing.</summary>
public class GdbPacketTests
{
    [Fact]
    public void FrameAppendsTheModulo256Checksum()
    {
        // "$?#3f" is the manual's own example checksum for '?' (0x3f).
        Assert.Equal("$?#3f", Encoding.Latin1.GetString(GdbPacket.Frame("?"u8)));
        Assert.Equal("$OK#9a", Encoding.Latin1.GetString(GdbPacket.Frame("OK"u8)));
    }

    [Fact]
    public void FrameEscapesTheFourSpecialBytes()
    {
        byte[] framed = GdbPacket.Frame([(byte)'#', (byte)'$', (byte)'}', (byte)'*', 0x03]);
        Assert.Equal("$}\x03}\x04}]}\x0a\x03#", Encoding.Latin1.GetString(framed, 0, framed.Length - 2));
    }

    [Fact]
    public void DecodeUndoesEscapesAndRunLength()
    {
        Assert.Equal("#$}*"u8.ToArray(), GdbPacket.Decode("}\x03}\x04}]}\x0a"u8));

        // "0* " is '0' and three more ('  ' is 32 = 3 + 29).
        Assert.Equal("0000"u8.ToArray(), GdbPacket.Decode("0* "u8));
        Assert.Null(GdbPacket.Decode("ab}"u8));
        Assert.Null(GdbPacket.Decode("*!"u8));
    }

    [Fact]
    public void ParserSeparatesAcksInterruptsNoiseAndPackets()
    {
        var parser = new GdbPacketParser(64);
        var events = new List<GdbEvent>();
        parser.Feed("+xyz\r\n-\x03$g#67junk$g#00"u8, events);
        Assert.Equal(
            [GdbEventKind.Ack, GdbEventKind.Nak, GdbEventKind.Interrupt, GdbEventKind.Packet, GdbEventKind.BadPacket],
            events.Select(e => e.Kind));
        Assert.Equal("g"u8.ToArray(), events[3].Payload);
    }

    [Fact]
    public void ParserRejectsAnOverlongPacketButKeepsGoing()
    {
        var parser = new GdbPacketParser(4);
        var events = new List<GdbEvent>();
        parser.Feed("$0123456789\x03+#00$?#3f"u8, events);
        Assert.Equal([GdbEventKind.BadPacket, GdbEventKind.Packet], events.Select(e => e.Kind));
    }

    [Theory]
    [InlineData("tcp::1234", "127.0.0.1", 1234)]
    [InlineData("tcp:127.0.0.1:4321", "127.0.0.1", 4321)]
    [InlineData("tcp:localhost:1", "127.0.0.1", 1)]
    [InlineData("1234", "127.0.0.1", 1234)]
    [InlineData("tcp:0.0.0.0:1234", "0.0.0.0", 1234)]
    [InlineData("tcp::1234,server=on,wait=off", "127.0.0.1", 1234)]
    [InlineData("tcp:[::1]:1234", "::1", 1234)]
    public void EndpointParsesQemuSpellings(string text, string address, int port)
    {
        Assert.Equal(new GdbEndpoint(IPAddress.Parse(address), port), GdbEndpoint.Parse(text));
    }

    [Theory]
    [InlineData("")]
    [InlineData("tcp:1234")]
    [InlineData("tcp::99999")]
    [InlineData("unix:/tmp/gdb")]
    [InlineData("tcp:not-an-ip:1234")]
    public void EndpointRejectsOtherSpellings(string text)
    {
        Assert.Throws<FormatException>(() => GdbEndpoint.Parse(text));
    }
}
