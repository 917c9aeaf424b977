namespace Emulator.Cpu.Simd;

/// <summary>
/// MXCSR, the SSE control and status register (SDM Vol. 1 10.2.3, figure 10-3): six sticky
/// exception flags (bits 5:0), DAZ (6), the six exception masks (12:7), the rounding control
/// (14:13) and FTZ (15). Bits 31:16 are reserved: LDMXCSR, FXRSTOR and XRSTOR raise #GP(0) when
/// software sets one (this CPU's MXCSR_MASK is FFFFh, DAZ supported, SDM Vol. 1 11.6.6).
/// </summary>
public static class Mxcsr
{
    public const uint IE = 1 << 0;
    public const uint DE = 1 << 1;
    public const uint ZE = 1 << 2;
    public const uint OE = 1 << 3;
    public const uint UE = 1 << 4;
    public const uint PE = 1 << 5;
    public const uint FlagBits = 0x3F;
    public const uint Daz = 1 << 6;
    public const int MaskShift = 7;
    public const uint MaskBits = FlagBits << MaskShift;
    public const int RoundingShift = 13;
    public const uint Ftz = 1 << 15;

    /// <summary>MXCSR_MASK as FXSAVE stores it: every bit this CPU lets software set.</summary>
    public const uint WritableMask = 0xFFFF;
}

/// <summary>The IEEE rounding modes in MXCSR.RC / x87 FCW.RC encoding (SDM Vol. 1 4.8.4, table 4-8).</summary>
public enum RoundingMode
{
    Nearest = 0,
    Down = 1,
    Up = 2,
    TowardZero = 3,
}

/// <summary>
/// The floating-point environment one SSE operation runs under: rounding, DAZ, FTZ, whether
/// underflow is masked (it changes when UE is signalled, SDM Vol. 1 4.9.1.5), and the exception
/// flags it raises, which the instruction ORs into MXCSR when it completes.
/// </summary>
public struct FpEnv
{
    public RoundingMode Rounding;
    public bool Daz;
    public bool Ftz;
    public bool UnderflowMasked;

    /// <summary>Overflow unmasked: PE then reports only the unbounded-exponent rounding (false in internal environments).</summary>
    public bool OverflowUnmasked;
    public uint Flags;

    public static FpEnv FromMxcsr(uint mxcsr) => new()
    {
        Rounding = (RoundingMode)((mxcsr >> Mxcsr.RoundingShift) & 3),
        Daz = (mxcsr & Mxcsr.Daz) != 0,
        Ftz = (mxcsr & Mxcsr.Ftz) != 0,
        UnderflowMasked = (mxcsr & (Mxcsr.UE << Mxcsr.MaskShift)) != 0,
        OverflowUnmasked = (mxcsr & (Mxcsr.OE << Mxcsr.MaskShift)) == 0,
    };
}
