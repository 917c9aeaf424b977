namespace Emulator.Mmu.Paging;

/// <summary>Bits of the #PF error code (SDM Vol. 3A 4.7, figure 4-12).</summary>
[Flags]
public enum PageFaultError : uint
{
    None = 0,
    Present = 1 << 0,
    Write = 1 << 1,
    User = 1 << 2,
    ReservedBit = 1 << 3,
    InstructionFetch = 1 << 4,
}
