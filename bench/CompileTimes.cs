using System.Diagnostics;
using System.Globalization;
using Emulator.Cpu.Decode;
using Emulator.Jit.Emit;
using Emulator.Machine.Config;

namespace Emulator.Bench;

/// <summary>
/// Compile time per block over real blocks, which a BenchmarkDotNet mean over one block cannot
/// give: every distinct block that the guest benchmarks of roms/bench enter is compiled once, and
/// the median and 99th percentile are reported for the two parts of a compile, emitting the IL
/// (<see cref="BlockEmitter.Emit"/>) and RyuJIT compiling it (the first call, as JitCompiler does).
///   dotnet bench/bin/Release/net10.0/Emulator.Bench.dll --compile-times [benchmark ...]
/// </summary>
public static class CompileTimes
{
    public static unsafe void Report(string[] names)
    {
        var blocks = new List<Block>();
        foreach (string name in names.Length > 0 ? names : GuestBenchmarkRun.Names)
        {
            var run = GuestBenchmarkRun.Run(name, Accelerator.Interpreter, collectBlocks: true);
            Console.WriteLine($"{name}: {run.Output}, {run.Instructions} instructions, {run.Blocks.Count} blocks");
            blocks.AddRange(run.Blocks);
        }

        // Warm up the emitter and RyuJIT on a few blocks, then time each block once.
        foreach (var block in blocks.Take(20))
        {
            BlockEmitter.Emit(block, inline: true, dump: null, out _, out _, out _)(null, null);
        }

        var emit = new List<double>();
        var jit = new List<double>();
        var total = new List<double>();
        var sizes = new List<int>();
        foreach (var block in blocks)
        {
            long t0 = Stopwatch.GetTimestamp();
            var compiled = BlockEmitter.Emit(block, inline: true, dump: null, out _, out _, out _);
            long t1 = Stopwatch.GetTimestamp();
            compiled(null, null);
            long t2 = Stopwatch.GetTimestamp();
            emit.Add(Stopwatch.GetElapsedTime(t0, t1).TotalMicroseconds);
            jit.Add(Stopwatch.GetElapsedTime(t1, t2).TotalMicroseconds);
            total.Add(Stopwatch.GetElapsedTime(t0, t2).TotalMicroseconds);
            sizes.Add(block.Instructions.Length);
        }

        Console.WriteLine($"{blocks.Count} blocks, {sizes.Average():F1} instructions per block on average (max {sizes.Max()})");
        Console.WriteLine("part         median (us)   p99 (us)   mean (us)");
        Print("emit IL", emit);
        Print("RyuJIT", jit);
        Print("total", total);
    }

    private static void Print(string label, List<double> values)
    {
        var sorted = values.Order().ToArray();
        double median = sorted[sorted.Length / 2];
        double p99 = sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(sorted.Length * 0.99) - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{label,-10} {median,12:F1} {p99,10:F1} {values.Average(),11:F1}"));
    }
}
