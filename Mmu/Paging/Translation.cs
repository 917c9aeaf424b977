namespace Emulator.Mmu.Paging;

/// <summary>
/// A successful walk: where the linear page lives and the rights that the combined
/// paging-structure entries grant (SDM Vol. 3A 4.6: R/W and U/S are ANDed, XD is ORed).
/// </summary>
public readonly record struct Translation(
    ulong PhysicalAddress,
    bool Writable,
    bool User,
    bool NoExecute,
    bool Global,
    bool Dirty);
