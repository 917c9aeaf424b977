using System.Runtime.InteropServices;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// The arithmetic of the packed-integer instructions on one lane: 8 bytes for an MMX register,
/// 16 for an XMM register (a 256-bit AVX2 operation is two 16-byte lanes, SDM Vol. 1 14.1).
/// <c>a</c> is the first source (the destination of a legacy instruction), <c>b</c> the second
/// (the register or memory operand), <c>imm</c> the immediate byte. Semantics per each
/// instruction's page in SDM Vol. 2; mnemonics are the legacy ones (VPADDB computes as PADDB).
/// </summary>
public static class SimdLane
{
    /// <summary>Computes <paramref name="r"/> for <paramref name="m"/>; false when <paramref name="m"/> is not a lane operation.</summary>
    public static bool Compute(Mnemonic m, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> r, int imm)
    {
        switch (m)
        {
            // Wrapping and saturating add and subtract (PADD*, PSUB*).
            case Mnemonic.Paddb: Each<byte>(a, b, r, static (x, y) => (byte)(x + y)); break;
            case Mnemonic.Paddw: Each<ushort>(a, b, r, static (x, y) => (ushort)(x + y)); break;
            case Mnemonic.Paddd: Each<uint>(a, b, r, static (x, y) => x + y); break;
            case Mnemonic.Paddq: Each<ulong>(a, b, r, static (x, y) => x + y); break;
            case Mnemonic.Psubb: Each<byte>(a, b, r, static (x, y) => (byte)(x - y)); break;
            case Mnemonic.Psubw: Each<ushort>(a, b, r, static (x, y) => (ushort)(x - y)); break;
            case Mnemonic.Psubd: Each<uint>(a, b, r, static (x, y) => x - y); break;
            case Mnemonic.Psubq: Each<ulong>(a, b, r, static (x, y) => x - y); break;
            case Mnemonic.Paddsb: Each<sbyte>(a, b, r, static (x, y) => SatS8(x + y)); break;
            case Mnemonic.Paddsw: Each<short>(a, b, r, static (x, y) => SatS16(x + y)); break;
            case Mnemonic.Paddusb: Each<byte>(a, b, r, static (x, y) => SatU8(x + y)); break;
            case Mnemonic.Paddusw: Each<ushort>(a, b, r, static (x, y) => SatU16(x + y)); break;
            case Mnemonic.Psubsb: Each<sbyte>(a, b, r, static (x, y) => SatS8(x - y)); break;
            case Mnemonic.Psubsw: Each<short>(a, b, r, static (x, y) => SatS16(x - y)); break;
            case Mnemonic.Psubusb: Each<byte>(a, b, r, static (x, y) => SatU8(x - y)); break;
            case Mnemonic.Psubusw: Each<ushort>(a, b, r, static (x, y) => SatU16(x - y)); break;

            // Compares: all ones where true (PCMPEQ*, PCMPGT*).
            case Mnemonic.Pcmpeqb: Each<byte>(a, b, r, static (x, y) => x == y ? byte.MaxValue : (byte)0); break;
            case Mnemonic.Pcmpeqw: Each<ushort>(a, b, r, static (x, y) => x == y ? ushort.MaxValue : (ushort)0); break;
            case Mnemonic.Pcmpeqd: Each<uint>(a, b, r, static (x, y) => x == y ? uint.MaxValue : 0); break;
            case Mnemonic.Pcmpeqq: Each<ulong>(a, b, r, static (x, y) => x == y ? ulong.MaxValue : 0); break;
            case Mnemonic.Pcmpgtb: Each<sbyte>(a, b, r, static (x, y) => x > y ? (sbyte)-1 : (sbyte)0); break;
            case Mnemonic.Pcmpgtw: Each<short>(a, b, r, static (x, y) => x > y ? (short)-1 : (short)0); break;
            case Mnemonic.Pcmpgtd: Each<int>(a, b, r, static (x, y) => x > y ? -1 : 0); break;
            case Mnemonic.Pcmpgtq: Each<long>(a, b, r, static (x, y) => x > y ? -1L : 0L); break;

            // Logic.
            case Mnemonic.Pand: Each<ulong>(a, b, r, static (x, y) => x & y); break;
            case Mnemonic.Pandn: Each<ulong>(a, b, r, static (x, y) => ~x & y); break;
            case Mnemonic.Por: Each<ulong>(a, b, r, static (x, y) => x | y); break;
            case Mnemonic.Pxor: Each<ulong>(a, b, r, static (x, y) => x ^ y); break;

            // Multiplies.
            case Mnemonic.Pmullw: Each<short>(a, b, r, static (x, y) => (short)(x * y)); break;
            case Mnemonic.Pmulhw: Each<short>(a, b, r, static (x, y) => (short)((x * y) >> 16)); break;
            case Mnemonic.Pmulhuw: Each<ushort>(a, b, r, static (x, y) => (ushort)((x * y) >> 16)); break;
            case Mnemonic.Pmulld: Each<int>(a, b, r, static (x, y) => x * y); break;
            case Mnemonic.Pmuludq: Each<ulong>(a, b, r, static (x, y) => (x & 0xFFFF_FFFF) * (y & 0xFFFF_FFFF)); break;
            case Mnemonic.Pmuldq: Each<long>(a, b, r, static (x, y) => (long)(int)x * (int)y); break;
            case Mnemonic.Pmulhrsw: Each<short>(a, b, r, static (x, y) => (short)((((x * y) >> 14) + 1) >> 1)); break;
            case Mnemonic.Pmaddwd: MultiplyAddWords(a, b, r); break;
            case Mnemonic.Pmaddubsw: MultiplyAddBytes(a, b, r); break;

            // Averages, minimum and maximum, sum of absolute differences, sign.
            case Mnemonic.Pavgb: Each<byte>(a, b, r, static (x, y) => (byte)((x + y + 1) >> 1)); break;
            case Mnemonic.Pavgw: Each<ushort>(a, b, r, static (x, y) => (ushort)((x + y + 1) >> 1)); break;
            case Mnemonic.Pminub: Each<byte>(a, b, r, Math.Min); break;
            case Mnemonic.Pmaxub: Each<byte>(a, b, r, Math.Max); break;
            case Mnemonic.Pminsb: Each<sbyte>(a, b, r, Math.Min); break;
            case Mnemonic.Pmaxsb: Each<sbyte>(a, b, r, Math.Max); break;
            case Mnemonic.Pminsw: Each<short>(a, b, r, Math.Min); break;
            case Mnemonic.Pmaxsw: Each<short>(a, b, r, Math.Max); break;
            case Mnemonic.Pminuw: Each<ushort>(a, b, r, Math.Min); break;
            case Mnemonic.Pmaxuw: Each<ushort>(a, b, r, Math.Max); break;
            case Mnemonic.Pminsd: Each<int>(a, b, r, Math.Min); break;
            case Mnemonic.Pmaxsd: Each<int>(a, b, r, Math.Max); break;
            case Mnemonic.Pminud: Each<uint>(a, b, r, Math.Min); break;
            case Mnemonic.Pmaxud: Each<uint>(a, b, r, Math.Max); break;
            case Mnemonic.Psadbw: SumAbsoluteDifferences(a, b, r); break;
            case Mnemonic.Psignb: Each<sbyte>(a, b, r, static (x, y) => y < 0 ? (sbyte)-x : y == 0 ? (sbyte)0 : x); break;
            case Mnemonic.Psignw: Each<short>(a, b, r, static (x, y) => y < 0 ? (short)-x : y == 0 ? (short)0 : x); break;
            case Mnemonic.Psignd: Each<int>(a, b, r, static (x, y) => y < 0 ? -x : y == 0 ? 0 : x); break;
            case Mnemonic.Pabsb: Each<sbyte>(a, b, r, static (_, y) => y < 0 ? (sbyte)-y : y); break;
            case Mnemonic.Pabsw: Each<short>(a, b, r, static (_, y) => y < 0 ? (short)-y : y); break;
            case Mnemonic.Pabsd: Each<int>(a, b, r, static (_, y) => y < 0 ? -y : y); break;

            // Packs with saturation: the first half of the result from a, the second from b.
            case Mnemonic.Packsswb: Pack<short, sbyte>(a, b, r, static x => SatS8(x)); break;
            case Mnemonic.Packuswb: Pack<short, byte>(a, b, r, static x => SatU8(x)); break;
            case Mnemonic.Packssdw: Pack<int, short>(a, b, r, static x => SatS16(x)); break;
            case Mnemonic.Packusdw: Pack<int, ushort>(a, b, r, static x => SatU16(x)); break;

            // Unpacks: interleave the low (or high) halves of a and b.
            case Mnemonic.Punpcklbw: Unpack(a, b, r, 1, high: false); break;
            case Mnemonic.Punpcklwd: Unpack(a, b, r, 2, high: false); break;
            case Mnemonic.Punpckldq: Unpack(a, b, r, 4, high: false); break;
            case Mnemonic.Punpcklqdq: Unpack(a, b, r, 8, high: false); break;
            case Mnemonic.Punpckhbw: Unpack(a, b, r, 1, high: true); break;
            case Mnemonic.Punpckhwd: Unpack(a, b, r, 2, high: true); break;
            case Mnemonic.Punpckhdq: Unpack(a, b, r, 4, high: true); break;
            case Mnemonic.Punpckhqdq: Unpack(a, b, r, 8, high: true); break;

            // Horizontal add and subtract of adjacent pairs (SSSE3).
            case Mnemonic.Phaddw: Horizontal<short>(a, b, r, static (x, y) => (short)(x + y)); break;
            case Mnemonic.Phaddd: Horizontal<int>(a, b, r, static (x, y) => x + y); break;
            case Mnemonic.Phaddsw: Horizontal<short>(a, b, r, static (x, y) => SatS16(x + y)); break;
            case Mnemonic.Phsubw: Horizontal<short>(a, b, r, static (x, y) => (short)(x - y)); break;
            case Mnemonic.Phsubd: Horizontal<int>(a, b, r, static (x, y) => x - y); break;
            case Mnemonic.Phsubsw: Horizontal<short>(a, b, r, static (x, y) => SatS16(x - y)); break;

            // Byte permutes and blends.
            case Mnemonic.Pshufb: ShuffleBytes(a, b, r); break;
            case Mnemonic.Palignr: AlignRight(a, b, r, imm); break;
            case Mnemonic.Pblendw: BlendWords(a, b, r, imm); break;
            case Mnemonic.Mpsadbw: MultipleSad(a, b, r, imm); break;
            case Mnemonic.Pslldq: ShiftBytes(b, r, imm, left: true); break;
            case Mnemonic.Psrldq: ShiftBytes(b, r, imm, left: false); break;

            // Shuffles of the one source b by the immediate.
            case Mnemonic.Pshufd: ShuffleDwords(b, r, imm); break;
            case Mnemonic.Pshufw: ShuffleWords(b[..8], r[..8], imm); break;
            case Mnemonic.Pshuflw: ShuffleWords(b[..8], r[..8], imm); b[8..].CopyTo(r[8..]); break;
            case Mnemonic.Pshufhw: b[..8].CopyTo(r[..8]); ShuffleWords(b[8..], r[8..], imm); break;
            case Mnemonic.Phminposuw: MinPosition(b, r); break;

            // Carry-less multiply and AES (Aes.cs).
            case Mnemonic.Pclmulqdq: Aes.CarrylessMultiply(a, b, r, imm); break;
            case Mnemonic.Aesenc: Aes.Encrypt(a, b, r, last: false); break;
            case Mnemonic.Aesenclast: Aes.Encrypt(a, b, r, last: true); break;
            case Mnemonic.Aesdec: Aes.Decrypt(a, b, r, last: false); break;
            case Mnemonic.Aesdeclast: Aes.Decrypt(a, b, r, last: true); break;
            case Mnemonic.Aesimc: Aes.InverseMixColumns(b, r); break;
            case Mnemonic.Aeskeygenassist: Aes.KeyGenAssist(b, r, imm); break;
            default:
                return false;
        }

        return true;
    }

