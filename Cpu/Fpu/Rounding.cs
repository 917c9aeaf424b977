using System.Numerics;

namespace Emulator.Cpu.Fpu;

/// <summary>
/// An exact intermediate result: value = Significand / 2^127 * 2^(Exponent - 16383), the
/// significand normalized (bit 127 set) unless it is zero. 64 bits below the widest result keep
/// every guard bit; bit 0 is the sticky bit of anything shifted out.
/// </summary>
public readonly record struct Wide(bool Sign, int Exponent, UInt128 Significand)
{
    public static Wide FromParts(bool sign, int exponent, UInt128 significand)
    {
        if (significand == 0)
        {
            return new Wide(sign, 0, 0);
        }

        int shift = (int)UInt128.LeadingZeroCount(significand);
        return new Wide(sign, exponent - shift, significand << shift);
    }

    /// <summary>Unpacks a finite non-zero value; denormals and pseudo-denormals get exponent 1 and are normalized.</summary>
    public static Wide From(Float80 x)
    {
        int exponent = x.Exponent == 0 ? 1 : x.Exponent;
        return FromParts(x.Sign, exponent, (UInt128)x.Significand << 64);
    }
}

/// <summary>
/// Rounding of exact results to a destination format, with the x87's masked and unmasked
/// responses to overflow and underflow (SDM Vol. 1 4.8.4, 4.9.1.4, 4.9.1.5, 8.5.4, 8.5.5).
/// Tininess is detected after rounding (with an unbounded exponent, 4.9.1.5); a masked underflow
/// is reported only when the denormalized result is also inexact.
/// </summary>
public static class Rounding
{
    /// <summary>The exponent bias adjustment of an unmasked overflow or underflow into a register (SDM Vol. 1 8.5.4, 8.5.5).</summary>
    public const int WrapBias = 24576;

    /// <summary>
    /// Rounds <paramref name="x"/> to <paramref name="precision"/> bits in <paramref name="format"/>.
    /// <paramref name="register"/>: the destination is an x87 register, so an unmasked overflow or
    /// underflow delivers the result with the exponent wrapped by 24576; for a memory destination
    /// it returns false and nothing must be stored. Zero results keep <see cref="Wide.Sign"/>.
    /// </summary>
    public static bool Round(ref FpuContext ctx, Wide x, FloatFormat format, int precision, bool register, out bool sign, out int exponent, out ulong significand)
    {
        sign = x.Sign;
        ctx.RoundedUp = false;
        if (x.Significand == 0)
        {
            exponent = 0;
            significand = 0;
            return true;
        }

        int p = Math.Min(precision, format.Precision);
        var (kept, inexact, up) = RoundBits(x.Significand, 128 - p, x.Sign, ctx.Rounding);
        Normalize(kept, x.Exponent, 128 - p, out exponent, out significand);
        if (exponent > format.MaxExponent)
        {
            ctx.Raised |= FpuExceptions.Overflow;
            if (ctx.IsMasked(FpuExceptions.Overflow))
            {
                return MaskedOverflow(ref ctx, x.Sign, format, p, out exponent, out significand);
            }

            if (!register)
            {
                return false;
            }

            if (exponent - WrapBias <= format.MaxExponent)
            {
                exponent -= WrapBias;
                SetInexact(ref ctx, inexact, up);
                return true;
            }

            // Even the wrapped exponent is too large: infinity, whatever RC says.
            ctx.Raised |= FpuExceptions.Precision;
            ctx.RoundedUp = true;
            exponent = format.MaxExponent + 1;
            significand = Float80.IntegerBit;
            return true;
        }

        if (exponent < format.MinExponent)
        {
            if (!ctx.IsMasked(FpuExceptions.Underflow))
            {
                ctx.Raised |= FpuExceptions.Underflow;
                if (!register)
                {
                    return false;
                }

                // The wrapped exponent must land in range; when it cannot (FSCALE by a huge
                // amount) the result is a zero, inexact.
                if (exponent + WrapBias >= format.MinExponent)
                {
                    exponent += WrapBias;
                    SetInexact(ref ctx, inexact, up);
                    return true;
                }

                ctx.Raised |= FpuExceptions.Precision;
                exponent = 0;
                significand = 0;
                return true;
            }

            // Masked: denormalize. The last kept bit stays where precision control puts it in
            // a significand of exponent MinExponent: p bits below the integer bit.
            int keep = x.Exponent - format.MinExponent + p;
            (kept, inexact, up) = RoundBits(x.Significand, 128 - keep, x.Sign, ctx.Rounding);
            if (kept == 0)
            {
                exponent = 0;
                significand = 0;
            }
            else
            {
                Normalize(kept, x.Exponent, 128 - keep, out exponent, out significand);
                if (exponent < format.MinExponent)
                {
                    significand >>= format.MinExponent - exponent;
                    exponent = format.MinExponent;
                }
            }

            if (inexact)
            {
                ctx.Raised |= FpuExceptions.Underflow;
            }

            SetInexact(ref ctx, inexact, up);
            return true;
        }

        SetInexact(ref ctx, inexact, up);
        return true;
    }

