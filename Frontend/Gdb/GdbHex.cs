using System.Globalization;
using System.Text;

namespace Emulator.Frontend.Gdb;

/// <summary>
/// The hex spellings of the remote protocol: memory and register contents as two lower-case hex
/// digits a byte, numbers (addresses, lengths, thread ids) as big-endian hex without a prefix
/// (GDB manual, "Remote Protocol", "Overview").
/// </summary>
public static class GdbHex
{
    public static string Encode(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    /// <summary>Decodes pairs of hex digits; false on an odd length or a non-hex character.</summary>
    public static bool TryDecode(ReadOnlySpan<char> hex, out byte[] bytes)
    {
        bytes = [];
        if (hex.Length % 2 != 0)
        {
            return false;
        }

        var result = new byte[hex.Length / 2];
        for (int i = 0; i < result.Length; i++)
        {
            int high = Digit(hex[2 * i]);
            int low = Digit(hex[(2 * i) + 1]);
            if (high < 0 || low < 0)
            {
                return false;
            }

            result[i] = (byte)((high << 4) | low);
        }

        bytes = result;
        return true;
    }

    /// <summary>Parses a big-endian hex number of at most 16 digits.</summary>
    public static bool TryParseNumber(ReadOnlySpan<char> text, out ulong value) =>
        ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);

    /// <summary>Hex-encodes text as UTF-8 (qRcmd commands and the <c>O</c> output packets).</summary>
    public static string EncodeText(string text) => Encode(Encoding.UTF8.GetBytes(text));

    public static int Digit(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };
}
