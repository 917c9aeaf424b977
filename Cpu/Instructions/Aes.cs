using System.Buffers.Binary;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// AES-NI and PCLMULQDQ in software (SDM Vol. 2A AESENC..AESKEYGENASSIST, Vol. 2B PCLMULQDQ;
/// the round steps as in FIPS-197 5.1 and 5.3). The 128-bit state is the XMM value with byte
/// i in row i mod 4, column i / 4. The S-box is computed at start-up from its definition (the
/// multiplicative inverse in GF(2^8) followed by the affine map, FIPS-197 5.1.1).
/// </summary>
public static class Aes
{
    private static readonly byte[] s_sbox = BuildSbox();
    private static readonly byte[] s_inverseSbox = Invert(s_sbox);

    private static byte[] BuildSbox()
    {
        var box = new byte[256];
        for (int x = 0; x < 256; x++)
        {
            // x^254 is the inverse of x in GF(2^8) (and 0 for 0).
            int inverse = 1;
            for (int k = 0; k < 254; k++)
            {
                inverse = Multiply((byte)inverse, (byte)x);
            }

            int b = x == 0 ? 0 : inverse;
            box[x] = (byte)(b ^ Rotl(b, 1) ^ Rotl(b, 2) ^ Rotl(b, 3) ^ Rotl(b, 4) ^ 0x63);
        }

        return box;
    }

    private static int Rotl(int b, int n) => ((b << n) | (b >> (8 - n))) & 0xFF;

    private static byte[] Invert(byte[] box)
    {
        var inverse = new byte[256];
        for (int x = 0; x < 256; x++)
        {
            inverse[box[x]] = (byte)x;
        }

        return inverse;
    }

    /// <summary>Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1.</summary>
    private static byte Multiply(byte x, byte y)
    {
        int product = 0, a = x;
        for (int bit = 0; bit < 8; bit++)
        {
            if (((y >> bit) & 1) != 0)
            {
                product ^= a;
            }

            a <<= 1;
            if ((a & 0x100) != 0)
            {
                a ^= 0x11B;
            }
        }

        return (byte)product;
    }

    /// <summary>AESENC/AESENCLAST: ShiftRows, SubBytes, MixColumns (not in the last round), then XOR the round key b.</summary>
    public static void Encrypt(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> r, bool last)
    {
        Span<byte> t = stackalloc byte[16];
        for (int row = 0; row < 4; row++)
        {
            for (int col = 0; col < 4; col++)
            {
                t[row + (4 * col)] = s_sbox[a[row + (4 * ((col + row) % 4))]];
            }
        }

        if (!last)
        {
            MixColumns(t, [2, 3, 1, 1]);
        }

        for (int k = 0; k < 16; k++)
        {
            r[k] = (byte)(t[k] ^ b[k]);
        }
    }

    /// <summary>AESDEC/AESDECLAST: InvShiftRows, InvSubBytes, InvMixColumns (not in the last round), then XOR the round key b.</summary>
    public static void Decrypt(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> r, bool last)
    {
        Span<byte> t = stackalloc byte[16];
        for (int row = 0; row < 4; row++)
        {
            for (int col = 0; col < 4; col++)
            {
                t[row + (4 * col)] = s_inverseSbox[a[row + (4 * ((col - row + 4) % 4))]];
            }
        }

        if (!last)
        {
            MixColumns(t, [14, 11, 13, 9]);
        }

        for (int k = 0; k < 16; k++)
        {
            r[k] = (byte)(t[k] ^ b[k]);
        }
    }

    /// <summary>AESIMC: InvMixColumns of the source (turns an encryption round key into a decryption one).</summary>
    public static void InverseMixColumns(ReadOnlySpan<byte> b, Span<byte> r)
    {
        Span<byte> t = stackalloc byte[16];
        b[..16].CopyTo(t);
        MixColumns(t, [14, 11, 13, 9]);
        t.CopyTo(r);
    }

    /// <summary>
    /// AESKEYGENASSIST: from X1 = dword 1 and X3 = dword 3 of the source, the result is
    /// SubWord(X1), RotWord(SubWord(X1)) XOR RCON, SubWord(X3), RotWord(SubWord(X3)) XOR RCON,
    /// where RotWord rotates right by 8 bits and RCON is the immediate zero-extended.
    /// </summary>
    public static void KeyGenAssist(ReadOnlySpan<byte> b, Span<byte> r, int imm)
    {
        uint x1 = SubWord(BinaryPrimitives.ReadUInt32LittleEndian(b[4..]));
        uint x3 = SubWord(BinaryPrimitives.ReadUInt32LittleEndian(b[12..]));
        uint rcon = (uint)imm & 0xFF;
        BinaryPrimitives.WriteUInt32LittleEndian(r, x1);
        BinaryPrimitives.WriteUInt32LittleEndian(r[4..], uint.RotateRight(x1, 8) ^ rcon);
        BinaryPrimitives.WriteUInt32LittleEndian(r[8..], x3);
        BinaryPrimitives.WriteUInt32LittleEndian(r[12..], uint.RotateRight(x3, 8) ^ rcon);
    }

    private static uint SubWord(uint x) =>
        s_sbox[x & 0xFF] | ((uint)s_sbox[(x >> 8) & 0xFF] << 8) | ((uint)s_sbox[(x >> 16) & 0xFF] << 16) | ((uint)s_sbox[x >> 24] << 24);

    /// <summary>Multiplies each column by the circulant matrix whose first row is <paramref name="m"/> (FIPS-197 5.1.3, 5.3.3).</summary>
    private static void MixColumns(Span<byte> t, ReadOnlySpan<byte> m)
    {
        Span<byte> column = stackalloc byte[4];
        for (int col = 0; col < 4; col++)
        {
            t.Slice(4 * col, 4).CopyTo(column);
            for (int row = 0; row < 4; row++)
            {
                int v = 0;
                for (int k = 0; k < 4; k++)
                {
                    v ^= Multiply(m[(k - row + 4) % 4], column[k]);
                }

                t[(4 * col) + row] = (byte)v;
            }
        }
    }

    /// <summary>PCLMULQDQ: the carry-less product of quadword imm[0] of a and quadword imm[4] of b.</summary>
    public static void CarrylessMultiply(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> r, int imm)
    {
        ulong x = BinaryPrimitives.ReadUInt64LittleEndian(a[((imm & 1) * 8)..]);
        ulong y = BinaryPrimitives.ReadUInt64LittleEndian(b[(((imm >> 4) & 1) * 8)..]);
        ulong low = 0, high = 0;
        for (int bit = 0; bit < 64; bit++)
        {
            if (((y >> bit) & 1) != 0)
            {
                low ^= x << bit;
                high ^= bit == 0 ? 0 : x >> (64 - bit);
            }
        }

        BinaryPrimitives.WriteUInt64LittleEndian(r, low);
        BinaryPrimitives.WriteUInt64LittleEndian(r[8..], high);
    }
}