    /// <summary>The masked overflow response: infinity or the largest finite value, as RC says (SDM Vol. 1 4.9.1.4, table 4-10).</summary>
    private static bool MaskedOverflow(ref FpuContext ctx, bool sign, FloatFormat format, int p, out int exponent, out ulong significand)
    {
        ctx.Raised |= FpuExceptions.Precision;
        bool toInfinity = ctx.Rounding switch
        {
            RoundingMode.Nearest => true,
            RoundingMode.Down => sign,
            RoundingMode.Up => !sign,
            _ => false,
        };
        ctx.RoundedUp = toInfinity;
        exponent = toInfinity ? format.MaxExponent + 1 : format.MaxExponent;
        significand = toInfinity ? Float80.IntegerBit : ulong.MaxValue << (64 - p);
        return true;
    }

    /// <summary>Rounds to the extended format at the context's precision and packs the result for a register.</summary>
    public static Float80 ToRegister(ref FpuContext ctx, Wide x, int? precision = null)
    {
        Round(ref ctx, x, FloatFormat.Extended, precision ?? ctx.Precision, register: true, out bool sign, out int exponent, out ulong significand);
        return PackExtended(sign, exponent, significand);
    }

    /// <summary>Packs an exact wide value whose significand has at most 64 significant bits and whose exponent is in range.</summary>
    public static Float80 PackWide(Wide x) => x.Significand == 0 ? new Float80(0, (ushort)(x.Sign ? 0x8000 : 0)) : new Float80((ulong)(x.Significand >> 64), (ushort)((x.Sign ? 0x8000 : 0) | x.Exponent));

    public static Float80 PackExtended(bool sign, int exponent, ulong significand)
    {
        int field = significand == 0 || (significand & Float80.IntegerBit) == 0 ? 0 : exponent;
        return new Float80(significand, (ushort)((sign ? 0x8000 : 0) | (field & 0x7FFF)));
    }

    public static ulong PackDouble(bool sign, int exponent, ulong significand)
    {
        ulong field = (significand & Float80.IntegerBit) == 0 ? 0 : (ulong)(exponent - Float80.Bias + 1023);
        return (sign ? 1UL << 63 : 0) | (field << 52) | ((significand >> 11) & ((1UL << 52) - 1));
    }

    public static uint PackSingle(bool sign, int exponent, ulong significand)
    {
        uint field = (significand & Float80.IntegerBit) == 0 ? 0 : (uint)(exponent - Float80.Bias + 127);
        return (sign ? 1u << 31 : 0) | (field << 23) | (uint)((significand >> 40) & 0x7FFFFF);
    }

    private static void SetInexact(ref FpuContext ctx, bool inexact, bool up)
    {
        if (inexact)
        {
            ctx.Raised |= FpuExceptions.Precision;
        }

        ctx.RoundedUp = up;
    }

    /// <summary>Drops the low <paramref name="discard"/> bits of <paramref name="m"/> with the rounding mode; the kept part may carry into one more bit.</summary>
    public static (UInt128 Kept, bool Inexact, bool Up) RoundBits(UInt128 m, int discard, bool sign, RoundingMode mode)
    {
        UInt128 kept, rem, half;
        if (discard <= 0)
        {
            return (m, false, false);
        }

        if (discard < 128)
        {
            kept = m >> discard;
            rem = m & ((UInt128.One << discard) - 1);
            half = UInt128.One << (discard - 1);
        }
        else if (discard == 128)
        {
            kept = 0;
            rem = m;
            half = UInt128.One << 127;
        }
        else
        {
            kept = 0;
            rem = m == 0 ? UInt128.Zero : UInt128.One;
            half = 2;
        }

        bool inexact = rem != 0;
        bool up = mode switch
        {
            RoundingMode.Nearest => rem > half || (rem == half && (kept & 1) != 0),
            RoundingMode.Down => sign && inexact,
            RoundingMode.Up => !sign && inexact,
            _ => false,
        };
        if (up)
        {
            kept++;
        }

        return (kept, inexact, up);
    }

    /// <summary>kept * 2^(discard - 127) * 2^(exponent - 16383) as a 64-bit significand with J at bit 63 and its exponent.</summary>
    private static void Normalize(UInt128 kept, int exponent, int discard, out int outExponent, out ulong significand)
    {
        int n = 128 - (int)UInt128.LeadingZeroCount(kept);
        significand = n <= 64 ? (ulong)(kept << (64 - n)) : (ulong)(kept >> (n - 64));
        outExponent = exponent + discard + n - 128;
    }

    /// <summary>Integer square root of a non-negative big integer (Newton's method).</summary>
    public static BigInteger Sqrt(BigInteger n)
    {
        if (n.IsZero)
        {
            return 0;
        }

        BigInteger x = BigInteger.One << (int)((n.GetBitLength() + 1) / 2);
        while (true)
        {
            BigInteger y = (x + (n / x)) >> 1;
            if (y >= x)
            {
                return x;
            }

            x = y;
        }
    }
}
