using System.Diagnostics;
using System.Runtime.CompilerServices;
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
/// Tier 2: when a hot block leads to other warm blocks of its page (<see cref="RegionBuilder"/>),
/// they are compiled together as one region (<see cref="CompiledRegion"/>) published on the hot
/// block; when they are not built or warm yet, the block gets its own translation and is looked
/// at again after <see cref="JitOptions.RegionDelay"/> more entries (then after twice as many
/// entries each time). A block that is already part of a region gets only its own translation.
/// A hot block gets the quick tier first (<see cref="JitOptions.OptimizeThreshold"/>): RyuJIT's full
/// optimization costs about a millisecond per block, MinOpts a tenth of it. Blocks entered
/// <see cref="JitOptions.OptimizeThreshold"/> times are compiled again optimized by the background
/// thread when it has no new hot block to compile (never by the vCPU thread). Regions are always
/// compiled optimized: they are formed only from blocks that stayed hot.
/// </summary>
public sealed class JitCompiler : IBlockCompiler, IDisposable
{
    private readonly JitOptions _options;
    // Work for the compiler thread, under _queueLock (Monitor: the thread waits on it). A plain
    // queue and monitor rather than a BlockingCollection: that one's CompleteAdding wakes a waiting
    // consumer by throwing an OperationCanceledException inside it, the process's first exception
    // (about 3 ms at every exit), and its generic code over a struct is jitted at start-up.
    private readonly Queue<Work>? _queue;
    private readonly object _queueLock = new();
    private volatile bool _stopping;

    // Vcpu thread only: blocks already in a region that was queued.
    private readonly ConditionalWeakTable<Block, object> _inRegion = [];

    // Under _regionLock: for each block, the entries of the regions it is a member of.
    private readonly Lock _regionLock = new();
    private readonly ConditionalWeakTable<Block, List<Block>> _regionsOf = [];

    /// <summary>A block to compile alone, or a region's members (the entry first).</summary>
    private sealed record Work(Block Block, Block[]? Members);
    private readonly Thread? _thread;
    private X86Cpu? _cpu;

    public JitCompiler(JitOptions options)
    {
        _options = options;
        _threshold = RampedThreshold();
        if (!options.Synchronous)
        {
            _queue = new Queue<Work>();
            _thread = new Thread(CompileLoop) { IsBackground = true, Name = "jit compiler", Priority = ThreadPriority.BelowNormal };
            _thread.Start();
        }
    }

    /// <summary>The entries after which a block is compiled now (<see cref="JitOptions.RampStart"/>).</summary>
    public long Threshold => _threshold;

    private long _threshold;
    private long _hotBlocks;

