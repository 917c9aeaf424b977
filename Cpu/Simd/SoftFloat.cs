namespace Emulator.Cpu.Simd;

/// <summary>
/// Software IEEE 754 arithmetic on <see cref="FloatFormat"/> values with the SSE rules of SDM
/// Vol. 1 chapter 4.8-4.9 and 11.5: every rounding mode of MXCSR.RC, DAZ on inputs, FTZ on
/// outputs, and the six exception flags. .NET cannot run host code under a guest's MXCSR, so
/// every operation computes its exact result as an integer significand (UInt128) with a sticky
/// bit and rounds once, in <see cref="RoundPack"/>.
/// NaN rules (SDM Vol. 1 table 4-7): an SNaN operand raises IE; if the first source is a NaN it is
/// returned (quieted), else the second; an invalid operation returns the QNaN indefinite.
/// Denormal inputs raise DE unless DAZ turns them into zeros (10.2.3.4); a NaN operand suppresses
/// DE (the NaN check comes first, 11.5.2).
/// </summary>
public static partial class SoftFloat
{
    /// <summary>
    /// SSE detects tininess after rounding (SDM Vol. 1 4.9.1.5: "tiny" is judged on the result
    /// rounded to the destination precision as if the exponent range were unbounded).
    /// </summary>
    public static readonly bool TininessAfterRounding = true;

    private enum Kind
    {
        Zero,
        Finite,
        Infinity,
        NaN,
    }

    /// <summary>An unpacked operand: value = (-1)^Sign * Significand * 2^Exponent, the significand normalized to FractionBits + 1 bits.</summary>
    private struct Unpacked
    {
        public bool Sign;
        public Kind Kind;
        public int Exponent;
        public ulong Significand;
        public bool Denormal;
    }

    private static Unpacked Unpack(FloatFormat f, ulong bits, bool daz)
    {
        var u = new Unpacked { Sign = (bits & f.SignBit) != 0 };
        int biased = (int)((bits >> f.FractionBits) & (ulong)f.MaxExponent);
        ulong fraction = bits & f.FractionMask;
        if (biased == f.MaxExponent)
        {
            u.Kind = fraction == 0 ? Kind.Infinity : Kind.NaN;
        }
        else if (biased == 0)
        {
            if (fraction == 0 || daz)
            {
                u.Kind = Kind.Zero;
            }
            else
            {
                u.Kind = Kind.Finite;
                u.Denormal = true;
                int shift = f.FractionBits + 1 - (64 - System.Numerics.BitOperations.LeadingZeroCount(fraction));
                u.Significand = fraction << shift;
                u.Exponent = 1 - f.Bias - f.FractionBits - shift;
            }
        }
        else
        {
            u.Kind = Kind.Finite;
            u.Significand = fraction | (1UL << f.FractionBits);
            u.Exponent = biased - f.Bias - f.FractionBits;
        }

        return u;
    }

    /// <summary>The input as an operation sees it: a DAZ-flushed denormal becomes a signed zero.</summary>
    public static ulong ApplyDaz(FloatFormat f, ulong bits, bool daz) => daz && f.IsDenormal(bits) ? bits & f.SignBit : bits;

    private static ulong Quiet(FloatFormat f, ulong bits) => bits | f.QuietBit;

    /// <summary>NaN result of a two-operand operation (SDM Vol. 1 table 4-7, SSE column).</summary>
    private static ulong PropagateNaN(FloatFormat f, ulong a, ulong b, ref FpEnv env)
    {
        if (f.IsSignalingNaN(a) || f.IsSignalingNaN(b))
        {
            env.Flags |= Mxcsr.IE;
        }

        return Quiet(f, f.IsNaN(a) ? a : b);
    }

    private static void NoteDenormals(in Unpacked a, in Unpacked b, ref FpEnv env)
    {
        if (a.Denormal || b.Denormal)
        {
            env.Flags |= Mxcsr.DE;
        }
    }

    private static ulong Invalid(FloatFormat f, ref FpEnv env)
    {
        env.Flags |= Mxcsr.IE;
        return f.DefaultNaN;
    }

    public static ulong Add(FloatFormat f, ulong a, ulong b, ref FpEnv env) => AddSigned(f, a, b, false, ref env);

    public static ulong Sub(FloatFormat f, ulong a, ulong b, ref FpEnv env) => AddSigned(f, a, b, true, ref env);

