using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;

namespace Emulator.Frontend.Gdb;

/// <summary>
/// One client connection. A reader thread turns the bytes from the client into events and
/// acknowledges packets right away (GDB manual, "Remote Protocol", "Packet Acknowledgment"), so
/// Ctrl-C is seen while the session thread waits for a running target. Replies are sent without
/// waiting for the client's <c>+</c>; a <c>-</c> makes the session send the last reply again.
/// </summary>
public sealed class GdbConnection : IDisposable
{
    private readonly Socket _socket;
    private readonly GdbPacketParser _parser;
    private readonly BlockingCollection<GdbEvent> _events = [];
    private readonly Lock _writeLock = new();
    private readonly Action<string>? _trace;
    private readonly Thread _reader;
    private byte[] _lastSent = [];
    private volatile bool _noAck;
    private int _disposed;

    public GdbConnection(Socket socket, int maxPacket, Action<string>? trace)
    {
        _socket = socket;
        _socket.NoDelay = true;
        _parser = new GdbPacketParser(maxPacket);
        _trace = trace;
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = "gdb-reader" };
    }

    /// <summary>Set after the reply to <c>QStartNoAckMode</c>: from then on neither side sends <c>+</c>/<c>-</c>.</summary>
    public bool NoAck
    {
        get => _noAck;
        set => _noAck = value;
    }

    public void Start() => _reader.Start();

    /// <summary>The next event: a packet, an ack, Ctrl-C, a target stop posted by the session, or the end.</summary>
    public GdbEvent Take() => _events.Take();

    /// <summary>Queues an event from another thread (a worker whose Continue returned).</summary>
    public void Post(GdbEvent e) => _events.Add(e);

    public void Send(string payload) => Send(Encoding.Latin1.GetBytes(payload));

    public void Send(byte[] payload)
    {
        _trace?.Invoke($"<- {Describe(payload)}");
        byte[] framed = GdbPacket.Frame(payload);
        _lastSent = framed;
        Write(framed);
    }

    /// <summary>Sends the last packet again, after a <c>-</c>.</summary>
    public void Retransmit()
    {
        if (!_noAck && _lastSent.Length > 0)
        {
            Write(_lastSent);
        }
    }

    public void Dispose()
    {
        // The server thread and Dispose of the whole server may both get here.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already gone.
        }

        _socket.Dispose();
        if (_reader.IsAlive && Thread.CurrentThread != _reader)
        {
            _reader.Join();
        }
    }

    private void ReadLoop()
    {
        var buffer = new byte[4096];
        var parsed = new List<GdbEvent>();
        try
        {
            while (Volatile.Read(ref _disposed) == 0)
            {
                int count = _socket.Receive(buffer);
                if (count == 0)
                {
                    break;
                }

                parsed.Clear();
                _parser.Feed(buffer.AsSpan(0, count), parsed);
                foreach (var e in parsed)
                {
                    if (e.Kind == GdbEventKind.Packet)
                    {
                        _trace?.Invoke($"-> {Describe(e.Payload!)}");
                    }

                    // In no-ack mode a bad packet is dropped unanswered; GDB resends on its timeout.
                    if (!_noAck && e.Kind is GdbEventKind.Packet or GdbEventKind.BadPacket)
                    {
                        Write([e.Kind == GdbEventKind.Packet ? GdbPacket.Ack : GdbPacket.Nak]);
                    }

                    _events.Add(e);
                }
            }
        }
        catch (SocketException)
        {
            // The client went away or Dispose closed the socket.
        }
        catch (ObjectDisposedException)
        {
        }

        _events.Add(GdbEvent.Disconnected);
    }

    private void Write(byte[] bytes)
    {
        try
        {
            lock (_writeLock)
            {
                _socket.Send(bytes);
            }
        }
        catch (SocketException)
        {
            // The reader sees the closed connection and ends the session.
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private static string Describe(byte[] payload)
    {
        string text = Encoding.Latin1.GetString(payload, 0, Math.Min(payload.Length, 200));
        return payload.Length > 200 ? text + $"... ({payload.Length} bytes)" : text;
    }
}
