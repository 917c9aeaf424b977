namespace Emulator.Cpu.State;

/// <summary>Control-register and EFER bits (SDM Vol. 3A 2.5 and 2.2.1).</summary>
public static class ControlBits
{
    public const ulong Cr0PE = 1UL << 0;
    public const ulong Cr0MP = 1UL << 1;
    public const ulong Cr0EM = 1UL << 2;
    public const ulong Cr0TS = 1UL << 3;
    public const ulong Cr0ET = 1UL << 4;
    public const ulong Cr0NE = 1UL << 5;
    public const ulong Cr0WP = 1UL << 16;
    public const ulong Cr0AM = 1UL << 18;
    public const ulong Cr0NW = 1UL << 29;
    public const ulong Cr0CD = 1UL << 30;
    public const ulong Cr0PG = 1UL << 31;

    public const ulong Cr4VME = 1UL << 0;
    public const ulong Cr4PVI = 1UL << 1;
    public const ulong Cr4TSD = 1UL << 2;
    public const ulong Cr4DE = 1UL << 3;
    public const ulong Cr4PSE = 1UL << 4;
    public const ulong Cr4PAE = 1UL << 5;
    public const ulong Cr4MCE = 1UL << 6;
    public const ulong Cr4PGE = 1UL << 7;
    public const ulong Cr4PCE = 1UL << 8;
    public const ulong Cr4OSFXSR = 1UL << 9;
    public const ulong Cr4OSXMMEXCPT = 1UL << 10;
    public const ulong Cr4UMIP = 1UL << 11;
    public const ulong Cr4PCIDE = 1UL << 17;
    public const ulong Cr4OSXSAVE = 1UL << 18;
    public const ulong Cr4SMEP = 1UL << 20;
    public const ulong Cr4SMAP = 1UL << 21;

    public const ulong EferSCE = 1UL << 0;
    public const ulong EferLME = 1UL << 8;
    public const ulong EferLMA = 1UL << 10;
    public const ulong EferNXE = 1UL << 11;
}
