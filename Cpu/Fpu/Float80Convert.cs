namespace Emulator.Cpu.Fpu;

/// <summary>
/// Conversions between the extended format and integers, single and double precision and packed
/// BCD (SDM Vol. 1 4.2, 4.7, 8.2). Loads are exact; stores round with RC (integer stores,
/// FBSTP) or to the destination precision, and a value that cannot be represented stores the
/// integer or BCD indefinite when #IA is masked (SDM Vol. 1 4.8.3.7, table 4-3).
/// </summary>
public static class Float80Convert
{
    public static Float80 FromInt64(long value)
    {
        if (value == 0)
        {
            return Float80.PositiveZero;
        }

        ulong magnitude = value < 0 ? (ulong)-value : (ulong)value;
        int shift = System.Numerics.BitOperations.LeadingZeroCount(magnitude);
        return new Float80(magnitude << shift, (ushort)((value < 0 ? 0x8000 : 0) | (Float80.Bias + 63 - shift)));
    }

    public static Float80 FromDouble(ref FpuContext ctx, ulong bits) => FromBinary(ref ctx, bits >> 63 != 0, (int)((bits >> 52) & 0x7FF), bits & ((1UL << 52) - 1), 52, 1023);

    public static Float80 FromSingle(ref FpuContext ctx, uint bits) => FromBinary(ref ctx, bits >> 31 != 0, (int)((bits >> 23) & 0xFF), bits & 0x7FFFFF, 23, 127);

    /// <summary>An exact widening load; an SNaN raises #IA and loads quiet, a denormal raises #D (SDM Vol. 2A, FLD).</summary>
    private static Float80 FromBinary(ref FpuContext ctx, bool sign, int exponent, ulong fraction, int fractionBits, int bias)
    {
        ushort signBit = (ushort)(sign ? 0x8000 : 0);
        int maxExponent = (2 * bias) + 1;
        if (exponent == maxExponent)
        {
            ulong significand = Float80.IntegerBit | (fraction << (63 - fractionBits));
            var special = new Float80(significand, (ushort)(signBit | 0x7FFF));
            if (special.IsSignalingNaN)
            {
                ctx.Raised |= FpuExceptions.Invalid;
                return special.Quiet();
            }

            return special;
        }

        if (exponent == 0)
        {
            if (fraction == 0)
            {
                return new Float80(0, signBit);
            }

            ctx.Raised |= FpuExceptions.Denormal;
            int shift = System.Numerics.BitOperations.LeadingZeroCount(fraction);
            // value = fraction * 2^(1 - bias - fractionBits)
            int e = Float80.Bias + 1 - bias - fractionBits + 63 - shift;
            return new Float80(fraction << shift, (ushort)(signBit | e));
        }

        return new Float80(Float80.IntegerBit | (fraction << (63 - fractionBits)), (ushort)(signBit | (exponent - bias + Float80.Bias)));
    }

    /// <summary>FST m64: rounds to double with RC (PC does not apply); false when an unmasked exception forbids the store.</summary>
    public static bool ToDouble(ref FpuContext ctx, Float80 x, out ulong bits)
    {
        bits = 0;
        if (StoreSpecial(ref ctx, x, out Float80 special))
        {
            if (ctx.Aborted)
            {
                return false;
            }

            ulong exponent = special.Exponent == Float80.MaxExponent ? 0x7FFUL : 0;
            bits = (special.Sign ? 1UL << 63 : 0) | (exponent << 52) | ((special.Significand >> 11) & ((1UL << 52) - 1));
            return true;
        }

        if (!Rounding.Round(ref ctx, Wide.From(x), FloatFormat.Double, 64, register: false, out bool sign, out int e, out ulong significand))
        {
            return false;
        }

        bits = Rounding.PackDouble(sign, e, significand);
        return true;
    }

    /// <summary>FST m32: as <see cref="ToDouble"/> for single precision.</summary>
    public static bool ToSingle(ref FpuContext ctx, Float80 x, out uint bits)
    {
        bits = 0;
        if (StoreSpecial(ref ctx, x, out Float80 special))
        {
            if (ctx.Aborted)
            {
                return false;
            }

            uint exponent = special.Exponent == Float80.MaxExponent ? 0xFFu : 0;
            bits = (special.Sign ? 1u << 31 : 0) | (exponent << 23) | (uint)((special.Significand >> 40) & 0x7FFFFF);
            return true;
        }

        if (!Rounding.Round(ref ctx, Wide.From(x), FloatFormat.Single, 64, register: false, out bool sign, out int e, out ulong significand))
        {
            return false;
        }

        bits = Rounding.PackSingle(sign, e, significand);
        return true;
    }

    /// <summary>Zeros, infinities, NaNs (quieted, #IA for an SNaN; the significand is truncated) and unsupported encodings (#IA, the indefinite).</summary>
    private static bool StoreSpecial(ref FpuContext ctx, Float80 x, out Float80 result)
    {
        ctx.RoundedUp = false;
        result = x;
        if (x.IsUnsupported)
        {
            result = ctx.Invalid();
            return true;
        }

        if (x.IsSignalingNaN)
        {
            ctx.Raised |= FpuExceptions.Invalid;
            result = x.Quiet();
            return true;
        }

        return x.IsZero || x.IsNaN || x.IsInfinity;
    }

