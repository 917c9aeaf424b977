using Emulator.Cpu.State;
using Emulator.TestKit;

namespace Emulator.Cpu.Tests.Paging;

/// <summary>
/// Page-table helpers for paging tests. Entry bits as SDM Vol. 3A tables 4-19 and 4-20 name them.
/// <see cref="TestMachine.LongMode"/> identity-maps the first GiB with 2 MiB pages (PML4, PDPT and
/// PD at <see cref="TestMachine.PageTableAddress"/>); <see cref="Split"/> turns one of those 2 MiB
/// pages into a page table of 4 KiB pages so that a test can edit single PTEs.
/// </summary>
public static class GuestPageTables
{
    public const ulong P = 1, RW = 2, US = 4, A = 0x20, D = 0x40, PS = 0x80, G = 0x100, XD = 1UL << 63;

    public const ulong Pml4 = TestMachine.PageTableAddress;
    public const ulong Pdpt = Pml4 + 0x1000;
    public const ulong Pd = Pml4 + 0x2000;

    /// <summary>Where a test's own page tables go: inside the identity-mapped first 4 MiB, above the TestMachine tables.</summary>
    public const ulong FreeTables = Pml4 + 0x20000;

    /// <summary>The test page at 4 MiB (TLB set 0) and two physical pages it may map, holding <see cref="ValueA"/> and <see cref="ValueB"/>.</summary>
    public const ulong TestLinear = 0x40_0000;
    public const ulong PhysA = 0x50_0000, PhysB = 0x50_1000;
    public const ulong ValueA = 0x1111_AAAA, ValueB = 0x2222_BBBB;

    /// <summary>The PD entry for the 2 MiB page holding <paramref name="linear"/> (first GiB).</summary>
    public static ulong PdeAddress(ulong linear) => Pd + ((linear >> 21) * 8);

    public static ulong PteAddress(ulong table, ulong linear) => table + (((linear >> 12) & 0x1FF) * 8);

    /// <summary>
    /// Replaces the 2 MiB identity page holding <paramref name="linear"/> by the page table at
    /// <paramref name="table"/> of identity 4 KiB pages with <paramref name="flags"/>; returns the table.
    /// </summary>
    public static ulong Split(TestMachine m, ulong linear, ulong table = FreeTables, ulong flags = P | RW | US)
    {
        ulong first = linear & ~0x1F_FFFFUL;
        for (ulong k = 0; k < 512; k++)
        {
            m.Memory.Write(table + (k * 8), 8, (first + (k << 12)) | flags);
        }

        m.Memory.Write(PdeAddress(linear), 8, table | P | RW | US);
        return table;
    }

    /// <summary>Long mode with <see cref="TestLinear"/> in its own page table, mapped to <see cref="PhysA"/> with <paramref name="flags"/>.</summary>
    public static ulong LongModeWithTestPage(TestMachine m, ulong flags = P | RW | US)
    {
        m.LongMode();
        ulong table = Split(m, TestLinear);
        m.Memory.Write(PteAddress(table, TestLinear), 8, PhysA | flags);
        m.Memory.Write(PhysA, 8, ValueA);
        m.Memory.Write(PhysB, 8, ValueB);
        m.Cpu.Tlb.FlushAll();
        return table;
    }

    /// <summary>Clears U/S in the first 2 MiB page (code, stack, GDT, IDT, handlers), making it supervisor-only.</summary>
    public static void MakeLowMemorySupervisor(TestMachine m)
    {
        m.Memory.Write(Pd, 8, 0 | P | RW | PS);
        m.Cpu.Tlb.FlushAll();
    }

    public static ulong Cr4With(ulong bits) => ControlBits.Cr4PAE | bits;
}
