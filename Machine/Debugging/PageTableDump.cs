using System.Globalization;
using System.Text;
using Emulator.Cpu;
using Emulator.Mmu.Paging;
using Emulator.Mmu.Physical;

namespace Emulator.Machine.Debugging;

/// <summary>
/// Walks the guest's own page tables from CR3 (read-only: no accessed bits set) for the monitor:
/// <c>info tlb</c> lists each mapped page, <c>info mem</c> merges runs with the same rights.
/// Formats follow QEMU's (target/i386/monitor.c): rights as "u/-", "r", "w/-", "x/-".
/// </summary>
public static class PageTableDump
{
    /// <summary>One mapping: a virtual page (of 4 KiB, 2 MiB, 4 MiB or 1 GiB) and its rights.</summary>
    public readonly record struct Mapping(ulong Virtual, ulong Physical, ulong Size, bool User, bool Writable, bool NoExecute);

    public const int MaxLines = 4096;

    public static IEnumerable<Mapping> Walk(X86Cpu cpu)
    {
        var ctx = cpu.PagingContext;
        var memory = cpu.Memory;
        ulong addressMask = ((1UL << PhysicalMemory.PhysicalAddressBits) - 1) & ~0xFFFUL;
        switch (ctx.Mode)
        {
            case PagingMode.Legacy32:
                for (ulong i = 0; i < 1024; i++)
                {
                    ulong pde = memory.Read((ctx.Cr3 & 0xFFFFF000) + (i * 4), 4);
                    if ((pde & 1) == 0)
                    {
                        continue;
                    }

                    if ((pde & 0x80) != 0 && ctx.PageSizeExtensions)
                    {
                        yield return new Mapping(i << 22, (pde & 0xFFC00000) | (((pde >> 13) & 0xFF) << 32), 1UL << 22, (pde & 4) != 0, (pde & 2) != 0, false);
                        continue;
                    }

                    for (ulong j = 0; j < 1024; j++)
                    {
                        ulong pte = memory.Read((pde & 0xFFFFF000) + (j * 4), 4);
                        if ((pte & 1) != 0)
                        {
                            yield return new Mapping((i << 22) | (j << 12), pte & 0xFFFFF000, 4096, (pde & pte & 4) != 0, (pde & pte & 2) != 0, false);
                        }
                    }
                }

                break;
            case PagingMode.Pae:
                for (ulong i = 0; i < 4; i++)
                {
                    ulong pdpte = memory.Read((ctx.Cr3 & 0xFFFFFFE0) + (i * 8), 8);
                    if ((pdpte & 1) != 0)
                    {
                        foreach (var m in Level(memory, ctx, pdpte & addressMask, 2, i << 30, true, true, false, addressMask))
                        {
                            yield return m;
                        }
                    }
                }

                break;
            case PagingMode.Level4:
                foreach (var m in Level(memory, ctx, ctx.Cr3 & addressMask, 4, 0, true, true, false, addressMask))
                {
                    yield return m;
                }

                break;
        }
    }

    private static IEnumerable<Mapping> Level(PhysicalMemory memory, PagingContext ctx, ulong table, int level, ulong virtualBase, bool user, bool writable, bool noExecute, ulong addressMask)
    {
        int shift = 12 + (9 * (level - 1));
        for (ulong i = 0; i < 512; i++)
        {
            ulong entry = memory.Read(table + (i * 8), 8);
            if ((entry & 1) == 0)
            {
                continue;
            }

            ulong va = virtualBase | (i << shift);
            if (level == 4 && (va & (1UL << 47)) != 0)
            {
                va |= 0xFFFF_0000_0000_0000; // canonical upper half
            }

            bool u = user && (entry & 4) != 0;
            bool w = writable && (entry & 2) != 0;
            bool nx = noExecute || (ctx.NoExecute && (entry & (1UL << 63)) != 0);
            if (level == 1 || (level <= 3 && (entry & 0x80) != 0))
            {
                ulong size = 1UL << shift;
                yield return new Mapping(va, entry & addressMask & ~(size - 1), size, u, w, nx);
                continue;
            }

            foreach (var m in Level(memory, ctx, entry & addressMask, level - 1, va, u, w, nx, addressMask))
            {
                yield return m;
            }
        }
    }

    private static string Rights(Mapping m) => $"{(m.User ? 'u' : '-')}r{(m.Writable ? 'w' : '-')}{(m.NoExecute ? '-' : 'x')}";

    /// <summary>info tlb: a line per mapped page.</summary>
    public static string Pages(X86Cpu cpu)
    {
        if (cpu.PagingMode == PagingMode.None)
        {
            return "paging is disabled: virtual addresses are physical\n";
        }

        var sb = new StringBuilder();
        int lines = 0;
        foreach (var m in Walk(cpu))
        {
            if (++lines > MaxLines)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"... (more than {MaxLines} mappings; use info mem for ranges)");
                break;
            }

            sb.AppendLine(CultureInfo.InvariantCulture, $"{m.Virtual:x16}: {m.Physical:x16} {Rights(m)} {SizeName(m.Size)}");
        }

        return sb.ToString();
    }

    /// <summary>info mem: contiguous virtual ranges with the same rights, as QEMU prints them.</summary>
    public static string Ranges(X86Cpu cpu)
    {
        if (cpu.PagingMode == PagingMode.None)
        {
            return "paging is disabled: virtual addresses are physical\n";
        }

        var sb = new StringBuilder();
        Mapping? run = null;
        ulong runEnd = 0;
        foreach (var m in Walk(cpu).Append(new Mapping(ulong.MaxValue, 0, 0, false, false, false)))
        {
            if (run is { } r && m.Virtual == runEnd && Rights(m) == Rights(r))
            {
                runEnd += m.Size;
                continue;
            }

            if (run is { } done)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"{done.Virtual:x16}-{runEnd:x16} {runEnd - done.Virtual:x16} {Rights(done)}");
            }

            run = m;
            runEnd = m.Virtual + m.Size;
        }

        return sb.ToString();
    }

    private static string SizeName(ulong size) => size switch
    {
        1UL << 30 => "1G",
        1UL << 22 => "4M",
        1UL << 21 => "2M",
        _ => "4K",
    };
}
