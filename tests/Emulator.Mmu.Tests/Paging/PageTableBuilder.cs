using Emulator.Mmu.Paging;
using Emulator.Mmu.Physical;

namespace Emulator.Mmu.Tests.Paging;

/// <summary>
/// Builds page tables in guest RAM for one paging mode. Tables come from a bump allocator; each
/// <see cref="Map"/> call creates the missing tables on the path and returns the address of the
/// entry used at each level (index 1 = PTE, 2 = PDE, 3 = PDPTE, 4 = PML4E), so that tests can
/// look at accessed and dirty bits afterwards.
/// </summary>
public sealed class PageTableBuilder
{
    private readonly PhysicalMemory _memory;
    private ulong _next;

    public PageTableBuilder(PhysicalMemory memory, PagingMode mode, ulong tablesAt = 0x10_0000)
    {
        _memory = memory;
        Mode = mode;
        _next = tablesAt;
        // PAE: CR3 holds a 32-byte-aligned PDPT; put it off the page start to prove it is honoured.
        Cr3 = mode == PagingMode.Pae ? Allocate() + 0x40 : Allocate();
    }

    public PagingMode Mode { get; }

    public ulong Cr3 { get; }

    private int EntrySize => Mode == PagingMode.Legacy32 ? 4 : 8;

    private int TopLevel => Mode switch
    {
        PagingMode.Legacy32 => 2,
        PagingMode.Pae => 3,
        _ => 4,
    };

    public ulong Allocate()
    {
        ulong page = _next;
        _next += 0x1000;
        _memory.WriteBytes(page, new byte[0x1000]);
        return page;
    }

    /// <summary>
    /// Maps <paramref name="linear"/> with <paramref name="leaf"/> (address and flags) written at
    /// <paramref name="leafLevel"/>. Non-leaf entries get <paramref name="upper"/> flags, or per level
    /// from <paramref name="upperByLevel"/> when given (index = level).
    /// </summary>
    public ulong[] Map(ulong linear, ulong leaf, int leafLevel = 1, ulong upper = Pte.All, ulong[]? upperByLevel = null)
    {
        var addresses = new ulong[5];
        ulong table = Mode == PagingMode.Pae ? Cr3 : Cr3 & ~0xFFFUL;
        for (int level = TopLevel; level >= leafLevel; level--)
        {
            ulong index = Mode switch
            {
                PagingMode.Legacy32 => (linear >> (12 + (10 * (level - 1)))) & 0x3FF,
                PagingMode.Pae when level == 3 => (linear >> 30) & 3,
                _ => (linear >> (12 + (9 * (level - 1)))) & 0x1FF,
            };
            ulong entryAddress = table + (index * (ulong)EntrySize);
            addresses[level] = entryAddress;
            if (level == leafLevel)
            {
                _memory.Write(entryAddress, EntrySize, leaf);
                break;
            }

            ulong existing = _memory.Read(entryAddress, EntrySize);
            ulong next = (existing & Pte.P) != 0 ? existing & 0xF_FFFF_F000 : Allocate();
            ulong flags = upperByLevel?[level] ?? upper;
            if (Mode == PagingMode.Pae && level == 3)
            {
                flags &= Pte.P; // PDPTEs have no R/W, U/S, A or XD bits (SDM 4.4.1).
            }

            _memory.Write(entryAddress, EntrySize, next | flags);
            table = next;
        }

        return addresses;
    }
}
