using System.Runtime.CompilerServices;

namespace Emulator.Mmu.Paging;

/// <summary>
/// The four PDPTE registers of PAE paging (SDM Vol. 3A 4.4.1). The processor loads them from the
/// page-directory-pointer table when CR3 is written under PAE paging, or when MOV to CR0/CR4
/// enables or changes PAE paging; translations then use these copies, not the table in memory.
/// </summary>
[InlineArray(4)]
public struct PdpteRegisters
{
    private ulong _element0;
}