    private static ulong AddSigned(FloatFormat f, ulong a, ulong b, bool subtract, ref FpEnv env)
    {
        var x = Unpack(f, a, env.Daz);
        var y = Unpack(f, b, env.Daz);
        if (x.Kind == Kind.NaN || y.Kind == Kind.NaN)
        {
            return PropagateNaN(f, a, b, ref env);
        }

        NoteDenormals(x, y, ref env);
        y.Sign ^= subtract;
        if (x.Kind == Kind.Infinity || y.Kind == Kind.Infinity)
        {
            if (x.Kind == Kind.Infinity && y.Kind == Kind.Infinity && x.Sign != y.Sign)
            {
                return Invalid(f, ref env);
            }

            return f.Infinity(x.Kind == Kind.Infinity ? x.Sign : y.Sign);
        }

        if (x.Kind == Kind.Zero && y.Kind == Kind.Zero)
        {
            // SDM Vol. 1 4.8.3.1 / IEEE 754 6.3: +0 for a sum of opposite zeros except rounding down.
            bool sign = x.Sign == y.Sign ? x.Sign : env.Rounding == RoundingMode.Down;
            return f.Zero(sign);
        }

        if (x.Kind == Kind.Zero)
        {
            return RoundPack(f, y.Sign, y.Exponent, y.Significand, ref env);
        }

        if (y.Kind == Kind.Zero)
        {
            return RoundPack(f, x.Sign, x.Exponent, x.Significand, ref env);
        }

        // Align on the larger exponent with 64 spare low bits; what shifts out of the smaller
        // operand is kept as a sticky bit (it can only matter below the rounding point).
        if (x.Exponent < y.Exponent)
        {
            (x, y) = (y, x);
        }

        UInt128 big = (UInt128)x.Significand << 64;
        UInt128 small = ShiftRightJam((UInt128)y.Significand << 64, x.Exponent - y.Exponent);
        int exponent = x.Exponent - 64;
        if (x.Sign == y.Sign)
        {
            return RoundPack(f, x.Sign, exponent, big + small, ref env);
        }

        if (big == small)
        {
            return f.Zero(env.Rounding == RoundingMode.Down);
        }

        return big > small ? RoundPack(f, x.Sign, exponent, big - small, ref env) : RoundPack(f, y.Sign, exponent, small - big, ref env);
    }

    public static ulong Mul(FloatFormat f, ulong a, ulong b, ref FpEnv env)
    {
        var x = Unpack(f, a, env.Daz);
        var y = Unpack(f, b, env.Daz);
        if (x.Kind == Kind.NaN || y.Kind == Kind.NaN)
        {
            return PropagateNaN(f, a, b, ref env);
        }

        NoteDenormals(x, y, ref env);
        bool sign = x.Sign ^ y.Sign;
        if (x.Kind == Kind.Infinity || y.Kind == Kind.Infinity)
        {
            return x.Kind == Kind.Zero || y.Kind == Kind.Zero ? Invalid(f, ref env) : f.Infinity(sign);
        }

        if (x.Kind == Kind.Zero || y.Kind == Kind.Zero)
        {
            return f.Zero(sign);
        }

        return RoundPack(f, sign, x.Exponent + y.Exponent, (UInt128)x.Significand * y.Significand, ref env);
    }

    public static ulong Div(FloatFormat f, ulong a, ulong b, ref FpEnv env)
    {
        var x = Unpack(f, a, env.Daz);
        var y = Unpack(f, b, env.Daz);
        if (x.Kind == Kind.NaN || y.Kind == Kind.NaN)
        {
            return PropagateNaN(f, a, b, ref env);
        }

        bool sign = x.Sign ^ y.Sign;
        if ((x.Kind == Kind.Infinity && y.Kind == Kind.Infinity) || (x.Kind == Kind.Zero && y.Kind == Kind.Zero))
        {
            return Invalid(f, ref env);
        }

        if (y.Kind == Kind.Zero)
        {
            // Divide-by-zero outranks a denormal dividend: ZE alone (checked on hardware). An
            // infinite dividend gives an exact infinity, no ZE (IEEE 754 7.3; SDM Vol. 1 4.9.1.3:
            // only a finite nonzero dividend).
            env.Flags |= x.Kind == Kind.Infinity ? 0 : Mxcsr.ZE;
            return f.Infinity(sign);
        }

        NoteDenormals(x, y, ref env);
        if (x.Kind == Kind.Infinity)
        {
            return f.Infinity(sign);
        }

        if (x.Kind == Kind.Zero || y.Kind == Kind.Infinity)
        {
            return f.Zero(sign);
        }

        // Both significands have FractionBits + 1 bits; 74 extra bits leave >= 20 below the rounding point.
        UInt128 dividend = (UInt128)x.Significand << 74;
        UInt128 quotient = dividend / y.Significand;
        bool inexact = quotient * y.Significand != dividend;
        return RoundPack(f, sign, x.Exponent - y.Exponent - 74, quotient | (inexact ? 1u : 0u), ref env);
    }

