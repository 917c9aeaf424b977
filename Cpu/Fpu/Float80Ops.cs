using System.Numerics;

namespace Emulator.Cpu.Fpu;

/// <summary>The result of an x87 comparison (SDM Vol. 2A, FCOM table 3-21).</summary>
public enum FpuRelation
{
    Greater,
    Less,
    Equal,
    Unordered,
}

/// <summary>
/// The x87 operations other than the four basic ones and the square root: comparisons, FSCALE,
/// FXTRACT and the partial remainders (SDM Vol. 2A/2B under each instruction).
/// </summary>
public static class Float80Ops
{
    /// <summary>
    /// FCOM (<paramref name="quiet"/> false: any NaN is #IA) and FUCOM (only an SNaN is #IA);
    /// unsupported operands are #IA for both; denormals raise #D (SDM Vol. 2A, FCOM and FUCOM).
    /// </summary>
    public static FpuRelation Compare(ref FpuContext ctx, Float80 a, Float80 b, bool quiet)
    {
        if (a.IsUnsupported || b.IsUnsupported)
        {
            ctx.Raised |= FpuExceptions.Invalid;
            return FpuRelation.Unordered;
        }

        if (a.IsNaN || b.IsNaN)
        {
            if (!quiet || a.IsSignalingNaN || b.IsSignalingNaN)
            {
                ctx.Raised |= FpuExceptions.Invalid;
            }

            return FpuRelation.Unordered;
        }

        // An unmasked #D still compares (the condition codes are set).
        if (a.IsDenormal || b.IsDenormal || ctx.OperandDenormal)
        {
            ctx.Raised |= FpuExceptions.Denormal;
        }

        int c = CompareValues(a, b);
        return c < 0 ? FpuRelation.Less : c > 0 ? FpuRelation.Greater : FpuRelation.Equal;
    }

    /// <summary>Orders two non-NaN supported values; +0 equals -0.</summary>
    public static int CompareValues(Float80 a, Float80 b)
    {
        if (a.IsZero && b.IsZero)
        {
            return 0;
        }

        if (a.Sign != b.Sign)
        {
            return a.Sign ? -1 : 1;
        }

        int magnitude = CompareMagnitudes(a, b);
        return a.Sign ? -magnitude : magnitude;
    }

    private static int CompareMagnitudes(Float80 a, Float80 b)
    {
        static (int, UInt128) Key(Float80 x) => x.IsZero ? (int.MinValue, 0) : x.IsInfinity ? (int.MaxValue, 0) : (Wide.From(x).Exponent, Wide.From(x).Significand);
        var (ea, sa) = Key(a);
        var (eb, sb) = Key(b);
        return ea != eb ? ea.CompareTo(eb) : sa.CompareTo(sb);
    }

    /// <summary>FSCALE: ST(0) * 2^trunc(ST(1)) (SDM Vol. 2A, FSCALE, table 3-49).</summary>
    public static Float80 Scale(ref FpuContext ctx, Float80 a, Float80 b)
    {
        ctx.RoundedUp = false;
        if (a.IsUnsupported || b.IsUnsupported)
        {
            return ctx.Invalid();
        }

        if (a.IsNaN || b.IsNaN)
        {
            return Float80Math.PropagateNaN(ref ctx, a, b);
        }

        bool stop = ctx.Denormal(a);
        if (ctx.Denormal(b) || stop)
        {
            return default;
        }

        if (b.IsInfinity)
        {
            if (!b.Sign)
            {
                // +inf: zero is invalid, anything else becomes an infinity of its sign.
                return a.IsZero ? ctx.Invalid() : a.Sign ? Float80.NegativeInfinity : Float80.PositiveInfinity;
            }

            return a.IsInfinity ? ctx.Invalid() : a.Sign ? Float80.NegativeZero : Float80.PositiveZero;
        }

        if (a.IsZero || a.IsInfinity)
        {
            return a;
        }

        // trunc(ST(1)), clamped: beyond +-2^20 the result over- or underflows anyway.
        long n;
        if (b.IsZero)
        {
            n = 0;
        }
        else if (!Float80Convert.RoundToInteger(b, RoundingMode.TowardZero, out UInt128 magnitude, out _, out _) || magnitude > (1 << 20))
        {
            n = b.Sign ? -(1 << 20) : 1 << 20;
        }
        else
        {
            n = b.Sign ? -(long)(ulong)magnitude : (long)(ulong)magnitude;
        }

        Wide w = Wide.From(a);
        return Rounding.ToRegister(ref ctx, w with { Exponent = w.Exponent + (int)n }, precision: 64);
    }

