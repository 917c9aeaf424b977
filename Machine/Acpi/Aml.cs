using System.Text;

namespace Emulator.Machine.Acpi;

/// <summary>
/// A small encoder for the ACPI Machine Language subset a static DSDT needs (ACPI 6.5 section 20.2,
/// "AML Grammar Definition"): scopes, devices, named objects, integers, strings, packages and
/// buffers. Every method returns the encoded bytes of one term, so a table reads as nested calls,
/// the way its ASL source would: <c>Scope("\\_SB", Device("PCI0", Name("_HID", EisaId("PNP0A03"))))</c>.
/// </summary>
public static class Aml
{
    // Opcodes (section 20.2.5 and 20.3).
    public const byte ZeroOp = 0x00;
    public const byte OneOp = 0x01;
    public const byte NameOp = 0x08;
    public const byte BytePrefix = 0x0A;
    public const byte WordPrefix = 0x0B;
    public const byte DWordPrefix = 0x0C;
    public const byte StringPrefix = 0x0D;
    public const byte QWordPrefix = 0x0E;
    public const byte ScopeOp = 0x10;
    public const byte BufferOp = 0x11;
    public const byte PackageOp = 0x12;
    public const byte OnesOp = 0xFF;
    public const byte ExtOpPrefix = 0x5B;
    public const byte DeviceOp = 0x82; // after ExtOpPrefix
    public const byte RootChar = (byte)'\\';
    public const byte ParentPrefixChar = (byte)'^';
    public const byte DualNamePrefix = 0x2E;
    public const byte MultiNamePrefix = 0x2F;

    /// <summary>DefScope := ScopeOp PkgLength NameString TermList.</summary>
    public static byte[] Scope(string path, params byte[][] terms) => [ScopeOp, .. WithPkgLength([.. NameString(path), .. Concat(terms)])];

    /// <summary>DefDevice := DeviceOp PkgLength NameString TermList.</summary>
    public static byte[] Device(string name, params byte[][] terms) => [ExtOpPrefix, DeviceOp, .. WithPkgLength([.. NameString(name), .. Concat(terms)])];

    /// <summary>DefName := NameOp NameString DataRefObject.</summary>
    public static byte[] Name(string name, byte[] value) => [NameOp, .. NameString(name), .. value];

    /// <summary>The shortest encoding of an integer: ZeroOp, OneOp, or a Byte/Word/DWord/QWord constant.</summary>
    public static byte[] Integer(ulong value) => value switch
    {
        0 => [ZeroOp],
        1 => [OneOp],
        <= 0xFF => [BytePrefix, (byte)value],
        <= 0xFFFF => [WordPrefix, .. LittleEndian(value, 2)],
        <= 0xFFFF_FFFF => [DWordPrefix, .. LittleEndian(value, 4)],
        _ => [QWordPrefix, .. LittleEndian(value, 8)],
    };

    /// <summary>String := StringPrefix AsciiCharList NullChar.</summary>
    public static byte[] String(string value) => [StringPrefix, .. Encoding.ASCII.GetBytes(value), 0];

    /// <summary>
    /// A compressed EISA ID ("PNP0A03"), as ASL's EISAID() makes it: three letters of five bits
    /// each (A = 1) in the first two bytes, big-endian, then four hex digits (section 19.6.45).
    /// </summary>
    public static byte[] EisaId(string id)
    {
        if (id.Length != 7)
        {
            throw new ArgumentException($"an EISA ID has three letters and four hex digits: {id}", nameof(id));
        }

        int letters = ((id[0] - 0x40) << 10) | ((id[1] - 0x40) << 5) | (id[2] - 0x40);
        int product = Convert.ToInt32(id[3..], 16);
        return [DWordPrefix, (byte)(letters >> 8), (byte)letters, (byte)(product >> 8), (byte)product];
    }

    /// <summary>DefPackage := PackageOp PkgLength NumElements PackageElementList.</summary>
    public static byte[] Package(params byte[][] elements) => [PackageOp, .. WithPkgLength([(byte)elements.Length, .. Concat(elements)])];

    /// <summary>DefBuffer := BufferOp PkgLength BufferSize ByteList.</summary>
    public static byte[] Buffer(byte[] data) => [BufferOp, .. WithPkgLength([.. Integer((ulong)data.Length), .. data])];

    /// <summary>
    /// A NameString: an optional root or parent prefix, then one name segment, a dual-name prefix
    /// and two segments, or a multi-name prefix and a count. Segments shorter than four characters
    /// are padded with '_' (section 20.2.2).
    /// </summary>
    public static byte[] NameString(string path)
    {
        var bytes = new List<byte>();
        int k = 0;
        while (k < path.Length && (path[k] == '\\' || path[k] == '^'))
        {
            bytes.Add((byte)path[k++]);
        }

        string[] segments = path[k..].Length == 0 ? [] : path[k..].Split('.');
        if (segments.Length == 2)
        {
            bytes.Add(DualNamePrefix);
        }
        else if (segments.Length > 2)
        {
            bytes.Add(MultiNamePrefix);
            bytes.Add((byte)segments.Length);
        }
        else if (segments.Length == 0)
        {
            bytes.Add(0); // NullName
        }

        foreach (string segment in segments)
        {
            if (segment.Length is 0 or > 4 || !(char.IsAsciiLetterUpper(segment[0]) || segment[0] == '_'))
            {
                throw new ArgumentException($"bad AML name segment '{segment}' in '{path}'", nameof(path));
            }

            bytes.AddRange(Encoding.ASCII.GetBytes(segment.PadRight(4, '_')));
        }

        return [.. bytes];
    }

    /// <summary>
    /// Prefixes <paramref name="body"/> with its PkgLength (section 20.2.4), which counts itself:
    /// one byte for totals up to 63; otherwise bits 7-6 of the lead byte give the number of
    /// following bytes, its bits 3-0 the low nibble, and each following byte the next eight bits.
    /// </summary>
    public static byte[] WithPkgLength(byte[] body)
    {
        int total = body.Length + 1;
        if (total <= 0x3F)
        {
            return [(byte)total, .. body];
        }

        int extra = body.Length + 2 <= 0xFFF ? 1 : body.Length + 3 <= 0xF_FFFF ? 2 : 3;
        total = body.Length + 1 + extra;
        var length = new byte[1 + extra];
        length[0] = (byte)((extra << 6) | (total & 0xF));
        for (int k = 1; k <= extra; k++)
        {
            length[k] = (byte)(total >> (4 + (8 * (k - 1))));
        }

        return [.. length, .. body];
    }

    /// <summary>
    /// The parts one after another. Not LINQ's SelectMany over bytes: that goes byte by byte through
    /// generic code over byte that is jitted at start-up (the tables are built in every run).
    /// </summary>
    internal static byte[] Concat(IReadOnlyList<byte[]> parts)
    {
        int length = 0;
        foreach (var part in parts)
        {
            length += part.Length;
        }

        var bytes = new byte[length];
        int at = 0;
        foreach (var part in parts)
        {
            part.CopyTo(bytes, at);
            at += part.Length;
        }

        return bytes;
    }

    private static byte[] LittleEndian(ulong value, int size)
    {
        var bytes = new byte[size];
        for (int k = 0; k < size; k++)
        {
            bytes[k] = (byte)(value >> (8 * k));
        }

        return bytes;
    }
}
