namespace Emulator.Mmu.Tests.Paging;

/// <summary>Paging-structure entry bits (SDM Vol. 3A 4.3 table 4-5/4-6, 4.5 tables 4-15 to 4-20).</summary>
public static class Pte
{
    public const ulong P = 1UL << 0;
    public const ulong RW = 1UL << 1;
    public const ulong US = 1UL << 2;
    public const ulong PWT = 1UL << 3;
    public const ulong PCD = 1UL << 4;
    public const ulong A = 1UL << 5;
    public const ulong D = 1UL << 6;
    public const ulong PS = 1UL << 7;
    public const ulong G = 1UL << 8;
    public const ulong XD = 1UL << 63;

    /// <summary>Present, writable, user: the most permissive non-leaf entry.</summary>
    public const ulong All = P | RW | US;
}
