using Iced.Intel;

namespace Emulator.Cpu.Decode;

/// <summary>
/// Decoded instructions from one guest address up to a control transfer, a page end or the size
/// cap (DESIGN.md, "Blocks"). Keyed by RIP, linear address, physical address and bitness.
/// </summary>
public sealed class Block
{
    /// <param name="key">Where the block starts.</param>
    /// <param name="instructions">Its decoded instructions.</param>
    /// <param name="physicalPages">The physical pages its bytes come from.</param>
    /// <param name="spans">For each of <paramref name="physicalPages"/>, the byte offsets [Start, End) within the page
    /// that cover the block's bytes there; null means whole pages.</param>
    public Block(BlockKey key, Instruction[] instructions, ulong[] physicalPages, (int Start, int End)[]? spans = null)
    {
        Key = key;
        Instructions = instructions;
        PhysicalPages = physicalPages;
        Spans = spans ?? [.. physicalPages.Select(_ => (0, 0x1000))];
    }

    public BlockKey Key { get; }

    public Instruction[] Instructions { get; }

    /// <summary>The physical pages the block's bytes come from (one, or two when the last instruction straddles).</summary>
    public ulong[] PhysicalPages { get; }

    /// <summary>
    /// Per entry of <see cref="PhysicalPages"/>: the offsets [Start, End) in that page that hold the
    /// block's bytes (one range over them all, including any bytes a forward JMP skips). A write that
    /// misses this range leaves the block valid.
    /// </summary>
    public (int Start, int End)[] Spans { get; }

    /// <summary>True when the block's bytes on <paramref name="physicalPage"/> overlap [start, end).</summary>
    public bool Covers(ulong physicalPage, int start, int end)
    {
        for (int i = 0; i < PhysicalPages.Length; i++)
        {
            if (PhysicalPages[i] == physicalPage && Spans[i].Start < end && start < Spans[i].End)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Cleared when a write hits one of <see cref="PhysicalPages"/>; the interpreter leaves the block at once.</summary>
    public bool Valid { get; set; } = true;

    /// <summary>
    /// The interpreter's handler for each instruction, chosen when it first runs the block
    /// (X86Cpu.BuildHandlers: a specialised handler where there is one, else the table's row).
    /// </summary>
    internal unsafe delegate*<X86Cpu, in Instruction, void>[]? Handlers { get; set; }

    /// <summary>How many times the block was entered; the tiering policy reads it.</summary>
    public long Executions { get; set; }

    private CompiledBlock? _compiled;

    /// <summary>
    /// The translation of this block, once a compiler published one (from its own thread, hence the
    /// volatile accesses). Null means the interpreter runs the block.
    /// </summary>
    public CompiledBlock? Compiled
    {
        get => Volatile.Read(ref _compiled);
        set => Volatile.Write(ref _compiled, value);
    }

    /// <summary>
    /// Set with <see cref="Compiled"/>: the highest offset in CS the translation fetches from or
    /// branches to without a check of its own. The run loop enters the translation only when the
    /// CS limit covers it (SDM Vol. 3A 5.3); the interpreter checks each instruction instead.
    /// </summary>
    public ulong CompiledLimit { get; set; }

    /// <summary>
    /// Set with <see cref="Compiled"/>: the translation runs 32-bit stack operations inline and
    /// assumes a 32-bit stack (SS.B = 1) and a 4 GiB CS limit; the run loop enters it only then.
    /// </summary>
    public bool CompiledNeedsFlatStack { get; set; }

    /// <summary>True once the block was handed to the compiler (it is handed over once).</summary>
    public bool CompileRequested { get; set; }

    private CompiledRegion? _region;

    /// <summary>
    /// A tier-2 translation entered at this block (<see cref="CompiledRegion"/>), published by a
    /// compiler from its own thread; the run loop prefers it to <see cref="Compiled"/>.
    /// </summary>
    public CompiledRegion? Region
    {
        get => Volatile.Read(ref _region);
        set => Volatile.Write(ref _region, value);
    }

    /// <summary>
    /// When <see cref="Executions"/> reaches this count, the run loop calls
    /// <see cref="IBlockCompiler.BlockStaysHot"/> once (and resets it); the compiler sets it to look
    /// at a hot block again later, e.g. for a region once its successors have been built.
    /// </summary>
    public long NextHotCheck { get; set; } = long.MaxValue;

    /// <summary>The offset after the last instruction (RIP after the block runs through).</summary>
    public ulong EndRip => Instructions[^1].NextIP;

    /// <summary>
    /// The last two blocks that followed this one (chaining, DESIGN.md "Dispatch and chaining"):
    /// the run loop checks them before the cache's hash lookup.
    /// </summary>
    public Block? Successor0 { get; set; }

    public Block? Successor1 { get; set; }
}
