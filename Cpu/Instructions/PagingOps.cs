using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.Mmu.Paging;
using Emulator.Mmu.Physical;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// The paging side of the system instructions (SDM Vol. 3A chapter 4): MOV to CR3 and CR4 with
/// their PCID, PDPTE and TLB rules, INVLPG, INVPCID, and STAC/CLAC for SMAP.
/// The software TLB is not tagged by PCID: it holds the current PCID's translations and global
/// ones only, so whenever the current PCID changes the non-global entries go (dropping a cached
/// translation is always allowed; keeping a stale one never is, SDM 4.10.4).
/// </summary>
public static class PagingOps
{
    private const ulong Cr3NoFlush = 1UL << 63;
    private const ulong PcidMask = 0xFFF;

    /// <summary>CR4 bits whose change affects translations or TLB contents (SDM Vol. 3A 4.10.4.1).</summary>
    private const ulong Cr4PagingBits = ControlBits.Cr4PSE | ControlBits.Cr4PAE | ControlBits.Cr4PGE
        | ControlBits.Cr4PCIDE | ControlBits.Cr4SMEP | ControlBits.Cr4SMAP;

    /// <summary>
    /// MOV to CR3 (SDM Vol. 2B MOV CR; Vol. 3A 4.5 tables 4-12 and 4-13, 4.10.4.1).
    /// With CR4.PCIDE = 1, bits 11:0 are the PCID and source bit 63 set means "do not flush";
    /// bit 63 is never stored. Bits 62 (63 without PCIDE) down to MAXPHYADDR are reserved in
    /// IA-32e mode (#GP(0)). Under PAE paging the PDPTE registers are loaded from the new
    /// table, and a reserved bit in a present PDPTE is #GP(0) with CR3 unchanged (4.4.1).
    /// </summary>
    public static void WriteCr3(X86Cpu c, ulong value)
    {
        ref CpuState s = ref c.S;
        bool pcide = (s.Cr4 & ControlBits.Cr4PCIDE) != 0;
        bool noFlush = pcide && (value & Cr3NoFlush) != 0;
        if (pcide)
        {
            value &= ~Cr3NoFlush;
        }

        if (s.LongModeActive && (value >> PhysicalMemory.PhysicalAddressBits) != 0)
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        if (c.PagingMode == PagingMode.Pae && !c.TryLoadPdptes(value))
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        ulong oldPcid = s.Cr3 & PcidMask;
        s.Cr3 = value;
        if (c.PagingMode != PagingMode.Pae)
        {
            // The PDPTE registers are loaded again when PAE paging is next enabled.
            s.PdptesLoaded = 0;
        }

        // SDM 4.10.4.1: without PCIDs, MOV to CR3 drops all non-global entries. With PCIDs it
        // drops the new PCID's non-global entries unless bit 63 was set; here any PCID change
        // also drops them, since the TLB holds only the current PCID's entries.
        if (!noFlush || (value & PcidMask) != oldPcid)
        {
            c.Tlb.FlushNonGlobal();
        }

        c.EndBlock();
    }

    /// <summary>
    /// MOV to CR4 (SDM Vol. 2B MOV CR, Vol. 3A 2.5 and 4.10.4.1). #GP(0) for a reserved or
    /// unadvertised bit, for clearing PAE in IA-32e mode, and for setting PCIDE outside IA-32e
    /// mode or with CR3[11:0] != 0. Under PAE paging a change of PAE, PGE, PSE or SMEP reloads
    /// the PDPTE registers (4.4.1). A change of any paging bit (PGE among them) flushes the
    /// whole TLB, global entries included.
    /// </summary>
    public static void WriteCr4(X86Cpu c, ulong value)
    {
        ref CpuState s = ref c.S;
        ulong changed = value ^ s.Cr4;
        bool settingPcide = (value & ControlBits.Cr4PCIDE) != 0 && (s.Cr4 & ControlBits.Cr4PCIDE) == 0;
        if ((value & ~SupportedCr4(c)) != 0
            || (s.LongModeActive && (value & ControlBits.Cr4PAE) == 0)
            || (settingPcide && (!s.LongModeActive || (s.Cr3 & PcidMask) != 0)))
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        bool paePagingAfter = (s.Cr0 & ControlBits.Cr0PG) != 0 && (value & ControlBits.Cr4PAE) != 0 && !s.LongModeActive;
        const ulong pdpteReload = ControlBits.Cr4PAE | ControlBits.Cr4PGE | ControlBits.Cr4PSE | ControlBits.Cr4SMEP;
        if (paePagingAfter && (changed & pdpteReload) != 0 && !c.TryLoadPdptes(s.Cr3))
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        s.Cr4 = value;
        if ((changed & Cr4PagingBits) != 0)
        {
            c.Tlb.FlushAll();
        }

        c.RefreshDebugRegisters(); // CR4.DE arms or disarms I/O breakpoints
        c.EndBlock();
    }

