namespace Emulator.Mmu.Paging;

/// <summary>
/// The control-register bits a page walk depends on, copied out of the CPU state so that the
/// walker (in Mmu) needs no CPU types. SDM Vol. 3A 4.6 lists how each bit changes access rights.
/// <see cref="Pdptes"/> holds the PDPTE registers under PAE paging (SDM 4.4.1); when null the walker
/// reads the PDPTEs from the table at CR3 (a debugger's view, or a unit test's).
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
    bool AlignmentCheckFlag,
    PdpteRegisters? Pdptes = null);
