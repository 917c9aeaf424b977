using Emulator.Mmu.Physical;

namespace Emulator.Mmu.Paging;

/// <summary>
/// Translates a linear address by walking the guest's page tables in guest-physical memory,
/// checks the access against the combined rights, and sets accessed and dirty bits as hardware
/// does. Follows SDM Vol. 3A chapter 4: 4.3 (32-bit), 4.4 (PAE), 4.5 (4-level), 4.6 (rights),
/// 4.7 (#PF error code), 4.8 (A/D bits). Paging-structure addresses go through the A20 gate
/// (<see cref="PhysicalMemory.A20Mask"/>) as the CPU's other physical accesses do.
/// </summary>
public static class PageWalker
{
    private const ulong Present = 1UL << 0;
    private const ulong ReadWrite = 1UL << 1;
    private const ulong UserSupervisor = 1UL << 2;
    private const ulong Accessed = 1UL << 5;
    private const ulong DirtyBit = 1UL << 6;
    private const ulong PageSize = 1UL << 7;
    private const ulong GlobalBit = 1UL << 8;
    private const ulong ExecuteDisable = 1UL << 63;

    /// <summary>Address bits 12..MAXPHYADDR-1 of a PAE / 4-level entry.</summary>
    private const ulong AddressMask = ((1UL << PhysicalMemory.PhysicalAddressBits) - 1) & ~0xFFFUL;

    /// <summary>Bits MAXPHYADDR..51 must be zero in PAE / 4-level entries (SDM 4.4.2, 4.5.4).</summary>
    private const ulong HighReserved = ((1UL << 52) - 1) & ~((1UL << PhysicalMemory.PhysicalAddressBits) - 1);

    /// <summary>
    /// Walks for <paramref name="linear"/>. On success returns true with the translation; on failure
    /// returns false with the #PF error code (the caller raises #PF with CR2 = linear).
    /// </summary>
    public static bool Walk(PhysicalMemory memory, in PagingContext ctx, ulong linear, AccessKind access, bool user, out Translation translation, out PageFaultError error)
        => Walk(memory, ctx, linear, access, user, updateAccessedDirty: true, out translation, out error);

