namespace Emulator.Jit.Tiering;

/// <summary>How the translator tiers blocks up.</summary>
public sealed record JitOptions
{
    /// <summary>Block entries before a block is compiled (QEMU compiles on first entry; we interpret cold code first).</summary>
    public long Threshold { get; init; } = 50;

    /// <summary>
    /// Above 0, the threshold starts at this many entries and doubles every <see cref="RampStep"/>
    /// blocks that got hot, up to <see cref="Threshold"/> (<see cref="JitCompiler.Threshold"/>):
    /// while a run has compiled little, compiling more is cheap, and a short run's few hot blocks
    /// stop being interpreted sooner; once it has compiled many (an operating system's boot), only
    /// blocks entered <see cref="Threshold"/> times are worth a compile.
    /// </summary>
    public long RampStart { get; init; }

    /// <summary>Blocks that got hot between two doublings of a ramped threshold (<see cref="RampStart"/>).</summary>
    public long RampStep { get; init; } = 32;

    /// <summary>
    /// Tier 1 is two-step (DESIGN.md, "Compile cost"): a hot block is first compiled quickly
    /// (RyuJIT MinOpts, about a tenth of the compile time, slower code), and compiled again with full
    /// optimization once it was entered this many times (the compiler thread looks when idle, or
    /// <see cref="JitCompiler.PromoteHotBlocks"/>). A one-block loop, whose entries undercount its
    /// iterations, is compiled optimized at once. 0 compiles every hot block optimized at once.
    /// About 200,000 entries pay back a millisecond of optimizing at the 5 ns an entry gains on
    /// roms/bench's bytecode.
    /// </summary>
    public long OptimizeThreshold { get; init; } = 200_000;

    /// <summary>Compile on the vCPU thread the moment a block gets hot (tests), instead of on the background thread.</summary>
    public bool Synchronous { get; init; }

    /// <summary>Emit inline IL for the instruction families that have it; false calls every handler (baseline only).</summary>
    public bool InlineFastPaths { get; init; } = true;

    /// <summary>Reuse translations of identical code across blocks, resets and machines (Cache/TranslationCache).</summary>
    public bool ShareTranslations { get; init; } = true;

    /// <summary>Compile hot loops spanning several blocks of a page as one method (tier 2, Jit/README.md).</summary>
    public bool Regions { get; init; } = true;

    /// <summary>
    /// Block entries, after a block got hot without a region (its successors not built or not warm
    /// yet), before the compiler looks for one again; 0 takes the larger of the threshold and 16.
    /// </summary>
    public long RegionDelay { get; init; }

    /// <summary>Receives a readable listing of each emitted block (the "dump emitted IL" switch of STYLE.md).</summary>
    public Action<string>? Dump { get; init; }
}
