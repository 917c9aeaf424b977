namespace Emulator.Cpu.Decode;

/// <summary>
/// A tier-2 translation (DESIGN.md, "Tier 2: regions"): several blocks of one page compiled as one
/// method, entered at <see cref="Members"/>[0] (the block it is published on, <see cref="Block.Region"/>)
/// and branching between members inside the method. The code returns a global index: the last
/// instruction it ran is instruction <c>index - Starts[m]</c> of member m, the member with the
/// largest start not above the index. Instructions of members it left by an internal branch are
/// counted in <see cref="State.CpuState.LoopBudget"/> (the run loop sets it to the instructions
/// such members may take, each internal branch subtracts the member it leaves).
/// Immutable: the compiler publishes a new one or none, so the run loop reads a consistent set.
/// </summary>
public sealed class CompiledRegion
{
    public CompiledRegion(CompiledBlock code, Block[] members, ulong limit, bool needsFlatStack)
    {
        Code = code;
        Members = members;
        Limit = limit;
        NeedsFlatStack = needsFlatStack;
        Starts = new int[members.Length];
        int start = 0;
        for (int m = 0; m < members.Length; m++)
        {
            Starts[m] = start;
            start += members[m].Instructions.Length;
            MaxMemberLength = Math.Max(MaxMemberLength, members[m].Instructions.Length);
        }

        TotalLength = start;
    }

    public CompiledBlock Code { get; }

    /// <summary>The blocks compiled together, the entry first; all on the entry's linear and physical page.</summary>
    public Block[] Members { get; }

    /// <summary>The index of each member's first instruction in the region's instruction numbering.</summary>
    public int[] Starts { get; }

    /// <summary>The most instructions of one member.</summary>
    public int MaxMemberLength { get; }

    /// <summary>
    /// The instructions of all members: the run loop enters with at least this much budget and
    /// keeps it back from <see cref="State.CpuState.LoopBudget"/>. Branches to a member at a
    /// higher address take their block's instructions from the budget without checking it (a
    /// chain of them visits each member once at most); only branches back check it.
    /// </summary>
    public int TotalLength { get; }

    /// <summary>As <see cref="Block.CompiledLimit"/>, over all members.</summary>
    public ulong Limit { get; }

    /// <summary>As <see cref="Block.CompiledNeedsFlatStack"/>, over all members.</summary>
    public bool NeedsFlatStack { get; }

    /// <summary>The member holding global instruction <paramref name="index"/>.</summary>
    public int MemberOf(int index)
    {
        int m = Starts.Length - 1;
        while (Starts[m] > index)
        {
            m--;
        }

        return m;
    }
}
