namespace Emulator.Frontend.Gdb;

/// <summary>
/// Packet framing of the remote protocol (GDB manual, "Remote Protocol", "Overview"):
/// <c>$data#cs</c>, where <c>cs</c> is two hex digits of the sum of the data bytes modulo 256. Inside
/// data, <c>}</c> escapes the next byte (sent xor 0x20), which is how <c>#</c>, <c>$</c>, <c>}</c> and
/// <c>*</c> travel in binary data; <c>*</c> followed by a count byte repeats the previous byte
/// (run-length encoding, count = byte - 29).
/// </summary>
public static class GdbPacket
{
    public const byte Start = (byte)'$';
    public const byte End = (byte)'#';
    public const byte Escape = (byte)'}';
    public const byte RunLength = (byte)'*';
    public const byte Ack = (byte)'+';
    public const byte Nak = (byte)'-';

    /// <summary>The byte GDB sends for Ctrl-C outside any packet ("Interrupts").</summary>
    public const byte InterruptByte = 0x03;

    /// <summary>Modulo-256 sum of the bytes as they travel (escaped, not yet run-length expanded).</summary>
    public static byte Checksum(ReadOnlySpan<byte> data)
    {
        int sum = 0;
        foreach (byte b in data)
        {
            sum += b;
        }

        return (byte)sum;
    }

    public static bool NeedsEscape(byte b) => b is End or Start or Escape or RunLength;

    /// <summary>
    /// Frames a reply. Every payload is escaped: the text replies this stub sends never contain the
    /// four special bytes, and binary replies (qXfer) must have them escaped.
    /// </summary>
    public static byte[] Frame(ReadOnlySpan<byte> payload)
    {
        var framed = new List<byte>(payload.Length + 4) { Start };
        int sum = 0;
        foreach (byte b in payload)
        {
            if (NeedsEscape(b))
            {
                framed.Add(Escape);
                framed.Add((byte)(b ^ 0x20));
                sum += Escape + (b ^ 0x20);
            }
            else
            {
                framed.Add(b);
                sum += b;
            }
        }

        framed.Add(End);
        framed.Add((byte)HexDigit((sum >> 4) & 0xF));
        framed.Add((byte)HexDigit(sum & 0xF));
        return [.. framed];
    }

    /// <summary>
    /// Undoes escapes and run-length encoding of received packet data. Null when the data ends inside
    /// an escape or a run-length pair, or a run starts with no byte to repeat. As in QEMU's gdbstub, this
    /// is done for every packet: outside binary data neither byte may appear unescaped.
    /// </summary>
    public static byte[]? Decode(ReadOnlySpan<byte> raw)
    {
        var decoded = new List<byte>(raw.Length);
        for (int i = 0; i < raw.Length; i++)
        {
            byte b = raw[i];
            if (b == Escape)
            {
                if (++i == raw.Length)
                {
                    return null;
                }

                decoded.Add((byte)(raw[i] ^ 0x20));
            }
            else if (b == RunLength)
            {
                if (++i == raw.Length || decoded.Count == 0 || raw[i] < 29)
                {
                    return null;
                }

                // "Run-length encoding": the count byte is the number of repeats plus 29.
                byte previous = decoded[^1];
                for (int n = raw[i] - 29; n > 0; n--)
                {
                    decoded.Add(previous);
                }
            }
            else
            {
                decoded.Add(b);
            }
        }

        return [.. decoded];
    }

    private static char HexDigit(int value) => "0123456789abcdef"[value];
}
