using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Emulator.Cpu;
using Emulator.Cpu.Decode;
using Emulator.Jit.Emit;
using Emulator.Jit.Tiering;
using Emulator.Machine;
using Emulator.Machine.Config;

namespace Emulator.Bench;

/// <summary>
/// Where a block's compile time goes, on real blocks (issue #6: median under 300 µs per block).
/// <c>dotnet run -c Release --project bench -- compile [bench:NAME | linux] [max-instructions]</c>
/// (environment: COMPILE_PASSES, COMPILE_INLINE=0 for handler calls only, COMPILE_OPTIMIZE=0 for the quick tier, COMPILE_POLICY=1 through JitCompiler (COMPILE_BUSY=1 with another thread busy, COMPILE_GAP_MS=N blocks N ms apart), LINUX_GUEST_DIR)
/// runs a guest on the interpreter with a recording compiler (every block entered 50 times is
/// kept, none compiled), then compiles the recorded blocks in this process: the first pass pays
/// for RyuJIT compiling the emitter itself (what a fresh <c>emu</c> pays), later passes are the
/// steady state. Each block is timed in two phases, emit (our C#, ILGenerator, CreateDelegate)
/// and the first call (RyuJIT compiling the method), in wall time and thread CPU time.
/// </summary>
public static class CompileProfile
{
    private static readonly int s_passes = int.TryParse(Environment.GetEnvironmentVariable("COMPILE_PASSES"), out int p) ? p : 4;

    private static readonly bool s_inline = Environment.GetEnvironmentVariable("COMPILE_INLINE") != "0";
    private static readonly bool s_optimize = Environment.GetEnvironmentVariable("COMPILE_OPTIMIZE") != "0";

    /// <summary>Records every block that gets hot, compiling nothing.</summary>
    private sealed class Recorder : IBlockCompiler
    {
        public List<Block> Blocks { get; } = [];

        public long Threshold => 50;

        public void BlockIsHot(X86Cpu cpu, Block block) => Blocks.Add(block);

        public void BlockStaysHot(X86Cpu cpu, Block block)
        {
        }
    }

    public static int Run(string[] args)
    {
        string guest = args.Length > 0 ? args[0] : "bench:sort";
        long max = args.Length > 1 ? long.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 300_000_000;
        var blocks = Record(guest, max);
        Console.WriteLine($"{guest}: {blocks.Count} hot blocks, {blocks.Sum(b => b.Instructions.Length)} instructions");
        if (Environment.GetEnvironmentVariable("COMPILE_POLICY") == "1")
        {
            Policy(blocks);
            return 0;
        }

        for (int pass = 0; pass < s_passes; pass++)
        {
            Measure(blocks, pass == 0 ? "pass 1 (cold runtime)" : $"pass {pass + 1}");
        }

        return 0;
    }

    public static List<Block> Record(string guest, long maxInstructions)
    {
        string root = FindRoot();
        string linux = Environment.GetEnvironmentVariable("LINUX_GUEST_DIR") ?? Path.Combine(root, ".cache/linux-guest");
        var config = guest.StartsWith("bench:", StringComparison.Ordinal)
            ? new MachineConfig
            {
                KernelPath = Path.Combine(root, "roms/bench/bench.elf"),
                Append = guest["bench:".Length..],
                ExitDevice = new ExitDeviceConfig(0xF4, 4),
                Serial = SerialTarget.None,
                Accel = Accelerator.Interpreter,
                MaxInstructions = maxInstructions,
            }
            : new MachineConfig
            {
                KernelPath = Path.Combine(linux, "vmlinuz"),
                Initrds = [Path.Combine(linux, "initramfs.gz")],
                Append = "console=ttyS0",
                Serial = SerialTarget.None,
                Accel = Accelerator.Interpreter,
                MaxInstructions = maxInstructions,
            };
        using var vm = new VirtualMachine(config, Stream.Null, TextWriter.Null);
        var recorder = new Recorder();
        vm.Cpu.Compiler = recorder;
        vm.Run();
        vm.Cpu.Compiler = null;
        return recorder.Blocks;
    }

