using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Emulator.Frontend.Tests.Gdb;

/// <summary>
/// A minimal remote-protocol client written from the GDB manual, independent of the stub's own
/// framing code: frames requests, checks acks and reply checksums, undoes escapes in replies.
/// </summary>
public sealed class GdbTestClient : IDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;

    public GdbTestClient(IPEndPoint endpoint)
    {
        _client = new TcpClient();
        _client.Connect(endpoint);
        _client.NoDelay = true;
        _client.ReceiveTimeout = 10_000;
        _stream = _client.GetStream();
    }

    public bool NoAck { get; set; }

    public static string Frame(string payload) => Frame(Encoding.Latin1.GetBytes(payload));

    public static string Frame(byte[] payload)
    {
        int sum = 0;
        foreach (byte b in payload)
        {
            sum += b;
        }

        return "$" + Encoding.Latin1.GetString(payload) + "#" + (sum & 0xFF).ToString("x2");
    }

    public void SendRaw(string text) => SendRaw(Encoding.Latin1.GetBytes(text));

    public void SendRaw(byte[] bytes) => _stream.Write(bytes);

    /// <summary>Sends a request (payload already escaped if binary) and checks the stub's ack.</summary>
    public void Send(string payload)
    {
        SendRaw(Frame(payload));
        if (!NoAck)
        {
            ExpectByte('+');
        }
    }

    public string Command(string payload)
    {
        Send(payload);
        return ReadReply();
    }

    public int ReadByte()
    {
        int b = _stream.ReadByte();
        if (b < 0)
        {
            throw new EndOfStreamException("stub closed the connection");
        }

        return b;
    }

    public void ExpectByte(char expected)
    {
        int b = ReadByte();
        if (b != expected)
        {
            throw new InvalidOperationException($"expected '{expected}', got 0x{b:x2} ('{(char)b}')");
        }
    }

    /// <summary>Reads one reply packet, verifies its checksum, acks it, and returns it unescaped (Latin-1).</summary>
    public string ReadReply()
    {
        int b;
        while ((b = ReadByte()) != '$')
        {
            if (b != '+')
            {
                throw new InvalidOperationException($"unexpected byte 0x{b:x2} before a reply");
            }
        }

        var raw = new List<byte>();
        while ((b = ReadByte()) != '#')
        {
            raw.Add((byte)b);
        }

        string checksum = $"{(char)ReadByte()}{(char)ReadByte()}";
        int sum = raw.Sum(x => x) & 0xFF;
        if (Convert.ToInt32(checksum, 16) != sum)
        {
            throw new InvalidOperationException($"bad reply checksum {checksum}, expected {sum:x2}");
        }

        if (!NoAck)
        {
            SendRaw("+");
        }

        var payload = new List<byte>();
        for (int i = 0; i < raw.Count; i++)
        {
            payload.Add(raw[i] == '}' ? (byte)(raw[++i] ^ 0x20) : raw[i]);
        }

        return Encoding.Latin1.GetString([.. payload]);
    }

    /// <summary>True when the stub closes the connection within the timeout.</summary>
    public bool WaitForClose()
    {
        try
        {
            return _stream.ReadByte() < 0;
        }
        catch (IOException)
        {
            return true;
        }
    }

    public void Dispose() => _client.Dispose();
}
