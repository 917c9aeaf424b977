using System.Numerics;

namespace Emulator.Cpu.Fpu;

/// <summary>
/// The x87 transcendental instructions in software (SDM Vol. 2A: FSIN, FCOS, FSINCOS, FPTAN,
/// FPATAN, F2XM1, FYL2X, FYL2XP1). Each is computed in big-integer fixed point with at least 256
/// bits beyond the result's leading bit (more for tiny arguments), then rounded once to 64 bits
/// with RC, so results are within one ulp of the exact value, as the SDM promises for the
/// hardware (Vol. 1 8.3.10). Range reduction for the trigonometric functions subtracts an exact
/// multiple of pi/2 with pi truncated to 66 bits, as the hardware does (SDM Vol. 1 8.3.10: "the
/// x87 FPU uses a 66-bit approximation of pi"; the AMD host agrees to the ulp): far from zero the
/// results therefore follow the hardware rather than the true function. Arguments of magnitude
/// 2^63 or more are left alone with C2 = 1.
/// Precision control does not apply (Vol. 1 8.1.5.2).
/// </summary>
public static class Float80Transcendental
{
    private const int Guard = 256;
    private const int PiBits = 1024;

    private static readonly BigInteger s_pi = ComputePi();
    private static readonly BigInteger s_ln2 = ComputeLn2();

    /// <summary>pi truncated to 66 significant bits (2 integer bits, 64 fraction bits), scaled by 2^1024 like <see cref="s_pi"/>.</summary>
    private static readonly BigInteger s_pi66 = s_pi >> (PiBits - 64) << (PiBits - 64);

    /// <summary>pi * 2^1024, by Machin's formula: pi = 16 atan(1/5) - 4 atan(1/239).</summary>
    private static BigInteger ComputePi()
    {
        int f = PiBits + 32;
        BigInteger one = BigInteger.One << f;
        BigInteger AtanInverse(int n)
        {
            BigInteger sum = 0, power = one / n, n2 = n * n;
            for (int k = 0; !power.IsZero; k++)
            {
                BigInteger term = power / ((2 * k) + 1);
                sum += (k & 1) == 0 ? term : -term;
                power /= n2;
            }

            return sum;
        }

        return ((16 * AtanInverse(5)) - (4 * AtanInverse(239))) >> 32;
    }

    /// <summary>ln 2 * 2^1024 = 2 atanh(1/3) * 2^1024.</summary>
    private static BigInteger ComputeLn2()
    {
        int f = PiBits + 32;
        BigInteger s = (BigInteger.One << f) / 3;
        return Atanh(s, f) * 2 >> 32;
    }

    /// <summary>v / 2^f truncated toward zero (a plain shift would stick at -1 for negative series terms).</summary>
    private static BigInteger Shr(BigInteger v, int f) => v.Sign < 0 ? -(-v >> f) : v >> f;

    private static BigInteger Pi(int f) => f <= PiBits ? s_pi >> (PiBits - f) : s_pi << (f - PiBits);

    private static BigInteger Ln2(int f) => f <= PiBits ? s_ln2 >> (PiBits - f) : s_ln2 << (f - PiBits);

    /// <summary>atanh(s) for |s| &lt; 1/2 in fixed point with <paramref name="f"/> fraction bits.</summary>
    private static BigInteger Atanh(BigInteger s, int f)
    {
        BigInteger s2 = Shr(s * s, f), power = s, sum = 0;
        for (int k = 1; !power.IsZero; k += 2)
        {
            sum += power / k;
            power = Shr(power * s2, f);
        }

        return sum;
    }

