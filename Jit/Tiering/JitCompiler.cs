using System.Collections.Concurrent;
using System.Diagnostics;
using Emulator.Cpu;
using Emulator.Cpu.Decode;
using Emulator.Jit.Cache;
using Emulator.Jit.Emit;
using Iced.Intel;

namespace Emulator.Jit.Tiering;

/// <summary>
/// Tier 1's policy (DESIGN.md, "Tier 1: IL" and "Compile cost"): a block entered
/// <see cref="JitOptions.Threshold"/> times is queued for a background thread, which emits its
/// <see cref="System.Reflection.Emit.DynamicMethod"/>, makes RyuJIT compile it there (a dynamic
/// method is compiled on its first call, so the thread calls it once with a null CPU, which
/// returns at once) and then publishes it in <see cref="Block.Compiled"/>. The vCPU keeps
/// interpreting the block until then. With <see cref="JitOptions.Synchronous"/> the vCPU thread
/// compiles at once (tests: every hot block is really compiled before it runs again).
/// A hot block gets the quick tier first (<see cref="JitOptions.OptimizeThreshold"/>): RyuJIT's full
/// optimization costs about a millisecond per block, MinOpts a tenth of it. Blocks entered
/// <see cref="JitOptions.OptimizeThreshold"/> times are compiled again optimized by the background
/// thread when it has no new hot block to compile (never by the vCPU thread).
/// </summary>
public sealed class JitCompiler : IBlockCompiler, IDisposable
{
    private readonly JitOptions _options;
    private readonly BlockingCollection<Block>? _queue;
    private readonly Thread? _thread;
    private X86Cpu? _cpu;

    public JitCompiler(JitOptions options)
    {
        _options = options;
        if (!options.Synchronous)
        {
            _queue = new BlockingCollection<Block>(new ConcurrentQueue<Block>());
            _thread = new Thread(CompileLoop) { IsBackground = true, Name = "jit compiler", Priority = ThreadPriority.BelowNormal };
            _thread.Start();
        }
    }

    public long Threshold => _options.Threshold;

    public JitStatistics Statistics { get; } = new();

    /// <summary>Makes <paramref name="cpu"/> hand its hot blocks to this compiler.</summary>
    public JitCompiler Attach(X86Cpu cpu)
    {
        _cpu = cpu;
        cpu.Compiler = this;
        cpu.Blocks.BlockInvalidated += OnBlockInvalidated;
        return this;
    }

    public void BlockIsHot(X86Cpu cpu, Block block)
    {
        if (_queue is null)
        {
            Compile(block, OptimizeAtOnce(block));
        }
        else if (!_queue.IsAddingCompleted)
        {
            Interlocked.Increment(ref _pending);
            _queue.Add(block);
        }
    }

    /// <summary>Blocks until every queued block is compiled (benchmarks and tests that want steady state).</summary>
    public void Drain()
    {
        // Counted from queueing to published: the queue alone is empty while its last block compiles.
        while (Volatile.Read(ref _pending) > 0)
        {
            Thread.Sleep(1);
        }
    }

    private int _pending;

    // How long the idle compiler thread waits for a hot block before it looks for blocks to optimize.
    private const int IdlePollMilliseconds = 20;

    private void CompileLoop()
    {
        WarmUp.Run(Statistics, _options.InlineFastPaths);
        while (!_queue!.IsCompleted)
        {
            if (!_queue.TryTake(out var block, IdlePollMilliseconds))
            {
                PromoteHotBlocks();
                continue;
            }

            if (block.Valid)
            {
                Compile(block, OptimizeAtOnce(block));
            }

            Interlocked.Decrement(ref _pending);
        }
    }

    /// <summary>Quickly compiled blocks, with the translation they got (checked when promoting).</summary>
    private readonly List<(Block Block, CompiledBlock Quick)> _quick = [];
    private readonly Lock _quickLock = new();

    /// <summary>
    /// Compiles optimized every quickly compiled block entered at least
    /// <see cref="JitOptions.OptimizeThreshold"/> times, and forgets the invalidated ones. The
    /// background thread calls it when idle; in <see cref="JitOptions.Synchronous"/> mode nothing
    /// does, so tests call it. Returns how many blocks it compiled. A newly hot block queued
    /// meanwhile stops it (the rest waits for the next idle moment): interpreted blocks first.
    /// </summary>
    public int PromoteHotBlocks()
    {
        if (_options.OptimizeThreshold <= 0)
        {
            return 0;
        }

        List<(Block Block, CompiledBlock Quick)> due = [];
        lock (_quickLock)
        {
            // Entry counts are read racily from the vCPU thread: a stale count only delays a promotion.
            _quick.RemoveAll(q => !q.Block.Valid || !ReferenceEquals(q.Block.Compiled, q.Quick));
            foreach (var q in _quick)
            {
                if (q.Block.Executions >= _options.OptimizeThreshold)
                {
                    due.Add(q);
                }
            }
        }

        int promoted = 0;
        foreach (var q in due)
        {
            if (_queue is { Count: > 0 })
            {
                break;
            }

            lock (_quickLock)
            {
                _quick.Remove(q);
            }

            if (q.Block.Valid && ReferenceEquals(q.Block.Compiled, q.Quick) && Compile(q.Block, optimize: true))
            {
                promoted++;
                Statistics.Promoted();
            }
        }

        return promoted;
    }

