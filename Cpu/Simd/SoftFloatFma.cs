namespace Emulator.Cpu.Simd;

/// <summary>
/// The fused multiply-add of FMA3 (SDM Vol. 2C VFMADD132PS and its siblings, Vol. 1 14.5): the
/// exact product a * b (48 or 106 significand bits, never rounded) is added to c and the sum is
/// rounded once under MXCSR.RC, with DAZ on all three inputs and FTZ on the result.
/// Exceptions: IE for an SNaN input, inf * 0 and inf - inf (the product of two finite numbers is
/// exact and so never an infinity); DE for a denormal input (none if any input is a NaN or the
/// operation is invalid); OE, UE
/// and PE from the single rounding. IE and DE are the pre-computation exceptions of SDM Vol. 1
/// 11.5.2: they depend on the inputs alone. Also here: the rounding step that reports PE the way
/// the hardware does under an unmasked OE or UE, and the narrowing conversion of VCVTPS2PH built on it.
/// </summary>
public static partial class SoftFloat
{
    /// <summary>The pre-computation exceptions of an FMA or conversion lane (SDM Vol. 1 11.5.2).</summary>
    public const uint PreComputationFlags = Mxcsr.IE | Mxcsr.DE | Mxcsr.ZE;

    /// <summary>
    /// (-1)^negateProduct * a * b + (-1)^negateAddend * c, rounded once. A NaN result is the first
    /// NaN of a, b, c (quieted), unsigned by the negations (checked on hardware).
    /// <paramref name="overflowMasked"/> is MXCSR.OM, which changes how PE is reported (<see cref="RoundReporting"/>).
    /// </summary>
    public static ulong FusedMultiplyAdd(FloatFormat f, ulong a, ulong b, ulong c, bool negateProduct, bool negateAddend, bool overflowMasked, ref FpEnv env)
    {
        var x = Unpack(f, a, env.Daz);
        var y = Unpack(f, b, env.Daz);
        var z = Unpack(f, c, env.Daz);
        if (x.Kind == Kind.NaN || y.Kind == Kind.NaN || z.Kind == Kind.NaN)
        {
            if (f.IsSignalingNaN(a) || f.IsSignalingNaN(b) || f.IsSignalingNaN(c))
            {
                env.Flags |= Mxcsr.IE;
            }

            return Quiet(f, x.Kind == Kind.NaN ? a : y.Kind == Kind.NaN ? b : c);
        }

        bool productSign = x.Sign ^ y.Sign ^ negateProduct;
        bool addendSign = z.Sign ^ negateAddend;
        bool productZero = x.Kind == Kind.Zero || y.Kind == Kind.Zero;
        bool productInfinite = x.Kind == Kind.Infinity || y.Kind == Kind.Infinity;
        if (productInfinite && (productZero || (z.Kind == Kind.Infinity && addendSign != productSign)))
        {
            // An invalid operation reports IE alone, even with a denormal operand (checked on hardware).
            return Invalid(f, ref env);
        }

        if (x.Denormal || y.Denormal || z.Denormal)
        {
            env.Flags |= Mxcsr.DE;
        }

        if (productInfinite)
        {
            return f.Infinity(productSign);
        }

        if (z.Kind == Kind.Infinity)
        {
            return f.Infinity(addendSign);
        }

        if (productZero)
        {
            if (z.Kind == Kind.Zero)
            {
                // IEEE 754 6.3: the sum of opposite zeros is +0 except when rounding down.
                return f.Zero(productSign == addendSign ? productSign : env.Rounding == RoundingMode.Down);
            }

            return RoundReporting(f, addendSign, z.Exponent, z.Significand, overflowMasked, ref env);
        }

        UInt128 product = (UInt128)x.Significand * y.Significand;
        int productExponent = x.Exponent + y.Exponent;
        if (z.Kind == Kind.Zero)
        {
            return RoundReporting(f, productSign, productExponent, product, overflowMasked, ref env);
        }

        // Both terms with their leading bit at bit 125 (two bits of headroom for the carry); the
        // smaller one shifts right with what falls out kept as a sticky bit. A jam happens only
        // for a shift of 20 bits or more, which leaves the sum's leading bit at 124 or above and
        // the sticky bit far below any rounding point (53 bits of precision at most).
        const int Top = 125;
        int shiftP = Top - (127 - (int)UInt128.LeadingZeroCount(product));
        UInt128 p = product << shiftP;
        int pe = productExponent - shiftP;
        int shiftZ = Top - (63 - System.Numerics.BitOperations.LeadingZeroCount(z.Significand));
        UInt128 q = (UInt128)z.Significand << shiftZ;
        int qe = z.Exponent - shiftZ;
        int exponent = Math.Max(pe, qe);
        p = ShiftRightJam(p, exponent - pe);
        q = ShiftRightJam(q, exponent - qe);
        if (productSign == addendSign)
        {
            return RoundReporting(f, productSign, exponent, p + q, overflowMasked, ref env);
        }

        if (p == q)
        {
            return f.Zero(env.Rounding == RoundingMode.Down);
        }

        return p > q ? RoundReporting(f, productSign, exponent, p - q, overflowMasked, ref env) : RoundReporting(f, addendSign, exponent, q - p, overflowMasked, ref env);
    }

    /// <summary>
    /// <see cref="RoundPack"/> with the precision flag as the hardware reports it when an
    /// overflow or underflow exception is unmasked: the handler is meant to get the result
    /// rounded to full precision with an unbounded exponent (SDM Vol. 1 4.9.1.4-4.9.1.5), so PE
    /// then says whether that rounding was inexact, not whether the denormalized or overflowed
    /// result was (an exact tiny result reports UE alone; checked on the host).
    /// </summary>
    private static ulong RoundReporting(FloatFormat f, bool sign, int exponent, UInt128 significand, bool overflowMasked, ref FpEnv env)
    {
        var local = env;
        local.Flags = 0;
        ulong result = RoundPack(f, sign, exponent, significand, ref local);
        if (((local.Flags & Mxcsr.UE) != 0 && !env.UnderflowMasked) || ((local.Flags & Mxcsr.OE) != 0 && !overflowMasked))
        {
            int top = 127 - (int)UInt128.LeadingZeroCount(significand);
            RoundToMultiple(significand, exponent, exponent + top - f.FractionBits, sign, env.Rounding, out bool inexact);
            local.Flags = (local.Flags & ~Mxcsr.PE) | (inexact ? Mxcsr.PE : 0);
        }

        env.Flags |= local.Flags;
        return result;
    }

    /// <summary>
    /// Narrowing conversion with <see cref="RoundReporting"/> (VCVTPS2PH): like <see cref="Convert"/>
    /// otherwise: a NaN keeps its sign and the top of its payload and is quieted (IE for an SNaN),
    /// a denormal input raises DE unless DAZ, and the result is rounded once.
    /// </summary>
    public static ulong Narrow(FloatFormat from, FloatFormat to, ulong a, bool overflowMasked, ref FpEnv env)
    {
        var x = Unpack(from, a, env.Daz);
        switch (x.Kind)
        {
            case Kind.NaN:
            case Kind.Infinity:
            case Kind.Zero:
                return Convert(from, to, a, ref env);
            default:
                if (x.Denormal)
                {
                    env.Flags |= Mxcsr.DE;
                }

                return RoundReporting(to, x.Sign, x.Exponent, x.Significand, overflowMasked, ref env);
        }
    }
}
