namespace Emulator.Mmu.Paging;

/// <summary>Which translation the CPU's control registers select (SDM Vol. 3A 4.1.1, table 4-1).</summary>
public enum PagingMode
{
    /// <summary>CR0.PG = 0: linear addresses are physical.</summary>
    None,

    /// <summary>32-bit paging: CR0.PG = 1, CR4.PAE = 0 (4 KiB pages, 4 MiB with CR4.PSE).</summary>
    Legacy32,

    /// <summary>PAE paging: CR4.PAE = 1, EFER.LME = 0.</summary>
    Pae,

    /// <summary>4-level paging: CR4.PAE = 1, EFER.LME = 1, CR4.LA57 = 0.</summary>
    Level4,
}