    /// <summary>Whether a newly hot block skips the quick tier: no quick tier, or a one-block loop.</summary>
    private bool OptimizeAtOnce(Block block) => _options.OptimizeThreshold <= 0 || IsOneBlockLoop(block);

    /// <summary>
    /// The block's last instruction is a direct JMP or Jcc to its first: the translation loops
    /// inside itself, so its entry count says little about how much it runs.
    /// </summary>
    internal static bool IsOneBlockLoop(Block block)
    {
        ref readonly var last = ref block.Instructions[^1];
        ulong mask = block.Key.Bitness == 64 ? ulong.MaxValue : block.Key.Bitness == 32 ? 0xFFFF_FFFFUL : 0xFFFFUL;
        return last.Op0Kind is OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64
            && (last.Mnemonic == Mnemonic.Jmp || last.Code.IsJccShortOrNear())
            && (last.NearBranchTarget & mask) == (block.Instructions[0].IP & mask);
    }

    /// <summary>Compiles and publishes <paramref name="block"/>; false when it stays as it was.</summary>
    private unsafe bool Compile(Block block, bool optimize)
    {
        string? key = _options.ShareTranslations && _options.Dump is null ? TranslationCache.KeyOf(block) : null;
        if (key is not null && TranslationCache.TryGet(key, out var cached) && cached.Inlined >= 0 == _options.InlineFastPaths && (cached.Optimized || !optimize))
        {
            block.CompiledLimit = cached.Limit;
            block.CompiledNeedsFlatStack = cached.NeedsFlatStack;
            block.Compiled = cached.Code;
            Statistics.Reused();
            if (!cached.Optimized)
            {
                Remember(block, cached.Code);
            }

            return true;
        }

        var watch = Stopwatch.StartNew();
        double cpuStart = ThreadCpuClock.Milliseconds();
        try
        {
            var compiled = BlockEmitter.Emit(block, _options.InlineFastPaths, _options.Dump, out ulong limit, out int inlined, out bool flatStack, optimize);

            // The first call compiles; a null CPU makes the method return before touching anything.
            compiled(null, null);
            watch.Stop();
            double cpu = ThreadCpuClock.Milliseconds() - cpuStart;
            block.CompiledLimit = limit;
            block.CompiledNeedsFlatStack = flatStack;
            block.Compiled = compiled;
            Statistics.Compiled(block.Instructions.Length, inlined, watch.Elapsed.TotalMilliseconds, cpu, optimize);
            if (key is not null)
            {
                TranslationCache.Add(key, new TranslationCache.Translation(compiled, limit, _options.InlineFastPaths ? inlined : -1, flatStack, optimize));
            }

            if (!optimize)
            {
                Remember(block, compiled);
            }

            return true;
        }
        catch (Exception e) when (!optimize && e is InvalidProgramException or NotSupportedException or InvalidOperationException or ArgumentException or MemberAccessException or TypeLoadException)
        {
            // The quick tier's method lives in another assembly (BlockMethod): IL that reaches
            // a non-public member compiles only as a DynamicMethod.
            _cpu?.Log?.Invoke($"jit: quick tier cannot compile block at {block.Key.Linear:x}, optimizing: {e.GetType().Name}: {e.Message}");
            return Compile(block, optimize: true);
        }
        catch (Exception e) when (e is InvalidProgramException or NotSupportedException or InvalidOperationException or ArgumentException or MemberAccessException)
        {
            // A translator bug costs speed, not correctness: the block stays interpreted.
            Statistics.Failed();
            _cpu?.Log?.Invoke($"jit: cannot compile block at {block.Key.Linear:x}: {e.GetType().Name}: {e.Message}");
            return false;
        }
    }

    private void Remember(Block block, CompiledBlock quick)
    {
        if (_options.OptimizeThreshold > 0)
        {
            lock (_quickLock)
            {
                _quick.Add((block, quick));
            }
        }
    }

    private void OnBlockInvalidated(Block block)
    {
        if (block.Compiled is not null)
        {
            block.Compiled = null;
            Statistics.Dropped();
        }
    }

    public void Dispose()
    {
        if (_cpu is not null)
        {
            _cpu.Blocks.BlockInvalidated -= OnBlockInvalidated;
            _cpu.Compiler = null;
        }

        _queue?.CompleteAdding();
        _thread?.Join();
        _queue?.Dispose();
    }
}
