namespace Emulator.Frontend.Gdb;

/// <summary>
/// Splits the byte stream from the client into events. Outside a packet only <c>+</c>, <c>-</c> and
/// 0x03 mean something; anything else is line noise and is dropped (GDB manual, "Remote Protocol",
/// "Overview": the stub resynchronises on the next <c>$</c>).
/// </summary>
public sealed class GdbPacketParser
{
    private enum State
    {
        Idle,
        Data,
        ChecksumHigh,
        ChecksumLow,
    }

    private readonly int _maxPacket;
    private readonly List<byte> _data = [];
    private State _state = State.Idle;
    private int _checksumHigh;
    private bool _overflow;

    /// <param name="maxPacket">Longest raw packet data accepted; longer packets are answered as bad.</param>
    public GdbPacketParser(int maxPacket)
    {
        _maxPacket = maxPacket;
    }

    public void Feed(ReadOnlySpan<byte> bytes, List<GdbEvent> events)
    {
        foreach (byte b in bytes)
        {
            Feed(b, events);
        }
    }

    private void Feed(byte b, List<GdbEvent> events)
    {
        switch (_state)
        {
            case State.Idle:
                switch (b)
                {
                    case GdbPacket.Start:
                        _data.Clear();
                        _overflow = false;
                        _state = State.Data;
                        break;
                    case GdbPacket.Ack:
                        events.Add(GdbEvent.Ack);
                        break;
                    case GdbPacket.Nak:
                        events.Add(GdbEvent.Nak);
                        break;
                    case GdbPacket.InterruptByte:
                        events.Add(GdbEvent.Interrupt);
                        break;
                }

                break;

            case State.Data:
                if (b == GdbPacket.End)
                {
                    _state = State.ChecksumHigh;
                }
                else if (b == GdbPacket.Start)
                {
                    // A '$' never appears unescaped inside data: the client gave up on the packet
                    // and started another.
                    _data.Clear();
                    _overflow = false;
                }
                else if (_data.Count == _maxPacket)
                {
                    // Too long: swallow the rest up to its checksum (raw binary data may hold 0x03
                    // or '+'), then answer it as bad.
                    _overflow = true;
                }
                else
                {
                    _data.Add(b);
                }

                break;

            case State.ChecksumHigh:
                _checksumHigh = GdbHex.Digit((char)b);
                _state = State.ChecksumLow;
                break;

            case State.ChecksumLow:
                _state = State.Idle;
                int low = GdbHex.Digit((char)b);
                byte[] raw = [.. _data];
                byte[]? payload = !_overflow && _checksumHigh >= 0 && low >= 0 && ((_checksumHigh << 4) | low) == GdbPacket.Checksum(raw)
                    ? GdbPacket.Decode(raw)
                    : null;
                events.Add(payload is null ? GdbEvent.BadPacket : new GdbEvent(GdbEventKind.Packet, payload));
                break;
        }
    }
}