    /// <summary>atan(t) for 0 &lt;= t &lt;= 1: three angle halvings t / (1 + sqrt(1 + t^2)), then the series.</summary>
    private static BigInteger Atan(BigInteger t, int f)
    {
        BigInteger one = BigInteger.One << f;
        for (int k = 0; k < 3; k++)
        {
            BigInteger root = Rounding.Sqrt((one + ((t * t) >> f)) << f);
            t = (t << f) / (one + root);
        }

        BigInteger t2 = Shr(t * t, f), power = t, sum = 0;
        for (int k = 1; !power.IsZero; k += 2)
        {
            sum += ((k >> 1) & 1) == 0 ? power / k : -(power / k);
            power = Shr(power * t2, f);
        }

        return sum << 3;
    }

    /// <summary>sin r and cos r for |r| &lt;= pi/4 by their Taylor series.</summary>
    private static (BigInteger Sin, BigInteger Cos) SinCos(BigInteger r, int f)
    {
        BigInteger r2 = Shr(r * r, f);
        BigInteger sin = 0, term = r;
        for (int k = 1; !term.IsZero; k += 2)
        {
            sin += term;
            term = -Shr(term * r2, f) / ((k + 1) * (k + 2));
        }

        BigInteger cos = 0;
        term = BigInteger.One << f;
        for (int k = 0; !term.IsZero; k += 2)
        {
            cos += term;
            term = -Shr(term * r2, f) / ((k + 1) * (k + 2));
        }

        return (sin, cos);
    }

    /// <summary>The magnitude of a finite value in fixed point with <paramref name="f"/> fraction bits (truncated).</summary>
    private static BigInteger ToFixed(Float80 x, int f)
    {
        Wide w = Wide.From(x);
        int shift = f - 127 + (w.Exponent - Float80.Bias);
        var m = (BigInteger)w.Significand;
        return shift >= 0 ? m << shift : m >> -shift;
    }

    /// <summary>The fraction bits needed for a value near 2^e to keep <see cref="Guard"/> bits.</summary>
    private static int FractionBits(Float80 x) => Guard + Math.Max(0, Float80.Bias - Wide.From(x).Exponent);

    /// <summary>An approximate value sign * n * 2^exp2 as a wide value; the sticky bit marks it inexact.</summary>
    private static Wide Approximate(bool sign, BigInteger n, int exp2)
    {
        if (n.Sign < 0)
        {
            sign = !sign;
            n = -n;
        }

        int length = (int)n.GetBitLength();
        int shift = Math.Max(0, length - 127);
        var m = (UInt128)(n >> shift);
        return Wide.FromParts(sign, exp2 + shift + 127 + Float80.Bias, m | 1);
    }

    public static Float80 Round(ref FpuContext ctx, Wide w) => Rounding.ToRegister(ref ctx, w, precision: 64);

    /// <summary>True when |x| &lt; 2^63, the trigonometric instructions' domain (else C2 = 1 and ST(0) is left alone).</summary>
    public static bool InTrigRange(Float80 x) => !x.IsFiniteNonZero || Wide.From(x).Exponent < Float80.Bias + 63;