    /// <summary>
    /// The packed shifts by a count (PSLL/PSRL/PSRA W, D, Q): a count above the element width
    /// less one clears each element, or fills it with its sign for PSRA (SDM Vol. 2B PSLLW/PSRAW).
    /// </summary>
    public static bool Shift(Mnemonic m, ReadOnlySpan<byte> a, Span<byte> r, ulong count)
    {
        int c = (int)Math.Min(count, 64);
        switch (m)
        {
            case Mnemonic.Psllw: Each<ushort>(a, a, r, (x, _) => c > 15 ? (ushort)0 : (ushort)(x << c)); break;
            case Mnemonic.Pslld: Each<uint>(a, a, r, (x, _) => c > 31 ? 0 : x << c); break;
            case Mnemonic.Psllq: Each<ulong>(a, a, r, (x, _) => c > 63 ? 0 : x << c); break;
            case Mnemonic.Psrlw: Each<ushort>(a, a, r, (x, _) => c > 15 ? (ushort)0 : (ushort)(x >> c)); break;
            case Mnemonic.Psrld: Each<uint>(a, a, r, (x, _) => c > 31 ? 0 : x >> c); break;
            case Mnemonic.Psrlq: Each<ulong>(a, a, r, (x, _) => c > 63 ? 0 : x >> c); break;
            case Mnemonic.Psraw: Each<short>(a, a, r, (x, _) => (short)(x >> Math.Min(c, 15))); break;
            case Mnemonic.Psrad: Each<int>(a, a, r, (x, _) => x >> Math.Min(c, 31)); break;
            default:
                return false;
        }

        return true;
    }