    /// <summary>FXTRACT: the unbiased exponent (as a value) and the significand with exponent 3FFFh (SDM Vol. 2A, FXTRACT).</summary>
    public static (Float80 Exponent, Float80 Significand) Extract(ref FpuContext ctx, Float80 a)
    {
        if (a.IsUnsupported)
        {
            Float80 indefinite = ctx.Invalid();
            return (indefinite, indefinite);
        }

        if (a.IsNaN)
        {
            Float80 nan = Float80Math.PropagateNaN(ref ctx, a, a);
            return (nan, nan);
        }

        if (a.IsZero)
        {
            ctx.Raised |= FpuExceptions.ZeroDivide;
            return (Float80.NegativeInfinity, a);
        }

        if (a.IsInfinity)
        {
            return (Float80.PositiveInfinity, a);
        }

        if (ctx.Denormal(a))
        {
            return default;
        }

        Wide w = Wide.From(a);
        return (Float80Convert.FromInt64(w.Exponent - Float80.Bias), new Float80((ulong)(w.Significand >> 64), (ushort)((a.Sign ? 0x8000 : 0) | Float80.Bias)));
    }

    /// <summary>
    /// FPREM (<paramref name="nearest"/> false: quotient truncated) and FPREM1 (IEEE remainder:
    /// quotient rounded to nearest even). When the exponents differ by 64 or more only a partial
    /// reduction happens and C2 = 1 (SDM Vol. 2A, FPREM). <paramref name="quotient"/> holds the low
    /// three quotient bits for C0, C3, C1.
    /// </summary>
    public static Float80 Remainder(ref FpuContext ctx, Float80 a, Float80 b, bool nearest, out bool partial, out int quotient)
    {
        partial = false;
        quotient = 0;
        ctx.RoundedUp = false;
        if (a.IsUnsupported || b.IsUnsupported)
        {
            return ctx.Invalid();
        }

        if (a.IsNaN || b.IsNaN)
        {
            return Float80Math.PropagateNaN(ref ctx, a, b);
        }

        if (a.IsInfinity || b.IsZero)
        {
            return ctx.Invalid();
        }

        bool stop = ctx.Denormal(a);
        if (ctx.Denormal(b) || stop)
        {
            return default;
        }

        if (a.IsZero)
        {
            return a;
        }

        Wide wa = Wide.From(a), wb = Wide.From(b);
        int d = b.IsInfinity ? int.MinValue : wa.Exponent - wb.Exponent;
        var ma = (BigInteger)(ulong)(wa.Significand >> 64);
        var mb = (BigInteger)(ulong)(wb.Significand >> 64);
        if (d < 0 && !(nearest && d == -1))
        {
            // |a| < |b|: the remainder is a itself, normalized like any result.
            return Rounding.ToRegister(ref ctx, wa, precision: 64);
        }

        BigInteger q;
        BigInteger r;
        int scale;
        if (d >= 64)
        {
            // Partial: reduce by b * 2^(d - n) with n between 32 and 63, the quotient truncated.
            partial = true;
            int n = 32 + (d % 32);
            scale = d - n;
            q = BigInteger.DivRem(ma << n, mb, out r);
            // r is in units of 2^(eb - 63 + scale) relative to b's exponent.
            Wide partialResult = Wide.FromParts(a.Sign, wb.Exponent + scale - 63 + 127, (UInt128)r);
            return r.IsZero ? new Float80(0, (ushort)(a.Sign ? 0x8000 : 0)) : Rounding.ToRegister(ref ctx, partialResult, precision: 64);
        }

        // a = ma * 2^(ea - 63), b = mb * 2^(eb - 63); scale everything to units of 2^(eb - 64).
        BigInteger num = d >= 0 ? ma << (d + 1) : ma;
        BigInteger den = mb << 1;
        if (d < 0)
        {
            den = mb << 2;
            num = ma << 1;
        }

        q = BigInteger.DivRem(num, den, out r);
        if (nearest)
        {
            BigInteger twice = r << 1;
            if (twice > den || (twice == den && !q.IsEven))
            {
                q += 1;
                r -= den;
            }
        }

        quotient = (int)(q & 7);
        bool sign = a.Sign;
        if (r.Sign < 0)
        {
            sign = !sign;
            r = -r;
        }

        if (r.IsZero)
        {
            return new Float80(0, (ushort)(a.Sign ? 0x8000 : 0));
        }

        // r is in units of 2^(eb - 64) (or 2^(eb - 65) when d = -1).
        int unitExponent = d >= 0 ? wb.Exponent - 64 : wb.Exponent - 65;
        return Rounding.ToRegister(ref ctx, Wide.FromParts(sign, unitExponent + 127, (UInt128)r), precision: 64);
    }
}