    /// <summary>The CR4 bits this CPU lets software set: <see cref="SystemOps.Cr4Supported"/> less the features CPUID does not report.</summary>
    public static ulong SupportedCr4(X86Cpu c)
    {
        ulong supported = SystemOps.Cr4Supported;
        if ((c.Cpuid.Leaf7Ebx & CpuidModel.Leaf7EbxSmep) == 0)
        {
            supported &= ~ControlBits.Cr4SMEP;
        }

        if ((c.Cpuid.Leaf7Ebx & CpuidModel.Leaf7EbxSmap) == 0)
        {
            supported &= ~ControlBits.Cr4SMAP;
        }

        if ((c.Cpuid.Leaf1Ecx & CpuidModel.EcxPcid) == 0)
        {
            supported &= ~ControlBits.Cr4PCIDE;
        }

        if ((c.Cpuid.Leaf1Ecx & CpuidModel.EcxXsave) == 0)
        {
            supported &= ~ControlBits.Cr4OSXSAVE;
        }

        if ((c.Cpuid.Leaf1Edx & CpuidModel.EdxFxsr) == 0)
        {
            supported &= ~(ControlBits.Cr4OSFXSR | ControlBits.Cr4OSXMMEXCPT);
        }

        return supported;
    }

    /// <summary>
    /// The PDPTE rule of MOV to CR0 (SDM Vol. 3A 4.4.1): when PAE paging is in use afterwards and
    /// CD, NW or PG changes, the PDPTE registers are loaded from CR3. False means #GP(0).
    /// </summary>
    public static bool LoadPdptesForCr0(X86Cpu c, ulong newCr0)
    {
        ref CpuState s = ref c.S;
        bool paePagingAfter = (newCr0 & ControlBits.Cr0PG) != 0 && (s.Cr4 & ControlBits.Cr4PAE) != 0 && (s.Efer & ControlBits.EferLME) == 0;
        const ulong reloadBits = ControlBits.Cr0CD | ControlBits.Cr0NW | ControlBits.Cr0PG;
        return !paePagingAfter || ((newCr0 ^ s.Cr0) & reloadBits) == 0 || c.TryLoadPdptes(s.Cr3);
    }

    /// <summary>
    /// INVLPG m (SDM Vol. 2A INVLPG; Vol. 3A 4.10.4.1): drops the TLB entries for the page that
    /// holds the address, global ones included, and the whole page when it is a large one. It
    /// does not touch the PDPTE registers. A non-canonical address in 64-bit mode is no fault
    /// (no #GP is listed): nothing is cached for it. INVLPG is serializing: the block ends.
    /// </summary>
    public static void Invlpg(X86Cpu c, in Instruction i)
    {
        ref CpuState s = ref c.S;
        if (s.Cpl != 0)
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        Seg seg = X86Cpu.MemorySegment(i);
        ulong offset = c.EffectiveAddress(i);
        ulong linear = s.LongModeActive && s.Cs.Long
            ? (seg is Seg.FS or Seg.GS ? s.Segment(seg).Base : 0) + offset
            : (uint)(s.Segment(seg).Base + offset);
        c.Tlb.FlushPage(linear);
        c.EndBlock();
    }

    /// <summary>
    /// INVPCID r32/r64, m128 (SDM Vol. 2A INVPCID). The descriptor holds the PCID in bits 11:0
    /// (63:12 must be zero) and a linear address in bits 127:64. Types: 0 one address in one
    /// PCID, 1 one PCID, 2 every PCID with global entries, 3 every PCID but global entries.
    /// #GP(0): CPL &gt; 0, type &gt; 3, descriptor bits 63:12 set, type 0 with a non-canonical
    /// address, type 0 or 1 with a PCID other than 0 while CR4.PCIDE = 0. Dropping more than
    /// asked is allowed, so types 0 and 1 drop a little more than the named PCID's entries.
    /// </summary>
    public static void Invpcid(X86Cpu c, in Instruction i)
    {
        ref CpuState s = ref c.S;
        if ((c.Cpuid.Leaf7Ebx & CpuidModel.Leaf7EbxInvpcid) == 0 || (s.Rflags & Flags.VM) != 0)
        {
            c.RaiseFault(Vector.UD);
            return;
        }

        if (s.Cpl != 0)
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        ulong type = c.GetReg(i.Op0Register);
        Seg seg = X86Cpu.MemorySegment(i);
        ulong ea = c.EffectiveAddress(i);
        if (!c.Read(seg, ea, 8, out ulong low) || !c.Read(seg, ea + 8, 8, out ulong address))
        {
            return;
        }

        ulong pcid = low & PcidMask;
        bool pcide = (s.Cr4 & ControlBits.Cr4PCIDE) != 0;
        if (type > 3 || (low >> 12) != 0 || (type == 0 && !X86Cpu.IsCanonical(address)) || (type <= 1 && !pcide && pcid != 0))
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        switch (type)
        {
            case 0:
                c.Tlb.FlushPage(address);
                break;
            case 2:
                c.Tlb.FlushAll();
                break;
            default:
                c.Tlb.FlushNonGlobal();
                break;
        }

        c.EndBlock();
    }

    /// <summary>
    /// STAC and CLAC set and clear EFLAGS.AC (SDM Vol. 2B). #UD when CPUID does not report SMAP,
    /// above CPL 0, and in virtual-8086 mode.
    /// </summary>
    public static void StacClac(X86Cpu c, in Instruction i)
    {
        ref CpuState s = ref c.S;
        if ((c.Cpuid.Leaf7Ebx & CpuidModel.Leaf7EbxSmap) == 0 || s.Cpl != 0 || (s.Rflags & Flags.VM) != 0)
        {
            c.RaiseFault(Vector.UD);
            return;
        }

        s.Rflags = i.Code == Code.Stac ? s.Rflags | Flags.AC : s.Rflags & ~Flags.AC;
    }
}
