using System.Numerics;

namespace Emulator.Cpu.Fpu;

/// <summary>
/// Correctly rounded x87 arithmetic in software: add, subtract, multiply, divide and square root
/// (SDM Vol. 1 4.8.4 rounding, 8.1.5.2 precision control), with the special-operand rules of
/// SDM Vol. 1 4.8.3 and 8.5: unsupported encodings and signaling NaNs are invalid, NaNs
/// propagate as table 4-7 says, denormal operands raise #D. Each method returns the masked
/// response; the caller drops the result when <see cref="FpuContext.Aborted"/>.
/// </summary>
public static class Float80Math
{
    /// <summary>
    /// The NaN result of an operation with NaN operands (SDM Vol. 1 4.8.3.5, table 4-7 x87 column):
    /// an SNaN raises #IA; two NaNs of one kind give the larger significand (on a tie the positive
    /// one), an SNaN and a QNaN give the QNaN, one NaN gives itself; the result is quiet.
    /// </summary>
    public static Float80 PropagateNaN(ref FpuContext ctx, Float80 a, Float80 b)
    {
        if (a.IsSignalingNaN || b.IsSignalingNaN)
        {
            ctx.Raised |= FpuExceptions.Invalid;
        }

        if (a.IsNaN && b.IsNaN)
        {
            if (a.IsQuietNaN != b.IsQuietNaN)
            {
                return a.IsQuietNaN ? a : b;
            }

            ulong sa = a.Significand | Float80.QuietBit, sb = b.Significand | Float80.QuietBit;
            if (sa != sb)
            {
                return (sa > sb ? a : b).Quiet();
            }

            return (a.SignExponent <= b.SignExponent ? a : b).Quiet();
        }

        return (a.IsNaN ? a : b).Quiet();
    }

    /// <summary>The checks before a two-operand operation: unsupported operands, then NaNs. Returns true with the result when they decide it.</summary>
    private static bool Special(ref FpuContext ctx, Float80 a, Float80 b, out Float80 result)
    {
        if (a.IsUnsupported || b.IsUnsupported)
        {
            result = ctx.Invalid();
            return true;
        }

        if (a.IsNaN || b.IsNaN)
        {
            result = PropagateNaN(ref ctx, a, b);
            return true;
        }

        result = default;
        return false;
    }

    private static bool Denormals(ref FpuContext ctx, Float80 a, Float80 b)
    {
        if (!a.IsDenormal && !b.IsDenormal && !ctx.OperandDenormal)
        {
            return false;
        }

        ctx.Raised |= FpuExceptions.Denormal;
        return !ctx.IsMasked(FpuExceptions.Denormal);
    }

    public static Float80 Add(ref FpuContext ctx, Float80 a, Float80 b) => AddCore(ref ctx, a, b, negateB: false);

    public static Float80 Subtract(ref FpuContext ctx, Float80 a, Float80 b) => AddCore(ref ctx, a, b, negateB: true);

    private static Float80 AddCore(ref FpuContext ctx, Float80 a, Float80 b, bool negateB)
    {
        ctx.RoundedUp = false;
        if (Special(ref ctx, a, b, out Float80 special))
        {
            return special;
        }

        if (negateB)
        {
            b = b.Negate();
        }

        if (a.IsInfinity || b.IsInfinity)
        {
            if (a.IsInfinity && b.IsInfinity && a.Sign != b.Sign)
            {
                return ctx.Invalid();
            }

            if (Denormals(ref ctx, a, b))
            {
                return default;
            }

            return a.IsInfinity ? a : b;
        }

        if (Denormals(ref ctx, a, b))
        {
            return default;
        }

        if (a.IsZero && b.IsZero)
        {
            bool negative = a.Sign == b.Sign ? a.Sign : ctx.Rounding == RoundingMode.Down;
            return negative ? Float80.NegativeZero : Float80.PositiveZero;
        }

        if (a.IsZero || b.IsZero)
        {
            // x + 0 is x, rounded to the precision control (a denormal stays as it is).
            return Rounding.ToRegister(ref ctx, Wide.From(a.IsZero ? b : a));
        }

        return Rounding.ToRegister(ref ctx, AddWide(Wide.From(a), Wide.From(b), ctx.Rounding));
    }

    /// <summary>The exact sum of two normalized wide values (the smaller's shifted-out bits kept as a sticky bit).</summary>
    public static Wide AddWide(Wide x, Wide y, RoundingMode rounding)
    {
        if (x.Significand == 0)
        {
            return y;
        }

        if (y.Significand == 0)
        {
            return x;
        }

        if (x.Exponent < y.Exponent || (x.Exponent == y.Exponent && x.Significand < y.Significand))
        {
            (x, y) = (y, x);
        }

        // Both significands are shifted right by one so the sum cannot carry out of 128 bits.
        int d = x.Exponent - y.Exponent;
        UInt128 big = x.Significand >> 1;
        UInt128 small = ShiftRightSticky(y.Significand, d + 1);
        bool stickyBig = (x.Significand & 1) != 0;
        if (stickyBig)
        {
            big |= 1;
        }

        if (x.Sign == y.Sign)
        {
            return Wide.FromParts(x.Sign, x.Exponent + 1, big + small);
        }

        UInt128 diff = big - small;
        if (diff == 0)
        {
            return new Wide(rounding == RoundingMode.Down, 0, 0);
        }

        return Wide.FromParts(x.Sign, x.Exponent + 1, diff);
    }

    public static UInt128 ShiftRightSticky(UInt128 v, int shift)
    {
        if (shift <= 0)
        {
            return v;
        }

        if (shift >= 128)
        {
            return v == 0 ? UInt128.Zero : UInt128.One;
        }

        UInt128 lost = v & ((UInt128.One << shift) - 1);
        return (v >> shift) | (lost != 0 ? UInt128.One : UInt128.Zero);
    }

