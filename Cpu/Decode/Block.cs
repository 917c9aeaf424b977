using Iced.Intel;

namespace Emulator.Cpu.Decode;

/// <summary>
/// Decoded instructions from one guest address up to a control transfer, a page end or the size
/// cap (DESIGN.md, "Blocks"). Keyed by RIP, linear address, physical address and bitness.
/// </summary>
public sealed class Block
{
    public Block(BlockKey key, Instruction[] instructions, ulong[] physicalPages)
    {
        Key = key;
        Instructions = instructions;
        PhysicalPages = physicalPages;
    }

    public BlockKey Key { get; }

    public Instruction[] Instructions { get; }

    /// <summary>The physical pages the block's bytes come from (one, or two when the last instruction straddles).</summary>
    public ulong[] PhysicalPages { get; }

    /// <summary>Cleared when a write hits one of <see cref="PhysicalPages"/>; the interpreter leaves the block at once.</summary>
    public bool Valid { get; set; } = true;

    /// <summary>How many times the block was entered; the tiering policy reads it.</summary>
    public long Executions { get; set; }
}
