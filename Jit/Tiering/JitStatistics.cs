namespace Emulator.Jit.Tiering;

/// <summary>What the translator did: blocks compiled, compile times, failures, invalidations. Thread-safe.</summary>
public sealed class JitStatistics
{
    private readonly Lock _lock = new();
    private readonly List<double> _compileMilliseconds = [];
    private readonly List<double> _compileCpuMilliseconds = [];
    private readonly List<double> _quickCpuMilliseconds = [];
    private readonly List<double> _optimizedCpuMilliseconds = [];
    private long _promoted;
    private long _quick;
    private double _warmUpCpuMilliseconds;
    private long _blocksCompiled;
    private long _instructionsCompiled;
    private long _instructionsInlined;
    private long _failures;
    private long _invalidated;
    private long _reused;

    public long BlocksCompiled => Interlocked.Read(ref _blocksCompiled);

    public long InstructionsCompiled => Interlocked.Read(ref _instructionsCompiled);

    public long InstructionsInlined => Interlocked.Read(ref _instructionsInlined);

    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Compiled blocks dropped because their code changed (or the cache was cleared).</summary>
    public long Invalidated => Interlocked.Read(ref _invalidated);

    internal void Compiled(int instructions, int inlined, double milliseconds, double cpuMilliseconds = double.NaN, bool optimized = true)
    {
        Interlocked.Increment(ref _blocksCompiled);
        Interlocked.Add(ref _instructionsCompiled, instructions);
        Interlocked.Add(ref _instructionsInlined, inlined);
        if (!optimized)
        {
            Interlocked.Increment(ref _quick);
        }

        lock (_lock)
        {
            _compileMilliseconds.Add(milliseconds);
            if (!double.IsNaN(cpuMilliseconds))
            {
                _compileCpuMilliseconds.Add(cpuMilliseconds);
                (optimized ? _optimizedCpuMilliseconds : _quickCpuMilliseconds).Add(cpuMilliseconds);
            }
        }
    }

    /// <summary>Compiles in the quick tier (RyuJIT MinOpts); the rest of <see cref="BlocksCompiled"/> were optimized.</summary>
    public long BlocksCompiledQuickly => Interlocked.Read(ref _quick);

    internal void Promoted() => Interlocked.Increment(ref _promoted);

    /// <summary>Quickly compiled blocks compiled again optimized (JitOptions.OptimizeThreshold); each also counts in <see cref="BlocksCompiled"/>.</summary>
    public long BlocksPromoted => Interlocked.Read(ref _promoted);

    internal void WarmedUp(double cpuMilliseconds)
    {
        lock (_lock)
        {
            _warmUpCpuMilliseconds = cpuMilliseconds;
        }
    }

    /// <summary>Thread CPU time the compiler thread spent compiling its warm-up blocks (not in the compile times), 0 if it did not.</summary>
    public double WarmUpCpuMilliseconds
    {
        get
        {
            lock (_lock)
            {
                return _warmUpCpuMilliseconds;
            }
        }
    }

    private long _regionsCompiled;
    private long _regionMembers;
    private long _regionInstructions;
    private long _regionsDropped;

    /// <summary>Regions compiled (tier 2), the blocks and instructions in them, and regions dropped because a member's code changed.</summary>
    public long RegionsCompiled => Interlocked.Read(ref _regionsCompiled);

    public long RegionMembers => Interlocked.Read(ref _regionMembers);

    public long RegionInstructions => Interlocked.Read(ref _regionInstructions);

    public long RegionsDropped => Interlocked.Read(ref _regionsDropped);

    internal void RegionCompiled(int members, int instructions, double milliseconds, double cpuMilliseconds)
    {
        Interlocked.Increment(ref _regionsCompiled);
        Interlocked.Add(ref _regionMembers, members);
        Interlocked.Add(ref _regionInstructions, instructions);
        lock (_lock)
        {
            _compileMilliseconds.Add(milliseconds);
            if (!double.IsNaN(cpuMilliseconds))
            {
                _compileCpuMilliseconds.Add(cpuMilliseconds);
            }
        }
    }

    internal void RegionDropped() => Interlocked.Increment(ref _regionsDropped);

    internal void Reused() => Interlocked.Increment(ref _reused);

    /// <summary>Hot blocks that got an existing translation of identical code (TranslationCache) instead of a compile.</summary>
    public long BlocksReused => Interlocked.Read(ref _reused);

    internal void Failed() => Interlocked.Increment(ref _failures);

    internal void Dropped() => Interlocked.Increment(ref _invalidated);

    /// <summary>Compile times in milliseconds (emit plus RyuJIT), in the order blocks were compiled.</summary>
    public double[] CompileTimes()
    {
        lock (_lock)
        {
            return [.. _compileMilliseconds];
        }
    }

    /// <summary>The total, median and 99th percentile of <see cref="CompileTimes"/>, in milliseconds.</summary>
    public (double Total, double Median, double P99) CompileTimeSummary() => Summary(CompileTimes());

    /// <summary>
    /// As <see cref="CompileTimeSummary"/> in CPU time of the compiling thread (emit plus RyuJIT),
    /// which a loaded host does not inflate; zeros where the thread clock is not available.
    /// </summary>
    public (double Total, double Median, double P99) CompileCpuTimeSummary()
    {
        lock (_lock)
        {
            return Summary([.. _compileCpuMilliseconds]);
        }
    }

    /// <summary>As <see cref="CompileCpuTimeSummary()"/> for one tier: the quick one, or the optimized one (promotions included).</summary>
    public (double Total, double Median, double P99) CompileCpuTimeSummary(bool optimized)
    {
        lock (_lock)
        {
            return Summary([.. optimized ? _optimizedCpuMilliseconds : _quickCpuMilliseconds]);
        }
    }

    private static (double Total, double Median, double P99) Summary(double[] times)
    {
        if (times.Length == 0)
        {
            return (0, 0, 0);
        }

        Array.Sort(times);
        return (times.Sum(), Percentile(times, 0.5), Percentile(times, 0.99));
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}