    public static sbyte SatS8(int x) => (sbyte)Math.Clamp(x, sbyte.MinValue, sbyte.MaxValue);

    public static byte SatU8(int x) => (byte)Math.Clamp(x, byte.MinValue, byte.MaxValue);

    public static short SatS16(int x) => (short)Math.Clamp(x, short.MinValue, short.MaxValue);

    public static ushort SatU16(int x) => (ushort)Math.Clamp(x, ushort.MinValue, ushort.MaxValue);

    /// <summary>r[k] = f(a[k], b[k]) over elements of type <typeparamref name="T"/>.</summary>
    public static void Each<T>(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> r, Func<T, T, T> f)
        where T : unmanaged
    {
        var x = MemoryMarshal.Cast<byte, T>(a);
        var y = MemoryMarshal.Cast<byte, T>(b);
        var z = MemoryMarshal.Cast<byte, T>(r);
        for (int k = 0; k < z.Length; k++)
        {
            z[k] = f(x[k], y[k]);
        }
    }

    private static void MultiplyAddWords(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> r)
    {
        var x = MemoryMarshal.Cast<byte, short>(a);
        var y = MemoryMarshal.Cast<byte, short>(b);
        var z = MemoryMarshal.Cast<byte, int>(r);
        for (int k = 0; k < z.Length; k++)
        {
            // 8000h * 8000h twice is 80000000h: it wraps, as the SDM's PMADDWD page says.
            z[k] = unchecked((x[2 * k] * y[2 * k]) + (x[(2 * k) + 1] * y[(2 * k) + 1]));
        }
    }