    private long RampedThreshold()
    {
        if (_options.RampStart <= 0 || _options.RampStart >= _options.Threshold)
        {
            return _options.Threshold;
        }

        long doublings = _hotBlocks / Math.Max(1, _options.RampStep);
        return doublings >= 62 ? _options.Threshold : Math.Min(_options.Threshold, _options.RampStart << (int)doublings);
    }

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
        _hotBlocks++;
        _threshold = RampedThreshold();
        if (!_options.Regions || _inRegion.TryGetValue(block, out _) || !TryQueueRegion(cpu, block))
        {
            Queue(new Work(block, null));
            if (_options.Regions && !_inRegion.TryGetValue(block, out _))
            {
                block.NextHotCheck = block.Executions + RegionDelay;
            }
        }
    }

    public void BlockStaysHot(X86Cpu cpu, Block block)
    {
        if (!_inRegion.TryGetValue(block, out _) && !TryQueueRegion(cpu, block))
        {
            block.NextHotCheck = block.Executions * 2;
        }
    }

    private long RegionDelay => _options.RegionDelay > 0 ? _options.RegionDelay : Math.Max(Threshold, 16);

    /// <summary>Queues a region entered at <paramref name="block"/> if its page has one (vCPU thread).</summary>
    private bool TryQueueRegion(X86Cpu cpu, Block block)
    {
        // Warm: entered a 32nd as often as a hot block.
        var members = RegionBuilder.Form(cpu.Blocks, block, Math.Max(1, Threshold / 32));
        if (members.Length < 2)
        {
            return false;
        }

        foreach (var member in members)
        {
            _inRegion.AddOrUpdate(member, member);
        }

        Queue(new Work(block, members));
        return true;
    }

    private void Queue(Work work)
    {
        if (_queue is null)
        {
            Compile(work);
        }
        else
        {
            lock (_queueLock)
            {
                if (!_stopping)
                {
                    Interlocked.Increment(ref _pending);
                    _queue.Enqueue(work);
                    Monitor.Pulse(_queueLock);
                }
            }
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

    /// <summary>Blocks and regions queued for the compiler thread or being compiled by it now.</summary>
    public int PendingWork => Volatile.Read(ref _pending);

    private int QueuedWork
    {
        get
        {
            lock (_queueLock)
            {
                return _queue?.Count ?? 0;
            }
        }
    }

    // How long the idle compiler thread waits for a hot block before it looks for blocks to optimize.
    private const int IdlePollMilliseconds = 20;

    private void CompileLoop()
    {
        WarmUp.Run(Statistics, _options.InlineFastPaths, () => _stopping);
        while (!_stopping)
        {
            Work? work;
            lock (_queueLock)
            {
                if (!_queue!.TryDequeue(out work) && !_stopping)
                {
                    Monitor.Wait(_queueLock, IdlePollMilliseconds);
                    _queue.TryDequeue(out work);
                }
            }

            if (_stopping)
            {
                break;
            }

            if (work is null)
            {
                PromoteHotBlocks();
                continue;
            }

            if (work.Block.Valid)
            {
                Compile(work);
            }

            Interlocked.Decrement(ref _pending);
        }
    }

    private void Compile(Work work)
    {
        if ((work.Members is null || !CompileRegion(work.Members)) && work.Block.Compiled is null)
        {
            Compile(work.Block, OptimizeAtOnce(work.Block));
        }
    }

    /// <summary>Compiles and publishes a region; false when it cannot be compiled (then its entry is compiled alone).</summary>
    private unsafe bool CompileRegion(Block[] members)
    {
        var watch = Stopwatch.StartNew();
        double cpuStart = ThreadCpuClock.Milliseconds();
        try
        {
            var compiled = BlockEmitter.Emit(members, _options.InlineFastPaths, _options.Dump, out ulong limit, out _, out bool flatStack, out int reached);
            compiled(null, null);
            watch.Stop();
            double cpu = ThreadCpuClock.Milliseconds() - cpuStart;
            var head = members[0];
            var region = new CompiledRegion(compiled, members, limit, flatStack);
            lock (_regionLock)
            {
                foreach (var member in members)
                {
                    _regionsOf.GetOrCreateValue(member).Add(head);
                }

                // A member dropped while this compiled: OnBlockInvalidated found no region to drop yet.
                if (members.All(m => m.Valid))
                {
                    head.Region = region;
                }
            }

            Statistics.RegionCompiled(reached, members.Sum(m => m.Instructions.Length), watch.Elapsed.TotalMilliseconds, cpu);
            return true;
        }
        catch (Exception e) when (e is InvalidProgramException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            Statistics.Failed();
            _cpu?.Log?.Invoke($"jit: cannot compile region at {members[0].Key.Linear:x}: {e.GetType().Name}: {e.Message}");
            return false;
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
            if (_stopping || QueuedWork > 0)
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

        // Every region with this block in it must never run again (it may be compiling right now:
        // CompileRegion checks the members' Valid under the same lock after registering them).
        lock (_regionLock)
        {
            if (_regionsOf.TryGetValue(block, out var heads))
            {
                foreach (var head in heads)
                {
                    if (head.Region is { } region && region.Members.Contains(block))
                    {
                        head.Region = null;
                        Statistics.RegionDropped();
                    }
                }

                _regionsOf.Remove(block);
            }
        }
    }

    public void Dispose()
    {
        if (_cpu is not null)
        {
            _cpu.Blocks.BlockInvalidated -= OnBlockInvalidated;
            _cpu.Compiler = null;
        }

        // Blocks still queued are dropped: the thread ends after the compile it is in (or the
        // warm-up block it is at), so that exiting emu does not wait for translations nobody runs.
        lock (_queueLock)
        {
            _stopping = true;
            if (_queue is not null)
            {
                Interlocked.Add(ref _pending, -_queue.Count);
                _queue.Clear();
            }

            Monitor.PulseAll(_queueLock);
        }

        _thread?.Join();
    }
}
