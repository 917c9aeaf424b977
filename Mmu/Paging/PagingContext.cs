namespace Emulator.Mmu.Paging;

/// <summary>
/// The control-register bits a page walk depends on, copied out of the CPU state so that the
/// walker (in Mmu) needs no CPU types. SDM Vol. 3A 4.6 lists how each bit changes access rights.
/// </summary>
public readonly record struct PagingContext(
    PagingMode Mode,
    ulong Cr3,
    bool WriteProtect,
    bool NoExecute,
    bool PageSizeExtensions,
    bool GlobalPages,
    bool Smep,
    bool Smap,
    bool AlignmentCheckFlag);