    /// <summary>
    /// The blocks through <see cref="JitCompiler"/>'s background thread, as in <c>emu</c> (warm-up,
    /// quick tier, loops optimized, promotions of blocks that ran often enough while recorded).
    /// </summary>
    private static void Policy(List<Block> blocks)
    {
        // COMPILE_BUSY=1: a thread that keeps the other core busy, as a running vCPU does.
        bool busy = Environment.GetEnvironmentVariable("COMPILE_BUSY") == "1";
        var stop = new CancellationTokenSource();
        var spinner = new Thread(() =>
        {
            var memory = new long[1 << 20];
            long x = 1;
            while (busy && !stop.IsCancellationRequested)
            {
                x = (x * 6364136223846793005) + 1442695040888963407;
                memory[(int)((ulong)x >> 44)] += x;
            }
        });
        spinner.Start();
        using var jit = new JitCompiler(new JitOptions { Threshold = 0, ShareTranslations = false });
        var watch = Stopwatch.StartNew();
        // COMPILE_GAP_MS=N: hand the blocks over N ms apart (as a guest's blocks get hot one by one).
        int gap = int.TryParse(Environment.GetEnvironmentVariable("COMPILE_GAP_MS"), out int g) ? g : 0;
        foreach (var block in blocks)
        {
            jit.BlockIsHot(null!, block);
            if (gap > 0)
            {
                jit.Drain();
                Thread.Sleep(gap);
            }
        }

        jit.Drain();
        stop.Cancel();
        spinner.Join();
        int promoted = jit.PromoteHotBlocks();
        var s = jit.Statistics;
        Console.WriteLine($"policy: {s.BlocksCompiled} compiles ({promoted} promotions) in {watch.Elapsed.TotalMilliseconds:F0} ms wall, warm-up {s.WarmUpCpuMilliseconds:F1} ms CPU, failed {s.Failures}");
        var (total, median, p99) = s.CompileTimeSummary();
        Console.WriteLine($"  all, wall:      total {total,8:F1} ms, median {median * 1000,7:F1} µs, p99 {p99 * 1000,8:F1} µs");
        (total, median, p99) = s.CompileCpuTimeSummary();
        Console.WriteLine($"  all, CPU:       total {total,8:F1} ms, median {median * 1000,7:F1} µs, p99 {p99 * 1000,8:F1} µs");
        (total, median, p99) = s.CompileCpuTimeSummary(optimized: false);
        Console.WriteLine($"  quick, CPU:     total {total,8:F1} ms, median {median * 1000,7:F1} µs, p99 {p99 * 1000,8:F1} µs");
        (total, median, p99) = s.CompileCpuTimeSummary(optimized: true);
        Console.WriteLine($"  optimized, CPU: total {total,8:F1} ms, median {median * 1000,7:F1} µs, p99 {p99 * 1000,8:F1} µs");
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Emulator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("cannot find the repository root (Emulator.sln)");
    }

    private static unsafe void Measure(List<Block> blocks, string label)
    {
        var emitWall = new List<double>();
        var emitCpu = new List<double>();
        var jitWall = new List<double>();
        var jitCpu = new List<double>();
        var totalWall = new List<double>();
        var totalCpu = new List<double>();
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        foreach (var block in blocks)
        {
            long t0 = Stopwatch.GetTimestamp();
            double c0 = ThreadCpuMicroseconds();
            var compiled = BlockEmitter.Emit(block, inline: s_inline, dump: null, out _, out _, out _, s_optimize);
            long t1 = Stopwatch.GetTimestamp();
            double c1 = ThreadCpuMicroseconds();
            compiled(null, null);
            long t2 = Stopwatch.GetTimestamp();
            double c2 = ThreadCpuMicroseconds();
            emitWall.Add(Stopwatch.GetElapsedTime(t0, t1).TotalMicroseconds);
            jitWall.Add(Stopwatch.GetElapsedTime(t1, t2).TotalMicroseconds);
            totalWall.Add(Stopwatch.GetElapsedTime(t0, t2).TotalMicroseconds);
            emitCpu.Add(c1 - c0);
            jitCpu.Add(c2 - c1);
            totalCpu.Add(c2 - c0);
        }

        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Console.WriteLine($"{label}: allocated {allocated / Math.Max(1, blocks.Count)} bytes per block");
        Console.WriteLine($"  {"µs",-12} {"median",9} {"p90",9} {"p99",9} {"max",9} {"total ms",9}");
        Print("emit wall", emitWall);
        Print("emit cpu", emitCpu);
        Print("ryujit wall", jitWall);
        Print("ryujit cpu", jitCpu);
        Print("total wall", totalWall);
        Print("total cpu", totalCpu);
    }

    private static void Print(string what, List<double> values)
    {
        var sorted = values.Order().ToArray();
        double P(double p) => sorted[Math.Min(sorted.Length - 1, Math.Max(0, (int)Math.Ceiling(p * sorted.Length) - 1))];
        Console.WriteLine($"  {what,-12} {P(0.5),9:F1} {P(0.9),9:F1} {P(0.99),9:F1} {sorted[^1],9:F1} {sorted.Sum() / 1000,9:F1}");
    }

    private static double ThreadCpuMicroseconds() => ThreadCpuClock.Milliseconds() * 1000;
}

/// <summary>
/// One block (<see cref="GuestLoop"/>'s loop body) emitted and compiled in each tier: the quick one
/// (RyuJIT MinOpts in a collectible assembly) and the optimized one (a DynamicMethod).
/// </summary>
[MemoryDiagnoser]
public class CompileBenchmarks
{
    private GuestLoop _loop = null!;
    private Block _block = null!;

    [GlobalSetup]
    public void Setup()
    {
        _loop = new GuestLoop();
        _loop.Cpu.Run(1_000);
        _block = _loop.Cpu.Blocks.Get(_loop.Cpu.S.Rip, _loop.Cpu.CodeLinear, 64)!;
    }

    [GlobalCleanup]
    public void Cleanup() => _loop.Dispose();

    [Benchmark(Baseline = true)]
    public unsafe int CompileOptimized() => BlockEmitter.Emit(_block, inline: true, dump: null, out _, out _, out _, optimize: true)(null, null);

    [Benchmark]
    public unsafe int CompileQuick() => BlockEmitter.Emit(_block, inline: true, dump: null, out _, out _, out _, optimize: false)(null, null);
}
