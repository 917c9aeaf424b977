namespace Emulator.Mmu.Paging;

/// <summary>
/// A successful walk: where the linear page lives and the rights that the combined
/// paging-structure entries grant (SDM Vol. 3A 4.6: R/W and U/S are ANDed, XD is ORed), and the
/// size of the page that maps it (4 KiB, 2 MiB, 4 MiB or 1 GiB), which INVLPG needs (SDM 4.10.2.3).
/// </summary>
public readonly record struct Translation(
    ulong PhysicalAddress,
    bool Writable,
    bool User,
    bool NoExecute,
    bool Global,
    bool Dirty,
    ulong PageSize = 0x1000);
