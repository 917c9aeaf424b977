namespace Emulator.Cpu.Decode;

/// <summary>
/// The seam between the interpreter and a translator (DESIGN.md, "Execution"). The run loop counts
/// block entries and calls <see cref="BlockIsHot"/> once per block, when its count reaches
/// <see cref="Threshold"/>; the compiler later stores a <see cref="CompiledBlock"/> in
/// <see cref="Block.Compiled"/>, from any thread, and the run loop uses it from the next entry on.
/// The CPU never references an implementation. Dropped blocks are reported by
/// <see cref="BlockCache.BlockInvalidated"/>.
/// </summary>
public interface IBlockCompiler
{
    /// <summary>Block entries before a block is handed over (0 or 1: compile on first entry).</summary>
    long Threshold { get; }

    /// <summary>Called on the vCPU thread. May compile at once (tests) or queue the block for a background thread.</summary>
    void BlockIsHot(X86Cpu cpu, Block block);

    /// <summary>Called on the vCPU thread when a block's entries reach the <see cref="Block.NextHotCheck"/> the compiler set.</summary>
    void BlockStaysHot(X86Cpu cpu, Block block);
}
