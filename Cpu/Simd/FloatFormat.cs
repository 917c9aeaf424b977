namespace Emulator.Cpu.Simd;

/// <summary>
/// An IEEE 754 binary interchange format given by its exponent and fraction widths (SDM Vol. 1
/// 4.2.2, figure 4-3): <see cref="Single"/> (8, 23) and <see cref="Double"/> (11, 52). Values
/// travel as raw bits in the low <see cref="Width"/> bits of a ulong.
/// </summary>
public readonly struct FloatFormat
{
    public static readonly FloatFormat Single = new(8, 23);
    public static readonly FloatFormat Double = new(11, 52);

    public FloatFormat(int exponentBits, int fractionBits)
    {
        ExponentBits = exponentBits;
        FractionBits = fractionBits;
    }

    public int ExponentBits { get; }

    public int FractionBits { get; }

    public int Width => ExponentBits + FractionBits + 1;

    public int Bias => (1 << (ExponentBits - 1)) - 1;

    /// <summary>The all-ones biased exponent of infinities and NaNs.</summary>
    public int MaxExponent => (1 << ExponentBits) - 1;

    public ulong FractionMask => (1UL << FractionBits) - 1;

    public ulong SignBit => 1UL << (Width - 1);

    /// <summary>The most significant fraction bit: set in a QNaN, clear in an SNaN (SDM Vol. 1 4.8.3.4).</summary>
    public ulong QuietBit => 1UL << (FractionBits - 1);

    /// <summary>The QNaN floating-point indefinite: FFC00000H, FFF8000000000000H (SDM Vol. 1 4.8.3.7).</summary>
    public ulong DefaultNaN => SignBit | ((ulong)MaxExponent << FractionBits) | QuietBit;

    public ulong Infinity(bool negative) => (negative ? SignBit : 0) | ((ulong)MaxExponent << FractionBits);

    public ulong MaxFinite(bool negative) => (negative ? SignBit : 0) | ((ulong)(MaxExponent - 1) << FractionBits) | FractionMask;

    public ulong Zero(bool negative) => negative ? SignBit : 0;

    public bool IsNaN(ulong bits) => ((bits >> FractionBits) & (ulong)MaxExponent) == (ulong)MaxExponent && (bits & FractionMask) != 0;

    public bool IsSignalingNaN(ulong bits) => IsNaN(bits) && (bits & QuietBit) == 0;

    public bool IsDenormal(ulong bits) => ((bits >> FractionBits) & (ulong)MaxExponent) == 0 && (bits & FractionMask) != 0;
}