    /// <summary>
    /// Rounds a finite non-zero value to an integer magnitude with <paramref name="mode"/>.
    /// Returns false when the magnitude is 2^64 or more.
    /// </summary>
    public static bool RoundToInteger(Float80 x, RoundingMode mode, out UInt128 magnitude, out bool inexact, out bool up)
    {
        var w = Wide.From(x);
        int unbiased = w.Exponent - Float80.Bias;
        if (unbiased >= 64)
        {
            magnitude = 0;
            inexact = up = false;
            return false;
        }

        (magnitude, inexact, up) = Rounding.RoundBits(w.Significand, 127 - unbiased, w.Sign, mode);
        return true;
    }

    /// <summary>
    /// FIST/FISTP/FISTTP: a signed integer of <paramref name="bits"/> bits, rounded with RC or
    /// truncated. NaN, infinity, unsupported and out-of-range values raise #IA and give the integer
    /// indefinite (only the sign bit set) when it is masked.
    /// </summary>
    public static bool ToInteger(ref FpuContext ctx, Float80 x, int bits, bool truncate, out long value)
    {
        ctx.RoundedUp = false;
        long indefinite = bits == 64 ? long.MinValue : -(1L << (bits - 1));
        value = 0;
        if (x.IsZero)
        {
            return true;
        }

        if (!x.IsFiniteNonZero)
        {
            ctx.Raised |= FpuExceptions.Invalid;
            value = indefinite;
            return !ctx.Aborted;
        }

        RoundingMode mode = truncate ? RoundingMode.TowardZero : ctx.Rounding;
        UInt128 limit = (UInt128)1 << (bits - 1);
        if (!RoundToInteger(x, mode, out UInt128 magnitude, out bool inexact, out bool up) || magnitude > limit || (magnitude == limit && !x.Sign))
        {
            ctx.Raised |= FpuExceptions.Invalid;
            value = indefinite;
            return !ctx.Aborted;
        }

        if (inexact)
        {
            ctx.Raised |= FpuExceptions.Precision;
        }

        ctx.RoundedUp = up;
        value = x.Sign ? (long)(0 - (ulong)magnitude) : (long)(ulong)magnitude;
        return true;
    }

    /// <summary>FRNDINT: rounds to an integral value with RC (SDM Vol. 2A, FRNDINT); #D for a denormal, #P when inexact.</summary>
    public static Float80 RoundToIntegral(ref FpuContext ctx, Float80 x)
    {
        ctx.RoundedUp = false;
        if (x.IsUnsupported)
        {
            return ctx.Invalid();
        }

        if (x.IsNaN)
        {
            return Float80Math.PropagateNaN(ref ctx, x, x);
        }

        if (x.IsZero || x.IsInfinity)
        {
            return x;
        }

        if (ctx.Denormal(x))
        {
            return default;
        }

        if (!RoundToInteger(x, ctx.Rounding, out UInt128 magnitude, out bool inexact, out bool up))
        {
            return x;
        }

        if (inexact)
        {
            ctx.Raised |= FpuExceptions.Precision;
        }

        ctx.RoundedUp = up;
        if (magnitude == 0)
        {
            return x.Sign ? Float80.NegativeZero : Float80.PositiveZero;
        }

        return Rounding.PackWide(Wide.FromParts(x.Sign, Float80.Bias + 127, magnitude));
    }

    /// <summary>FBLD: 18 packed BCD digits and a sign byte (SDM Vol. 1 4.7, figure 4-9), loaded exactly.</summary>
    public static Float80 FromBcd(ulong low, ushort high)
    {
        // Digits 17..16 are in byte 8, digits 15..0 in bytes 7..0; byte 9 bit 7 is the sign.
        int top = high & 0xFF;
        ulong value = (ulong)(((top >> 4) * 10) + (top & 0xF));
        for (int k = 7; k >= 0; k--)
        {
            int b = (int)((low >> (k * 8)) & 0xFF);
            value = (value * 100) + (ulong)(((b >> 4) * 10) + (b & 0xF));
        }

        bool negative = (high & 0x8000) != 0;
        Float80 result = FromInt64((long)value);
        return negative ? result.WithSign(true) : result;
    }

    /// <summary>FBSTP: rounds with RC to an integer of at most 18 digits; otherwise #IA and the BCD indefinite (FFFF C000000000000000h).</summary>
    public static bool ToBcd(ref FpuContext ctx, Float80 x, out ulong low, out ushort high)
    {
        ctx.RoundedUp = false;
        low = 0;
        high = 0;
        UInt128 magnitude = 0;
        bool ok = true;
        if (!x.IsZero)
        {
            if (!x.IsFiniteNonZero)
            {
                ok = false;
            }
            else
            {
                ok = RoundToInteger(x, ctx.Rounding, out magnitude, out bool inexact, out bool up) && magnitude <= 999_999_999_999_999_999UL;
                if (ok)
                {
                    if (inexact)
                    {
                        ctx.Raised |= FpuExceptions.Precision;
                    }

                    ctx.RoundedUp = up;
                }
            }
        }

        if (!ok)
        {
            ctx.Raised |= FpuExceptions.Invalid;
            ctx.RoundedUp = false;
            low = 0xC000_0000_0000_0000;
            high = 0xFFFF;
            return !ctx.Aborted;
        }

        ulong v = (ulong)magnitude;
        for (int k = 0; k < 8; k++)
        {
            ulong pair = v % 100;
            v /= 100;
            low |= ((pair / 10 << 4) | (pair % 10)) << (k * 8);
        }

        high = (ushort)(((v / 10) << 4) | (v % 10) | (x.Sign ? 0x8000u : 0));
        return true;
    }
}