    public static ulong Sqrt(FloatFormat f, ulong a, ref FpEnv env)
    {
        var x = Unpack(f, a, env.Daz);
        if (x.Kind == Kind.NaN)
        {
            return PropagateNaN(f, a, a, ref env);
        }

        if (x.Kind == Kind.Zero)
        {
            return a & (env.Daz ? f.SignBit : ulong.MaxValue);
        }

        if (x.Sign)
        {
            return Invalid(f, ref env);
        }

        if (x.Denormal)
        {
            env.Flags |= Mxcsr.DE;
        }

        if (x.Kind == Kind.Infinity)
        {
            return a;
        }

        UInt128 m = x.Significand;
        int e = x.Exponent;
        if ((e & 1) != 0)
        {
            m <<= 1;
            e--;
        }

        UInt128 radicand = m << 72;
        UInt128 root = IntegerSqrt(radicand);
        bool inexact = root * root != radicand;
        return RoundPack(f, false, (e - 72) / 2, root | (inexact ? 1u : 0u), ref env);
    }

    private static UInt128 IntegerSqrt(UInt128 n)
    {
        UInt128 result = 0;
        UInt128 bit = (UInt128)1 << 126;
        while (bit > n)
        {
            bit >>= 2;
        }

        while (bit != 0)
        {
            if (n >= result + bit)
            {
                n -= result + bit;
                result = (result >> 1) + bit;
            }
            else
            {
                result >>= 1;
            }

            bit >>= 2;
        }

        return result;
    }

    private static UInt128 ShiftRightJam(UInt128 value, int shift)
    {
        if (shift <= 0)
        {
            return value;
        }

        if (shift >= 128)
        {
            return value != 0 ? 1u : 0u;
        }

        UInt128 lost = value & (((UInt128)1 << shift) - 1);
        return (value >> shift) | (lost != 0 ? 1u : 0u);
    }

    /// <summary>
    /// Rounds <paramref name="significand"/> * 2^<paramref name="exponent"/> (its lowest bit may be a sticky bit,
    /// provided it lies at least two bits below the rounding point) to an integer multiple of 2^<paramref name="lsb"/>.
    /// </summary>
    private static ulong RoundToMultiple(UInt128 significand, int exponent, int lsb, bool sign, RoundingMode mode, out bool inexact)
    {
        int shift = lsb - exponent;
        if (shift <= 0)
        {
            inexact = false;
            return (ulong)(significand << -shift);
        }

        bool guard;
        bool sticky;
        ulong q;
        if (shift > 128)
        {
            q = 0;
            guard = false;
            sticky = significand != 0;
        }
        else
        {
            q = shift == 128 ? 0 : (ulong)(significand >> shift);
            guard = ((significand >> (shift - 1)) & 1) != 0;
            sticky = (significand & (((UInt128)1 << (shift - 1)) - 1)) != 0;
        }

        inexact = guard || sticky;
        bool up = mode switch
        {
            RoundingMode.Nearest => guard && (sticky || (q & 1) != 0),
            RoundingMode.Up => inexact && !sign,
            RoundingMode.Down => inexact && sign,
            _ => false,
        };
        return up ? q + 1 : q;
    }