    /// <summary>
    /// FSIN/FCOS/FSINCOS/FPTAN on one operand: returns sin x, cos x and tan x (what the
    /// instruction needs). NaNs propagate, infinities and unsupported encodings are #IA, a
    /// denormal raises #D, zero gives exact results.
    /// </summary>
    public static bool Trig(ref FpuContext ctx, Float80 x, out Float80 special, out Wide sin, out Wide cos, out Wide tan)
    {
        ctx.RoundedUp = false;
        sin = cos = tan = default;
        special = default;
        if (x.IsUnsupported || x.IsInfinity || x.IsNaN)
        {
            special = x.IsNaN ? Float80Math.PropagateNaN(ref ctx, x, x) : ctx.Invalid();
            return false;
        }

        if (x.IsZero)
        {
            sin = tan = new Wide(x.Sign, 0, 0);
            cos = new Wide(false, Float80.Bias, UInt128.One << 127);
            return true;
        }

        if (ctx.Denormal(x))
        {
            return false;
        }

        if (Wide.From(x).Exponent < Float80.Bias - 70)
        {
            // |x| < 2^-70: sin x = x - x^3/6 lies just below x, tan x just above, cos x just
            // below 1, closer than any fixed-point sum would show; one unit of the 128-bit
            // significand on the right side rounds every mode correctly.
            Wide w = Wide.From(x);
            sin = w with { Significand = w.Significand - 1 };
            tan = w with { Significand = w.Significand | 1 };
            cos = new Wide(false, Float80.Bias - 1, UInt128.MaxValue);
            return true;
        }

        int f = FractionBits(x) + 64;
        BigInteger ax = ToFixed(x, f);
        // k = round(|x| / (P/2)); r = |x| - k P/2, exactly, with P = pi to 66 bits.
        BigInteger halfPi = s_pi66 << (f - PiBits) >> 1;
        BigInteger k = ((ax << 1) + halfPi) / (halfPi << 1);
        BigInteger r = ax - (k * halfPi);
        var (s, c) = SinCos(r, f);
        int quadrant = (int)(k & 3);
        (BigInteger sq, BigInteger cq) = quadrant switch
        {
            0 => (s, c),
            1 => (c, -s),
            2 => (-s, -c),
            _ => (-c, s),
        };
        sin = Approximate(x.Sign, sq, -f);
        cos = Approximate(false, cq, -f);
        tan = Approximate(x.Sign, (sq << f) / cq, -f);
        return true;
    }

    /// <summary>F2XM1: 2^x - 1 for -1 &lt;= x &lt;= 1 (SDM Vol. 2A, F2XM1).</summary>
    public static Float80 TwoToXMinus1(ref FpuContext ctx, Float80 x)
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

        if (x.IsZero)
        {
            return x;
        }

        if (x.IsInfinity)
        {
            return x.Sign ? new Float80(Float80.IntegerBit, 0xBFFF) : x;
        }

        if (ctx.Denormal(x))
        {
            return default;
        }

        int f = FractionBits(x);
        if (x.Exponent > Float80.Bias)
        {
            // |x| >= 2, outside the documented domain (the result is undefined there). The series
            // below diverges for such x and never ended (found by the host-CPU harness); split
            // x = n + r with 0 <= r < 1 and return 2^n * 2^r - 1, n clamped far past the range.
            BigInteger fx = ToFixed(x, f);
            fx = x.Sign ? -fx : fx;
            BigInteger whole = fx >> f;
            int n = (int)BigInteger.Clamp(whole, -20000, 20000);
            BigInteger one = BigInteger.One << f;
            BigInteger power = one + Series(((fx - (whole << f)) * Ln2(f)) >> f, f);
            BigInteger total = (n >= 0 ? power << n : power >> -n) - one;
            return Round(ref ctx, Approximate(false, total, -f));
        }

        BigInteger y = ToFixed(x, f) * Ln2(f) >> f;
        if (x.Sign)
        {
            y = -y;
        }