    public static Float80 Multiply(ref FpuContext ctx, Float80 a, Float80 b)
    {
        ctx.RoundedUp = false;
        if (Special(ref ctx, a, b, out Float80 special))
        {
            return special;
        }

        bool sign = a.Sign != b.Sign;
        if (a.IsInfinity || b.IsInfinity)
        {
            if (a.IsZero || b.IsZero)
            {
                return ctx.Invalid();
            }

            if (Denormals(ref ctx, a, b))
            {
                return default;
            }

            return sign ? Float80.NegativeInfinity : Float80.PositiveInfinity;
        }

        if (Denormals(ref ctx, a, b))
        {
            return default;
        }

        if (a.IsZero || b.IsZero)
        {
            return sign ? Float80.NegativeZero : Float80.PositiveZero;
        }

        return Rounding.ToRegister(ref ctx, MultiplyWide(Wide.From(a), Wide.From(b)));
    }

    /// <summary>The exact product of two wide values whose significands have at most 64 significant bits.</summary>
    public static Wide MultiplyWide(Wide x, Wide y)
    {
        UInt128 product = (x.Significand >> 64) * (y.Significand >> 64);
        // (a/2^63)(b/2^63) = product/2^126: as a /2^127 significand the exponent gains one.
        return Wide.FromParts(x.Sign != y.Sign, x.Exponent + y.Exponent - Float80.Bias + 1, product);
    }

    public static Float80 Divide(ref FpuContext ctx, Float80 a, Float80 b)
    {
        ctx.RoundedUp = false;
        if (Special(ref ctx, a, b, out Float80 special))
        {
            return special;
        }

        bool sign = a.Sign != b.Sign;
        if ((a.IsInfinity && b.IsInfinity) || (a.IsZero && b.IsZero))
        {
            return ctx.Invalid();
        }

        if (b.IsZero && !a.IsInfinity)
        {
            // A zero divisor is #Z before any #D of the dividend.
            ctx.Raised |= FpuExceptions.ZeroDivide;
            return sign ? Float80.NegativeInfinity : Float80.PositiveInfinity;
        }

        if (Denormals(ref ctx, a, b))
        {
            return default;
        }

        if (a.IsInfinity || b.IsZero)
        {
            return sign ? Float80.NegativeInfinity : Float80.PositiveInfinity;
        }

        if (a.IsZero || b.IsInfinity)
        {
            return sign ? Float80.NegativeZero : Float80.PositiveZero;
        }

        return Rounding.ToRegister(ref ctx, DivideWide(Wide.From(a), Wide.From(b)));
    }

    /// <summary>The quotient of two wide values with 64-bit significands, to 127 bits plus a sticky bit.</summary>
    public static Wide DivideWide(Wide x, Wide y)
    {
        var n = new BigInteger((ulong)(x.Significand >> 64)) << 128;
        var d = new BigInteger((ulong)(y.Significand >> 64));
        BigInteger q = BigInteger.DivRem(n, d, out BigInteger r);
        // q = (a/b) * 2^128, at most 129 bits: fold to 127 bits with the remainder as sticky.
        int extra = (int)q.GetBitLength() - 127;
        BigInteger lost = q & ((BigInteger.One << extra) - 1);
        q >>= extra;
        var m = (UInt128)q;
        if (!lost.IsZero || !r.IsZero)
        {
            m |= 1;
        }

        // value = m * 2^(extra - 128) * 2^(ea - eb) = (m / 2^127) * 2^(ea - eb + extra - 1).
        return Wide.FromParts(x.Sign != y.Sign, x.Exponent - y.Exponent + Float80.Bias + extra - 1, m);
    }

    public static Float80 Sqrt(ref FpuContext ctx, Float80 a)
    {
        ctx.RoundedUp = false;
        if (a.IsUnsupported)
        {
            return ctx.Invalid();
        }

        if (a.IsNaN)
        {
            return PropagateNaN(ref ctx, a, a);
        }

        if (a.IsZero)
        {
            return a;
        }

        if (a.Sign)
        {
            return ctx.Invalid();
        }

        if (ctx.Denormal(a))
        {
            return default;
        }

        if (a.IsInfinity)
        {
            return a;
        }

        return Rounding.ToRegister(ref ctx, SqrtWide(Wide.From(a)));
    }

    /// <summary>The square root of a positive wide value, to 127 bits plus a sticky bit.</summary>
    public static Wide SqrtWide(Wide x)
    {
        // value = s * 2^(e - 16383 - 127) with s = the 128-bit significand; make the power even.
        int e = x.Exponent - Float80.Bias - 127;
        var s = (BigInteger)x.Significand;
        if ((e & 1) != 0)
        {
            s <<= 1;
            e -= 1;
        }

        // Scale so the root has at least 128 bits: sqrt(s * 2^128) = sqrt(s) * 2^64.
        s <<= 128;
        e -= 128;
        BigInteger root = Rounding.Sqrt(s);
        bool exact = root * root == s;
        int bits = (int)root.GetBitLength();
        int extra = bits - 127;
        BigInteger lost = root & ((BigInteger.One << extra) - 1);
        var m = (UInt128)(root >> extra);
        if (!exact || !lost.IsZero)
        {
            m |= 1;
        }

        // value = root * 2^(e/2) = m * 2^(extra + e/2) = (m / 2^126) * 2^(extra + e/2 + 126)
        return Wide.FromParts(false, extra + (e / 2) + 126 + Float80.Bias + 1, m);
    }
}