    /// <summary>PMADDUBSW: unsigned bytes of a times signed bytes of b, adjacent pairs added with signed saturation.</summary>
    private static void MultiplyAddBytes(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> r)
    {
        var y = MemoryMarshal.Cast<byte, sbyte>(b);
        var z = MemoryMarshal.Cast<byte, short>(r);
        for (int k = 0; k < z.Length; k++)
        {
            z[k] = SatS16((a[2 * k] * y[2 * k]) + (a[(2 * k) + 1] * y[(2 * k) + 1]));
        }
    }

    /// <summary>PSADBW: per quadword, the sum of the eight absolute byte differences in the low word, zeros above.</summary>
    private static void SumAbsoluteDifferences(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> r)
    {
        r.Clear();
        for (int q = 0; q < r.Length; q += 8)
        {
            int sum = 0;
            for (int k = q; k < q + 8; k++)
            {
                sum += Math.Abs(a[k] - b[k]);
            }

            r[q] = (byte)sum;
            r[q + 1] = (byte)(sum >> 8);
        }
    }

    private static void Pack<TFrom, TTo>(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> r, Func<TFrom, TTo> saturate)
        where TFrom : unmanaged
        where TTo : unmanaged
    {
        var x = MemoryMarshal.Cast<byte, TFrom>(a);
        var y = MemoryMarshal.Cast<byte, TFrom>(b);
        var z = MemoryMarshal.Cast<byte, TTo>(r);
        for (int k = 0; k < x.Length; k++)
        {
            z[k] = saturate(x[k]);
            z[x.Length + k] = saturate(y[k]);
        }
    }

    private static void Unpack(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> r, int size, bool high)
    {
        int half = r.Length / 2;
        int from = high ? half : 0;
        for (int k = 0; k < half / size; k++)
        {
            a.Slice(from + (k * size), size).CopyTo(r.Slice(2 * k * size, size));
            b.Slice(from + (k * size), size).CopyTo(r.Slice(((2 * k) + 1) * size, size));
        }
    }