        return Round(ref ctx, Approximate(false, Series(y, f), -f));
    }

    /// <summary>e^y - 1 for a fixed-point y (<paramref name="f"/> fraction bits) with |y| &lt; 1.</summary>
    private static BigInteger Series(BigInteger y, int f)
    {
        BigInteger sum = 0, term = y;
        for (int k = 2; !term.IsZero; k++)
        {
            sum += term;
            term = Shr(term * y, f) / k;
        }

        return sum;
    }

    /// <summary>log2 of a finite positive value in fixed point with <paramref name="f"/> fraction bits.</summary>
    private static BigInteger Log2(Float80 x, int f)
    {
        Wide w = Wide.From(x);
        int e = w.Exponent - Float80.Bias;
        BigInteger one = BigInteger.One << f;
        var m = (BigInteger)w.Significand << f >> 127; // in [1, 2)
        BigInteger s = ((m - one) << f) / (m + one);
        BigInteger ln = Atanh(s, f) << 1;
        return ((BigInteger)e << f) + ((ln << f) / Ln2(f));
    }

    /// <summary>FYL2X: y * log2(x) (SDM Vol. 2A, FYL2X, table 3-51).</summary>
    public static Float80 YLog2X(ref FpuContext ctx, Float80 x, Float80 y)
    {
        ctx.RoundedUp = false;
        if (x.IsUnsupported || y.IsUnsupported)
        {
            return ctx.Invalid();
        }

        if (x.IsNaN || y.IsNaN)
        {
            return Float80Math.PropagateNaN(ref ctx, x, y);
        }

        if (x.Sign && !x.IsZero)
        {
            return ctx.Invalid();
        }

        bool isOne = x.Exponent == Float80.Bias && x.Significand == Float80.IntegerBit;
        if (x.IsZero)
        {
            if (y.IsZero)
            {
                return ctx.Invalid();
            }

            // A zero divide only: the host CPU reports no DE for a denormal y here.
            if (!y.IsInfinity)
            {
                ctx.Raised |= FpuExceptions.ZeroDivide;
            }

            return y.Sign ? Float80.PositiveInfinity : Float80.NegativeInfinity;
        }

        if (x.IsInfinity)
        {
            if (y.IsZero)
            {
                return ctx.Invalid();
            }

            // The host CPU reports DE for a denormal y times log2(+inf).
            if (ctx.Denormal(y))
            {
                return default;
            }

            return y.Sign ? Float80.NegativeInfinity : Float80.PositiveInfinity;
        }

        if (y.IsInfinity)
        {
            if (isOne)
            {
                return ctx.Invalid();
            }

            // The host CPU reports DE for log2 of a denormal x times infinity.
            if (ctx.Denormal(x))
            {
                return default;
            }

            bool below = Float80Ops.CompareValues(x, Float80.One) < 0;
            return below != y.Sign ? Float80.NegativeInfinity : Float80.PositiveInfinity;
        }

        bool stop = ctx.Denormal(x);
        if (ctx.Denormal(y) || stop)
        {
            return default;
        }

        if (y.IsZero || isOne)
        {
            bool below = Float80Ops.CompareValues(x, Float80.One) < 0;
            return below != y.Sign ? Float80.NegativeZero : Float80.PositiveZero;
        }

        int f = Guard + 64;
        BigInteger log = Log2(x, f);
        Wide wy = Wide.From(y);
        BigInteger product = log * (BigInteger)(ulong)(wy.Significand >> 64);
        return Round(ref ctx, Approximate(y.Sign, product, -f + (wy.Exponent - Float80.Bias - 63)));
    }

    /// <summary>FYL2XP1: y * log2(x + 1) for |x| &lt; 1 - sqrt(2)/2 (SDM Vol. 2A, FYL2XP1).</summary>
    public static Float80 YLog2XPlus1(ref FpuContext ctx, Float80 x, Float80 y)
    {
        ctx.RoundedUp = false;
        if (x.IsUnsupported || y.IsUnsupported)
        {
            return ctx.Invalid();
        }

        if (x.IsNaN || y.IsNaN)
        {
            return Float80Math.PropagateNaN(ref ctx, x, y);
        }

        if ((x.IsInfinity && (x.Sign || y.IsZero)) || (y.IsInfinity && x.IsZero))
        {
            return ctx.Invalid();
        }

        bool stop = ctx.Denormal(x);
        if (ctx.Denormal(y) || stop)
        {
            return default;
        }

        if (x.IsInfinity)
        {
            // Outside the documented domain; the hardware gives y * log2(+inf).
            return y.Sign ? Float80.NegativeInfinity : Float80.PositiveInfinity;
        }

        bool sign = x.Sign != y.Sign;
        if (y.IsInfinity)
        {
            return sign ? Float80.NegativeInfinity : Float80.PositiveInfinity;
        }

        if (x.IsZero || y.IsZero)
        {
            return sign ? Float80.NegativeZero : Float80.PositiveZero;
        }

        if (x.Exponent >= Float80.Bias)
        {
            // |x| >= 1, far outside the documented domain (the result is undefined there): the
            // atanh series below needs about 1 / (1 - s) terms and never finished for x = 2^43
            // (found by the host-CPU harness). Take y * log2(1 + x) with 1 + x rounded instead.
            Float80 xPlus1 = Float80Math.Add(ref ctx, x, Float80.One);
            return YLog2X(ref ctx, xPlus1, y);
        }

        int f = FractionBits(x);
        BigInteger one = BigInteger.One << f;
        BigInteger ax = ToFixed(x, f);
        BigInteger sx = x.Sign ? -ax : ax;
        BigInteger s = (sx << f) / ((2 * one) + sx);
        BigInteger log = (Atanh(s, f) << 1 << f) / Ln2(f);
        Wide wy = Wide.From(y);
        BigInteger product = log * (BigInteger)(ulong)(wy.Significand >> 64);
        return Round(ref ctx, Approximate(y.Sign, product, -f + (wy.Exponent - Float80.Bias - 63)));
    }

    /// <summary>FPATAN: atan(y / x) with the quadrant of (x, y) (SDM Vol. 2A, FPATAN, table 3-30).</summary>
    public static Float80 Atan2(ref FpuContext ctx, Float80 y, Float80 x)
    {
        ctx.RoundedUp = false;
        if (x.IsUnsupported || y.IsUnsupported)
        {
            return ctx.Invalid();
        }

        if (x.IsNaN || y.IsNaN)
        {
            return Float80Math.PropagateNaN(ref ctx, x, y);
        }

        bool stop = ctx.Denormal(x);
        if (ctx.Denormal(y) || stop)
        {
            return default;
        }

        const int F = Guard + 64;
        BigInteger pi = Pi(F);
        BigInteger angle;
        if (y.IsZero)
        {
            if (!x.Sign)
            {
                return y;
            }

            angle = pi;
        }
        else if (x.IsZero || (y.IsInfinity && !x.IsInfinity))
        {
            angle = pi >> 1;
        }
        else if (x.IsInfinity)
        {
            angle = y.IsInfinity ? (x.Sign ? 3 * pi >> 2 : pi >> 2) : x.Sign ? pi : 0;
            if (angle.IsZero)
            {
                return y.Sign ? Float80.NegativeZero : Float80.PositiveZero;
            }
        }
        else
        {
            Wide wx = Wide.From(x), wy = Wide.From(y);
            bool swap = Float80Ops.CompareValues(y.Abs(), x.Abs()) > 0;
            Wide num = swap ? wx : wy, den = swap ? wy : wx;
            int d = den.Exponent - num.Exponent;
            if (!swap && !x.Sign && d > 100)
            {
                // atan t = t - t^3/3 for t = |y/x| < 2^-100: just below the quotient, closer
                // than the series would show. An exact quotient steps one 128-bit unit down.
                Wide q = Float80Math.DivideWide(wy with { Sign = false }, wx with { Sign = false });
                bool exact = (((BigInteger)(ulong)(wy.Significand >> 64) << 128) % (BigInteger)(ulong)(wx.Significand >> 64)).IsZero;
                return Round(ref ctx, (exact ? q with { Significand = q.Significand - 1 } : q) with { Sign = y.Sign });
            }

            int f = F + Math.Max(0, d);
            BigInteger t = ((BigInteger)num.Significand << f) / (BigInteger)den.Significand >> d;
            BigInteger a = Atan(t, f);
            if (swap)
            {
                a = (Pi(f) >> 1) - a;
            }

            if (x.Sign)
            {
                a = Pi(f) - a;
            }

            return Round(ref ctx, Approximate(y.Sign, a, -f));
        }

        return Round(ref ctx, Approximate(y.Sign, angle, -F));
    }
}