    /// <summary>
    /// The single rounding step of every operation (SDM Vol. 1 4.8.4, 4.9.1.4-4.9.1.6): rounds the
    /// exact value to the format under MXCSR.RC, raising PE when inexact, OE on overflow (result
    /// infinity or the largest finite number as the rounding direction says, table 4-10), UE when
    /// tiny and inexact (or tiny at all with UE unmasked), and with FTZ and UE masked returns a
    /// signed zero for a tiny result, raising UE and PE (10.2.3.3). With OE or UE unmasked, PE
    /// means the full-precision result with an unbounded exponent is inexact, as on the host.
    /// </summary>
    private static ulong RoundPack(FloatFormat f, bool sign, int exponent, UInt128 significand, ref FpEnv env)
    {
        if (significand == 0)
        {
            return f.Zero(sign);
        }

        int top = 127 - (int)UInt128.LeadingZeroCount(significand);
        int leading = exponent + top;      // unbiased exponent of the leading bit
        int minNormal = 1 - f.Bias;
        int lsbNormal = leading - f.FractionBits;
        bool tiny;
        if (leading >= minNormal)
        {
            tiny = false;
        }
        else if (TininessAfterRounding)
        {
            // Tiny unless rounding to full precision with an unbounded exponent carries up to 2^minNormal.
            ulong wide = RoundToMultiple(significand, exponent, lsbNormal, sign, env.Rounding, out _);
            tiny = leading < minNormal - 1 || wide >> (f.FractionBits + 1) == 0;
        }
        else
        {
            tiny = true;
        }

        int lsb = Math.Max(lsbNormal, minNormal - f.FractionBits);
        ulong q = RoundToMultiple(significand, exponent, lsb, sign, env.Rounding, out bool inexact);
        if (q >> (f.FractionBits + 1) != 0)
        {
            q >>= 1;
            lsb++;
        }

        if (tiny)
        {
            if (env.Ftz && env.UnderflowMasked)
            {
                env.Flags |= Mxcsr.UE | Mxcsr.PE;
                return f.Zero(sign);
            }

            if (!env.UnderflowMasked)
            {
                // Unmasked underflow (SDM Vol. 1 4.9.1.5): UE even for an exact result, and PE
                // only when the result rounded to full precision with an unbounded exponent is
                // inexact, not the denormalized one, which is never stored (checked on hardware).
                RoundToMultiple(significand, exponent, lsbNormal, sign, env.Rounding, out bool wideInexact);
                env.Flags |= Mxcsr.UE | (wideInexact ? Mxcsr.PE : 0);
                return f.Zero(sign) | q;
            }

            if (inexact)
            {
                env.Flags |= Mxcsr.UE;
            }
        }

        if (inexact)
        {
            env.Flags |= Mxcsr.PE;
        }

        if (q >> f.FractionBits == 0)
        {
            return f.Zero(sign) | q; // denormal (or zero after rounding)
        }

        int biased = lsb + f.FractionBits + f.Bias;
        if (biased >= f.MaxExponent)
        {
            // Masked, the delivered infinity or largest finite is inexact: OE and PE. Unmasked,
            // nothing is delivered and PE means only that the unbounded-exponent result was
            // inexact, already noted above (SDM Vol. 1 11.5.2.4; the host oracle agrees).
            env.Flags |= env.OverflowUnmasked ? Mxcsr.OE : Mxcsr.OE | Mxcsr.PE;
            bool toInfinity = env.Rounding switch
            {
                RoundingMode.Nearest => true,
                RoundingMode.Up => !sign,
                RoundingMode.Down => sign,
                _ => false,
            };
            return toInfinity ? f.Infinity(sign) : f.MaxFinite(sign);
        }

        return f.Zero(sign) | ((ulong)biased << f.FractionBits) | (q & f.FractionMask);
    }

    /// <summary>The four outcomes of a comparison (SDM Vol. 1 4.8.3.6, table 4-9 wording).</summary>
    public enum Ordering
    {
        Less,
        Equal,
        Greater,
        Unordered,
    }

    /// <summary>
    /// Compares two values. A signalling compare (COMISS, CMPPS LT/LE/NLT/NLE, MIN/MAX) raises IE
    /// for any NaN, a quiet one only for an SNaN (SDM Vol. 2 CMPPS table 3-1, COMISS, UCOMISS).
    /// </summary>
    public static Ordering Compare(FloatFormat f, ulong a, ulong b, bool signaling, ref FpEnv env)
    {
        var x = Unpack(f, a, env.Daz);
        var y = Unpack(f, b, env.Daz);
        if (x.Kind == Kind.NaN || y.Kind == Kind.NaN)
        {
            if (signaling || f.IsSignalingNaN(a) || f.IsSignalingNaN(b))
            {
                env.Flags |= Mxcsr.IE;
            }

            return Ordering.Unordered;
        }

        NoteDenormals(x, y, ref env);
        int order = CompareValues(x, y);
        return order < 0 ? Ordering.Less : order > 0 ? Ordering.Greater : Ordering.Equal;
    }

