namespace Emulator.Cpu.Fpu;

/// <summary>The six x87 exception flags, in their FSW/FCW bit positions (SDM Vol. 1 8.1.3.1 and 8.1.5).</summary>
[Flags]
public enum FpuExceptions
{
    None = 0,
    Invalid = 1,
    Denormal = 2,
    ZeroDivide = 4,
    Overflow = 8,
    Underflow = 0x10,
    Precision = 0x20,
}

/// <summary>Rounding control, FCW bits 11-10 (SDM Vol. 1 4.8.4, table 4-8).</summary>
public enum RoundingMode
{
    Nearest = 0,
    Down = 1,
    Up = 2,
    TowardZero = 3,
}
