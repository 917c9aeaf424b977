using System.Collections.Concurrent;
using System.Diagnostics;
using Emulator.Cpu;
using Emulator.Cpu.Decode;
using Emulator.Jit.Cache;
using Emulator.Jit.Emit;

namespace Emulator.Jit.Tiering;

/// <summary>
/// Tier 1's policy (DESIGN.md, "Tier 1: IL" and "Compile cost"): a block entered
/// <see cref="JitOptions.Threshold"/> times is queued for a background thread, which emits its
/// <see cref="System.Reflection.Emit.DynamicMethod"/>, makes RyuJIT compile it there (a dynamic
/// method is compiled on its first call, so the thread calls it once with a null CPU, which
/// returns at once) and then publishes it in <see cref="Block.Compiled"/>. The vCPU keeps
/// interpreting the block until then. With <see cref="JitOptions.Synchronous"/> the vCPU thread
/// compiles at once (tests: every hot block is really compiled before it runs again).
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
            Compile(block);
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

    private void CompileLoop()
    {
        foreach (var block in _queue!.GetConsumingEnumerable())
        {
            if (block.Valid)
            {
                Compile(block);
            }

            Interlocked.Decrement(ref _pending);
        }
    }

    private unsafe void Compile(Block block)
    {
        string? key = _options.ShareTranslations && _options.Dump is null ? TranslationCache.KeyOf(block) : null;
        if (key is not null && TranslationCache.TryGet(key, out var cached) && cached.Inlined >= 0 == _options.InlineFastPaths)
        {
            block.CompiledLimit = cached.Limit;
            block.CompiledNeedsFlatStack = cached.NeedsFlatStack;
            block.Compiled = cached.Code;
            Statistics.Reused();
            return;
        }

        var watch = Stopwatch.StartNew();
        double cpuStart = ThreadCpuClock.Milliseconds();
        try
        {
            var compiled = BlockEmitter.Emit(block, _options.InlineFastPaths, _options.Dump, out ulong limit, out int inlined, out bool flatStack);

            // The first call compiles; a null CPU makes the method return before touching anything.
            compiled(null, null);
            watch.Stop();
            double cpu = ThreadCpuClock.Milliseconds() - cpuStart;
            block.CompiledLimit = limit;
            block.CompiledNeedsFlatStack = flatStack;
            block.Compiled = compiled;
            Statistics.Compiled(block.Instructions.Length, inlined, watch.Elapsed.TotalMilliseconds, cpu);
            if (key is not null)
            {
                TranslationCache.Add(key, new TranslationCache.Translation(compiled, limit, _options.InlineFastPaths ? inlined : -1, flatStack));
            }
        }
        catch (Exception e) when (e is InvalidProgramException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            // A translator bug costs speed, not correctness: the block stays interpreted.
            Statistics.Failed();
            _cpu?.Log?.Invoke($"jit: cannot compile block at {block.Key.Linear:x}: {e.GetType().Name}: {e.Message}");
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