    private static int CompareValues(in Unpacked x, in Unpacked y)
    {
        // Magnitude order key: zero < finite < infinity, then exponent of the leading bit, then significand.
        static (int, long, ulong) Key(in Unpacked u) => u.Kind switch
        {
            Kind.Zero => (0, 0, 0),
            Kind.Infinity => (2, 0, 0),
            _ => (1, u.Exponent, u.Significand),
        };

        bool xZero = x.Kind == Kind.Zero, yZero = y.Kind == Kind.Zero;
        if (xZero && yZero)
        {
            return 0;
        }

        if (x.Sign != y.Sign)
        {
            return x.Sign ? -1 : 1;
        }

        int magnitude = Key(x).CompareTo(Key(y));
        return x.Sign ? -magnitude : magnitude;
    }

    /// <summary>
    /// MINPS/MINSS/MAXPS/MAXSS and the PD forms (SDM Vol. 2 MINPS: "if either value is a NaN (SNaN
    /// or QNaN), the second operand is returned"; so is the second of two zeros of either sign).
    /// Any NaN raises IE. The returned operand is the one the operation saw (after DAZ), as the host does.
    /// </summary>
    public static ulong MinMax(FloatFormat f, ulong a, ulong b, bool max, ref FpEnv env)
    {
        var x = Unpack(f, a, env.Daz);
        var y = Unpack(f, b, env.Daz);
        ulong second = ApplyDaz(f, b, env.Daz);
        if (x.Kind == Kind.NaN || y.Kind == Kind.NaN)
        {
            env.Flags |= Mxcsr.IE;
            return second;
        }

        NoteDenormals(x, y, ref env);
        int order = CompareValues(x, y);
        bool first = max ? order > 0 : order < 0;
        return first ? ApplyDaz(f, a, env.Daz) : second;
    }

    /// <summary>
    /// Float to signed integer of <paramref name="bits"/> (32 or 64) under <paramref name="mode"/>
    /// (CVTSS2SI and friends, SDM Vol. 2). NaN, infinity and out-of-range values raise IE and give
    /// the integer indefinite 80000000H / 8000000000000000H (SDM Vol. 1 4.8.3.7); inexact raises PE.
    /// </summary>
    public static ulong ToInt(FloatFormat f, ulong a, int bits, RoundingMode mode, ref FpEnv env)
    {
        ulong indefinite = 1UL << (bits - 1);
        var x = Unpack(f, a, env.Daz);
        if (x.Kind is Kind.NaN or Kind.Infinity)
        {
            env.Flags |= Mxcsr.IE;
            return indefinite;
        }

        if (x.Kind == Kind.Zero)
        {
            return 0;
        }

        if (x.Exponent + f.FractionBits >= bits)
        {
            // |value| >= 2^bits: out of range whatever the rounding.
            env.Flags |= Mxcsr.IE;
            return indefinite;
        }

        ulong magnitude = RoundToMultiple(x.Significand, x.Exponent, 0, x.Sign, mode, out bool inexact);
        if (magnitude > (x.Sign ? indefinite : indefinite - 1))
        {
            env.Flags |= Mxcsr.IE;
            return indefinite;
        }

        if (inexact)
        {
            env.Flags |= Mxcsr.PE;
        }

        ulong result = x.Sign ? 0 - magnitude : magnitude;
        return bits == 64 ? result : result & 0xFFFF_FFFF;
    }

    /// <summary>Signed integer to float, rounded under MXCSR.RC (CVTSI2SS, CVTDQ2PS, ...); PE when inexact.</summary>
    public static ulong FromInt(FloatFormat f, long value, ref FpEnv env)
    {
        bool sign = value < 0;
        ulong magnitude = sign ? 0 - (ulong)value : (ulong)value;
        return RoundPack(f, sign, 0, magnitude, ref env);
    }

