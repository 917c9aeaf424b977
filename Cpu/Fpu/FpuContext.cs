namespace Emulator.Cpu.Fpu;

/// <summary>
/// What one x87 operation needs from FCW and hands back for FSW: rounding control, precision
/// control (SDM Vol. 1 8.1.5.2: 24, 53 or 64 significand bits; the exponent range stays
/// extended), the exception masks, and the exceptions raised plus whether the last rounding went
/// up in magnitude (reported in C1, SDM Vol. 1 8.1.3.3).
/// </summary>
public struct FpuContext
{
    public RoundingMode Rounding;
    public int Precision;
    public FpuExceptions Masks;
    public FpuExceptions Raised;
    public bool RoundedUp;

    /// <summary>The invalid operation was a stack underflow or overflow (FSW.SF; C1 then tells which, via <see cref="RoundedUp"/>).</summary>
    public bool StackFault;

    /// <summary>
    /// The memory source was a single or double denormal: it is normal once widened, but the
    /// operation still reports #D for it (after its NaN and invalid checks, like a denormal register).
    /// </summary>
    public bool OperandDenormal;

    public FpuContext(RoundingMode rounding, int precision = 64, FpuExceptions masks = (FpuExceptions)0x3F)
    {
        Rounding = rounding;
        Precision = precision;
        Masks = masks;
        Raised = FpuExceptions.None;
        RoundedUp = false;
        StackFault = false;
        OperandDenormal = false;
    }

    /// <summary>From FCW: bits 0-5 the masks, 9-8 PC (00 single, 10 double, 11 extended, 01 reserved: extended here), 11-10 RC.</summary>
    public static FpuContext FromControlWord(ushort fcw) => new(
        (RoundingMode)((fcw >> 10) & 3),
        ((fcw >> 8) & 3) switch { 0 => 24, 2 => 53, _ => 64 },
        (FpuExceptions)(fcw & 0x3F));

    /// <summary>True when an unmasked invalid, denormal or zero-divide exception was raised: the instruction must not store a result (SDM Vol. 1 8.5).</summary>
    public readonly bool Aborted => (Raised & ~Masks & (FpuExceptions.Invalid | FpuExceptions.Denormal | FpuExceptions.ZeroDivide)) != 0;

    public readonly bool IsMasked(FpuExceptions e) => (Masks & e) != 0;

    /// <summary>Raises an invalid-operation exception; returns the masked response (the indefinite).</summary>
    public Float80 Invalid()
    {
        Raised |= FpuExceptions.Invalid;
        return Float80.Indefinite;
    }

    /// <summary>Raises #D for denormal operands; returns true when it is unmasked and the operation must stop.</summary>
    public bool Denormal(Float80 a)
    {
        if (!a.IsDenormal && !OperandDenormal)
        {
            return false;
        }

        Raised |= FpuExceptions.Denormal;
        return !IsMasked(FpuExceptions.Denormal);
    }
}

/// <summary>A binary format's significand precision and exponent range, as biased extended exponents.</summary>
public readonly record struct FloatFormat(int Precision, int MinExponent, int MaxExponent)
{
    public static readonly FloatFormat Extended = new(64, 1, 0x7FFE);
    public static readonly FloatFormat Double = new(53, Float80.Bias - 1022, Float80.Bias + 1023);
    public static readonly FloatFormat Single = new(24, Float80.Bias - 126, Float80.Bias + 127);
}