    private static void Horizontal<T>(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> r, Func<T, T, T> f)
        where T : unmanaged
    {
        var x = MemoryMarshal.Cast<byte, T>(a);
        var y = MemoryMarshal.Cast<byte, T>(b);
        var z = MemoryMarshal.Cast<byte, T>(r);
        int half = z.Length / 2;
        for (int k = 0; k < half; k++)
        {
            z[k] = f(x[2 * k], x[(2 * k) + 1]);
            z[half + k] = f(y[2 * k], y[(2 * k) + 1]);
        }
    }

    /// <summary>PSHUFB: byte k is zero when b[k] bit 7 is set, else a[b[k] mod lane size].</summary>
    private static void ShuffleBytes(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> r)
    {
        for (int k = 0; k < r.Length; k++)
        {
            r[k] = (b[k] & 0x80) != 0 ? (byte)0 : a[b[k] & (r.Length - 1)];
        }
    }

    /// <summary>PALIGNR: the concatenation a:b (a high) shifted right by imm bytes, low lane kept.</summary>
    private static void AlignRight(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> r, int imm)
    {
        int n = r.Length;
        for (int k = 0; k < n; k++)
        {
            int index = k + imm;
            r[k] = index < n ? b[index] : index < 2 * n ? a[index - n] : (byte)0;
        }
    }

    private static void BlendWords(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> r, int imm)
    {
        for (int k = 0; k < r.Length / 2; k++)
        {
            var from = ((imm >> k) & 1) != 0 ? b : a;
            from.Slice(2 * k, 2).CopyTo(r.Slice(2 * k, 2));
        }
    }

    /// <summary>
    /// MPSADBW: eight sums of absolute differences between a 4-byte block of b (imm[1:0] * 4) and
    /// the eleven bytes of a from imm[2] * 4, sliding by one byte.
    /// </summary>
    private static void MultipleSad(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, Span<byte> r, int imm)
    {
        int aOffset = ((imm >> 2) & 1) * 4, bOffset = (imm & 3) * 4;
        var z = MemoryMarshal.Cast<byte, ushort>(r);
        for (int k = 0; k < 8; k++)
        {
            int sum = 0;
            for (int j = 0; j < 4; j++)
            {
                sum += Math.Abs(a[aOffset + k + j] - b[bOffset + j]);
            }

            z[k] = (ushort)sum;
        }
    }

    /// <summary>PSLLDQ/PSRLDQ: the lane shifted by imm bytes (all zero from 16 up).</summary>
    private static void ShiftBytes(ReadOnlySpan<byte> b, Span<byte> r, int imm, bool left)
    {
        int n = r.Length;
        for (int k = 0; k < n; k++)
        {
            int from = left ? k - imm : k + imm;
            r[k] = from >= 0 && from < n ? b[from] : (byte)0;
        }
    }

    private static void ShuffleDwords(ReadOnlySpan<byte> b, Span<byte> r, int imm)
    {
        var x = MemoryMarshal.Cast<byte, uint>(b);
        var z = MemoryMarshal.Cast<byte, uint>(r);
        for (int k = 0; k < 4; k++)
        {
            z[k] = x[(imm >> (2 * k)) & 3];
        }
    }

    private static void ShuffleWords(ReadOnlySpan<byte> b, Span<byte> r, int imm)
    {
        var x = MemoryMarshal.Cast<byte, ushort>(b);
        var z = MemoryMarshal.Cast<byte, ushort>(r);
        for (int k = 0; k < 4; k++)
        {
            z[k] = x[(imm >> (2 * k)) & 3];
        }
    }

    /// <summary>PHMINPOSUW: the smallest unsigned word in bits 15:0, its (lowest) index in bits 18:16, zeros above.</summary>
    private static void MinPosition(ReadOnlySpan<byte> b, Span<byte> r)
    {
        var x = MemoryMarshal.Cast<byte, ushort>(b);
        int index = 0;
        for (int k = 1; k < 8; k++)
        {
            if (x[k] < x[index])
            {
                index = k;
            }
        }

        r.Clear();
        var z = MemoryMarshal.Cast<byte, ushort>(r);
        z[0] = x[index];
        z[1] = (ushort)index;
    }

    /// <summary>PMOVMSKB: the most significant bit of each byte.</summary>
    public static ulong ByteSignMask(ReadOnlySpan<byte> a)
    {
        ulong mask = 0;
        for (int k = 0; k < a.Length; k++)
        {
            mask |= (ulong)(a[k] >> 7) << k;
        }

        return mask;
    }
}