    /// <summary>
    /// Conversion between formats (CVTSS2SD, CVTSD2SS, ...). A NaN keeps its sign and the top of
    /// its payload and is quieted (an SNaN raises IE); denormal inputs raise DE; narrowing rounds.
    /// </summary>
    public static ulong Convert(FloatFormat from, FloatFormat to, ulong a, ref FpEnv env)
    {
        var x = Unpack(from, a, env.Daz);
        switch (x.Kind)
        {
            case Kind.NaN:
                if (from.IsSignalingNaN(a))
                {
                    env.Flags |= Mxcsr.IE;
                }

                ulong fraction = a & from.FractionMask;
                fraction = to.FractionBits >= from.FractionBits ? fraction << (to.FractionBits - from.FractionBits) : fraction >> (from.FractionBits - to.FractionBits);
                return to.Infinity(x.Sign) | fraction | to.QuietBit;
            case Kind.Infinity:
                return to.Infinity(x.Sign);
            case Kind.Zero:
                return to.Zero(x.Sign);
            default:
                if (x.Denormal)
                {
                    env.Flags |= Mxcsr.DE;
                }

                return RoundPack(to, x.Sign, x.Exponent, x.Significand, ref env);
        }
    }

    /// <summary>
    /// Rounds to an integral value in the same format (ROUNDPS/ROUNDSS, SDM Vol. 2): an SNaN raises
    /// IE, an inexact result PE unless <paramref name="suppressPrecision"/> (imm8 bit 3).
    /// </summary>
    public static ulong RoundToIntegral(FloatFormat f, ulong a, RoundingMode mode, bool suppressPrecision, ref FpEnv env)
    {
        var x = Unpack(f, a, env.Daz);
        switch (x.Kind)
        {
            case Kind.NaN:
                return PropagateNaN(f, a, a, ref env);
            case Kind.Infinity:
                return a;
            case Kind.Zero:
                return f.Zero(x.Sign);
        }

        if (x.Exponent >= 0)
        {
            return a;
        }

        ulong q = RoundToMultiple(x.Significand, x.Exponent, 0, x.Sign, mode, out bool inexact);
        if (inexact && !suppressPrecision)
        {
            env.Flags |= Mxcsr.PE;
        }

        var exact = new FpEnv { Rounding = RoundingMode.Nearest, UnderflowMasked = true };
        return RoundPack(f, x.Sign, 0, q, ref exact);
    }

    /// <summary>
    /// The approximate reciprocal and reciprocal square root of RCPPS/RSQRTPS (SDM Vol. 2: relative
    /// error at most 1.5 * 2^-12), bit for bit as the AMD Zen host computes them
    /// (<see cref="ReciprocalTable"/>): the top 12 fraction bits of the input pick a 12-bit result
    /// fraction, the exponent is negated (halved for RSQRT, whose table also depends on the
    /// exponent's parity). Zeros and denormals give a signed infinity, results below the normal
    /// range a signed zero, whatever DAZ and FTZ say; RSQRT of a negative number is the QNaN
    /// indefinite; an infinity gives zero; a NaN is quieted. MXCSR is neither read nor written.
    /// </summary>
    public static uint Reciprocal(uint a, bool squareRoot)
    {
        const uint SignBit = 0x8000_0000, QuietBit = 0x0040_0000, Infinity = 0x7F80_0000, Indefinite = 0xFFC0_0000;
        uint sign = a & SignBit;
        int biased = (int)((a >> 23) & 0xFF);
        uint fraction = a & 0x7F_FFFF;
        if (biased == 0xFF)
        {
            return fraction != 0 ? a | QuietBit : squareRoot && sign != 0 ? Indefinite : sign;
        }

        if (biased == 0)
        {
            return sign | Infinity;
        }

        if (squareRoot && sign != 0)
        {
            return Indefinite;
        }

        int k = (int)(fraction >> 11);
        int exponent;
        ushort result;
        if (!squareRoot)
        {
            result = ReciprocalTable.Reciprocal[k];
            exponent = 253 - biased;
        }
        else if (((biased - 127) & 1) == 0)
        {
            result = ReciprocalTable.ReciprocalSqrtEven[k];
            exponent = 126 - ((biased - 127) / 2);
        }
        else
        {
            result = ReciprocalTable.ReciprocalSqrtOdd[k];
            exponent = 126 - ((biased - 128) / 2);
        }

        return exponent <= 0 ? sign : sign | ((uint)exponent << 23) | ((uint)result << 11);
    }
}
