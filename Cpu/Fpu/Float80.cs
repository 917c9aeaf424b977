namespace Emulator.Cpu.Fpu;

/// <summary>
/// An 80-bit double extended-precision value as the x87 stores it (SDM Vol. 1 4.2.2, figure 4-3):
/// a 64-bit significand with an explicit integer bit (J, bit 63), a 15-bit exponent biased by
/// 16383 and a sign. The encodings of SDM Vol. 1 table 8-3: exponent 0 with J = 0 is a zero or a
/// denormal, exponent 0 with J = 1 a pseudo-denormal (accepted as an operand, SDM 8.2.2), exponent
/// 7FFFh with J = 1 an infinity or a NaN, and any other encoding with J = 0 (unnormal, pseudo-NaN,
/// pseudo-infinity) is unsupported: an invalid operand.
/// </summary>
public readonly record struct Float80(ulong Significand, ushort SignExponent)
{
    public const int Bias = 16383;
    public const int MaxExponent = 0x7FFF;
    public const ulong IntegerBit = 1UL << 63;
    public const ulong QuietBit = 1UL << 62;

    public static readonly Float80 PositiveZero = new(0, 0);
    public static readonly Float80 NegativeZero = new(0, 0x8000);
    public static readonly Float80 PositiveInfinity = new(IntegerBit, 0x7FFF);
    public static readonly Float80 NegativeInfinity = new(IntegerBit, 0xFFFF);

    /// <summary>The QNaN floating-point indefinite (SDM Vol. 1 table 4-3): negative, exponent 7FFFh, significand C000...0.</summary>
    public static readonly Float80 Indefinite = new(0xC000_0000_0000_0000, 0xFFFF);

    public static readonly Float80 One = new(IntegerBit, Bias);

    public bool Sign => (SignExponent & 0x8000) != 0;

    public int Exponent => SignExponent & 0x7FFF;

    public bool IsZero => Exponent == 0 && Significand == 0;

    /// <summary>Denormal or pseudo-denormal: exponent 0, significand non-zero.</summary>
    public bool IsDenormal => Exponent == 0 && Significand != 0;

    public bool IsInfinity => Exponent == MaxExponent && Significand == IntegerBit;

    public bool IsNaN => Exponent == MaxExponent && (Significand & IntegerBit) != 0 && (Significand & ~IntegerBit) != 0;

    public bool IsSignalingNaN => IsNaN && (Significand & QuietBit) == 0;

    public bool IsQuietNaN => IsNaN && (Significand & QuietBit) != 0;

    /// <summary>Unnormals, pseudo-NaNs and pseudo-infinities: J = 0 with a non-zero exponent (SDM 8.2.2).</summary>
    public bool IsUnsupported => Exponent != 0 && (Significand & IntegerBit) == 0;

    /// <summary>A finite value other than zero (normal, denormal or pseudo-denormal).</summary>
    public bool IsFiniteNonZero => Exponent != MaxExponent && !IsZero && !IsUnsupported;

    public Float80 Negate() => new(Significand, (ushort)(SignExponent ^ 0x8000));

    public Float80 Abs() => new(Significand, (ushort)(SignExponent & 0x7FFF));

    public Float80 WithSign(bool negative) => new(Significand, (ushort)((SignExponent & 0x7FFF) | (negative ? 0x8000 : 0)));

    /// <summary>The QNaN this NaN becomes: the quiet bit set (SDM Vol. 1 4.8.3.4).</summary>
    public Float80 Quiet() => new(Significand | QuietBit, SignExponent);

    /// <summary>
    /// The 2-bit tag of this value in a non-empty register (SDM Vol. 1 8.1.7, figure 8-7): 00 valid,
    /// 01 zero, 10 special (NaN, infinity, denormal, unsupported).
    /// </summary>
    public int Tag
    {
        get
        {
            if (IsZero)
            {
                return 1;
            }

            return Exponent == 0 || Exponent == MaxExponent || (Significand & IntegerBit) == 0 ? 2 : 0;
        }
    }

    public override string ToString() => $"{SignExponent:x4}:{Significand:x16}";
}