    /// <summary>
    /// As above; with <paramref name="updateAccessedDirty"/> false the walk leaves the tables
    /// untouched (a debugger's look must not change what the guest sees).
    /// </summary>
    public static bool Walk(PhysicalMemory memory, in PagingContext ctx, ulong linear, AccessKind access, bool user, bool updateAccessedDirty, out Translation translation, out PageFaultError error)
    {
        translation = default;
        Span<ulong> entryAddresses = stackalloc ulong[4];
        Span<ulong> entries = stackalloc ulong[4];
        int levels = 0;
        bool rw = true, us = true, xd = false;
        bool wide = ctx.Mode != PagingMode.Legacy32;
        ulong physical;
        bool global;
        ulong pageSize = 0x1000;

        error = user ? PageFaultError.User : PageFaultError.None;
        if (access == AccessKind.Write)
        {
            error |= PageFaultError.Write;
        }

        if (access == AccessKind.Execute && (ctx.Smep || (wide && ctx.NoExecute)))
        {
            error |= PageFaultError.InstructionFetch;
        }

        ulong reservedHigh = HighReserved | (ctx.NoExecute ? 0 : ExecuteDisable);

        switch (ctx.Mode)
        {
            case PagingMode.Legacy32:
                {
                    ulong pdeAddr = ((ctx.Cr3 & 0xFFFFF000) + (((linear >> 22) & 0x3FF) * 4)) & memory.A20Mask;
                    ulong pde = memory.Read(pdeAddr, 4);
                    if ((pde & Present) == 0)
                    {
                        return false;
                    }

                    Record(entryAddresses, entries, ref levels, pdeAddr, pde, ref rw, ref us, ref xd);
                    if ((pde & PageSize) != 0 && ctx.PageSizeExtensions)
                    {
                        // 4 MiB page; PSE-36 puts physical bits 32..39 in PDE bits 13..20 (SDM 4.3, table 4-4).
                        if ((pde & (1UL << 21)) != 0)
                        {
                            error |= PageFaultError.Present | PageFaultError.ReservedBit;
                            return false;
                        }

                        physical = (pde & 0xFFC00000) | (((pde >> 13) & 0xFF) << 32) | (linear & 0x3FFFFF);
                        global = (pde & GlobalBit) != 0;
                        pageSize = 1UL << 22;
                        break;
                    }

                    ulong pteAddr = ((pde & 0xFFFFF000) + (((linear >> 12) & 0x3FF) * 4)) & memory.A20Mask;
                    ulong pte = memory.Read(pteAddr, 4);
                    if ((pte & Present) == 0)
                    {
                        return false;
                    }

                    Record(entryAddresses, entries, ref levels, pteAddr, pte, ref rw, ref us, ref xd);
                    physical = (pte & 0xFFFFF000) | (linear & 0xFFF);
                    global = (pte & GlobalBit) != 0;
                    break;
                }

            case PagingMode.Pae:
            case PagingMode.Level4:
                {
                    ulong table;
                    int level;
                    if (ctx.Mode == PagingMode.Pae)
                    {
                        // PDPTEs have no R/W, U/S or XD bits (SDM 4.4.1); they only select a page
                        // directory. The CPU walks from its PDPTE registers, loaded (and checked for
                        // reserved bits, #GP) by MOV to CR0/CR3/CR4; they are never re-read here.
                        int index = (int)((linear >> 30) & 3);
                        ulong pdpte = ctx.Pdptes is { } registers ? registers[index] : memory.Read(((ctx.Cr3 & 0xFFFFFFE0) + ((ulong)index * 8)) & memory.A20Mask, 8);
                        if ((pdpte & Present) == 0)
                        {
                            return false;
                        }

                        table = pdpte & AddressMask;
                        level = 2;
                    }
                    else
                    {
                        table = ctx.Cr3 & AddressMask;
                        level = 4;
                    }

                    while (true)
                    {
                        int shift = 12 + (9 * (level - 1));
                        ulong entryAddr = (table + (((linear >> shift) & 0x1FF) * 8)) & memory.A20Mask;
                        ulong entry = memory.Read(entryAddr, 8);
                        if ((entry & Present) == 0)
                        {
                            return false;
                        }

                        bool large = (entry & PageSize) != 0 && level > 1;
                        // PS is reserved in a PML4E, and 1 GiB pages exist only in 4-level paging.
                        bool psReserved = large && (level == 4 || (level == 3 && ctx.Mode == PagingMode.Pae));
                        ulong largeReserved = large && level == 3 ? 0x3FFFE000UL : large && level == 2 ? 0x1FE000UL : 0;
                        if ((entry & reservedHigh) != 0 || psReserved || (entry & largeReserved) != 0)
                        {
                            error |= PageFaultError.Present | PageFaultError.ReservedBit;
                            return false;
                        }

                        Record(entryAddresses, entries, ref levels, entryAddr, entry, ref rw, ref us, ref xd);
                        if (level == 1 || large)
                        {
                            ulong offsetMask = (1UL << shift) - 1;
                            physical = (entry & AddressMask & ~offsetMask) | (linear & offsetMask);
                            global = (entry & GlobalBit) != 0;
                            pageSize = 1UL << shift;
                            break;
                        }

                        table = entry & AddressMask;
                        level--;
                    }

                    break;
                }

            default:
                error = PageFaultError.None;
                translation = new Translation(linear, true, true, false, false, true);
                return true;
        }

        if (!ctx.NoExecute)
        {
            xd = false;
        }

        // SDM Vol. 3A 4.6: access rights.
        error |= PageFaultError.Present;
        switch (access)
        {
            case AccessKind.Write when user ? !(rw && us) : (!rw && ctx.WriteProtect) || (us && ctx.Smap && !ctx.AlignmentCheckFlag):
            case AccessKind.Read when user ? !us : us && ctx.Smap && !ctx.AlignmentCheckFlag:
            case AccessKind.Execute when xd || (user ? !us : us && ctx.Smep):
                return false;
        }

        // SDM 4.8: set A in every entry used, and D in the final one on a write.
        ulong final = entries[levels - 1];
        for (int i = 0; i < levels && updateAccessedDirty; i++)
        {
            ulong want = entries[i] | Accessed;
            if (i == levels - 1 && access == AccessKind.Write)
            {
                want |= DirtyBit;
            }

            if (want != entries[i])
            {
                WriteEntry(memory, entryAddresses[i], want);
                if (i == levels - 1)
                {
                    final = want;
                }
            }
        }

        error = PageFaultError.None;
        translation = new Translation(physical, rw, us, xd, global && ctx.GlobalPages, (final & DirtyBit) != 0, pageSize);
        return true;
    }

    /// <summary>
    /// PDPTE bits that must be zero when its P bit is 1: 2:1, 8:5 and 63:MAXPHYADDR (SDM Vol. 3A
    /// 4.4.1, table 4-8). Loading such a PDPTE into the PDPTE registers is #GP(0).
    /// </summary>
    public const ulong PdpteReservedBits = 0x1E6UL | ~((1UL << PhysicalMemory.PhysicalAddressBits) - 1);

    /// <summary>True when <paramref name="pdpte"/> is present with a reserved bit set (SDM 4.4.1).</summary>
    public static bool IsPdpteReserved(ulong pdpte) => (pdpte & Present) != 0 && (pdpte & PdpteReservedBits) != 0;

    private static void Record(Span<ulong> addresses, Span<ulong> entries, ref int levels, ulong address, ulong entry, ref bool rw, ref bool us, ref bool xd)
    {
        addresses[levels] = address;
        entries[levels] = entry;
        levels++;
        rw &= (entry & ReadWrite) != 0;
        us &= (entry & UserSupervisor) != 0;
        xd |= (entry & ExecuteDisable) != 0;
    }

    private static void WriteEntry(PhysicalMemory memory, ulong address, ulong value)
    {
        // Only the low byte changes (A is bit 5, D bit 6): write just that byte, as a locked OR would.
        memory.Write(address, 1, value & 0xFF);
    }
}
