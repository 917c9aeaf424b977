using Emulator.Cpu.Decode;
using Iced.Intel;

namespace Emulator.Jit.Tiering;

/// <summary>
/// Picks the blocks of a region (DESIGN.md, "Tier 2: regions") on the vCPU thread, the only thread
/// that may read the block cache: from a hot block, the blocks its direct branches, calls and
/// fall-throughs lead to, breadth first, that are already built and warm, on the same linear and
/// physical 4 KiB page and of the same code size. Then the entry block's checks cover every member:
/// the run loop checks the entry's page translation, CS limit and mode, and whatever changes them
/// (a page-table switch, INVLPG, a mode or segment change) ends the translation through its handler.
/// </summary>
public static class RegionBuilder
{
    /// <summary>
    /// Members per region at most, and instructions: each member's code is in the same method,
    /// and RyuJIT gives up optimising very large methods (MinOpts), besides compiling slower.
    /// </summary>
    public const int MaxMembers = 32;

    public const int MaxInstructions = 320;

    /// <summary>The entry first, then the members found; just the entry when nothing qualifies.</summary>
    public static Block[] Form(BlockCache cache, Block head, long warm)
    {
        var key = head.Key;
        if (head.PhysicalPages.Length != 1 || !head.Valid)
        {
            return [head];
        }

        ulong linearMask = key.Bitness == 64 ? ulong.MaxValue : 0xFFFF_FFFFUL;
        ulong linearPage = key.Linear & ~0xFFFUL;
        ulong physicalPage = key.Physical & ~0xFFFUL;
        var members = new List<Block> { head };
        var seen = new HashSet<ulong> { key.Rip };
        int instructions = head.Instructions.Length;
        for (int next = 0; next < members.Count; next++)
        {
            ref readonly Instruction last = ref members[next].Instructions[^1];
            var successors = IsIndirectJump(in last) ? WarmBlocksOnPage(cache, key, physicalPage, warm) : Successors(in last);
            foreach (ulong target in successors)
            {
                ulong linear = (key.Linear - key.Rip + target) & linearMask;
                if ((linear & ~0xFFFUL) != linearPage || !seen.Add(target))
                {
                    continue;
                }

                var block = cache.Find(new BlockKey(target, linear, physicalPage | (linear & 0xFFF), key.Bitness));
                if (block is null || !block.Valid || block.Executions < warm || block.PhysicalPages.Length != 1
                    || instructions + block.Instructions.Length > MaxInstructions)
                {
                    continue;
                }

                members.Add(block);
                instructions += block.Instructions.Length;
                if (members.Count == MaxMembers)
                {
                    return [.. members];
                }
            }
        }

        return [.. members];
    }

    /// <summary>A near JMP through a register or memory (a switch's jump table, a threaded interpreter's dispatch).</summary>
    public static bool IsIndirectJump(in Instruction i) => i.Code is Code.Jmp_rm16 or Code.Jmp_rm32 or Code.Jmp_rm64;

    /// <summary>The start addresses of warm blocks of the page with the entry's code size and segment base, most entered first.</summary>
    private static IEnumerable<ulong> WarmBlocksOnPage(BlockCache cache, BlockKey key, ulong physicalPage, long warm)
    {
        return cache.BlocksOnPage(physicalPage)
            .Where(b => b.Valid && b.Executions >= warm && b.Key.Bitness == key.Bitness && b.Key.Linear - b.Key.Rip == key.Linear - key.Rip)
            .OrderByDescending(b => b.Executions)
            .Select(b => b.Key.Rip)
            .ToArray();
    }

    /// <summary>Where a block may go on directly after its last instruction: direct branch targets and the next instruction.</summary>
    private static IEnumerable<ulong> Successors(in Instruction last)
    {
        bool direct = last.Op0Kind is OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64;
        return last.FlowControl switch
        {
            FlowControl.ConditionalBranch when last.Code.IsJccShortOrNear() => [last.NearBranchTarget, last.NextIP],
            FlowControl.UnconditionalBranch when direct => [last.NearBranchTarget],

            // The block after a call: where the callee's RET goes back to.
            FlowControl.Call when direct => [last.NearBranchTarget, last.NextIP],
            FlowControl.Next when last.Mnemonic != Mnemonic.Hlt => [last.NextIP],
            _ => [],
        };
    }
}
