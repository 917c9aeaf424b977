using System.Globalization;
using Emulator.Machine.Config;

namespace Emulator.Bench;

/// <summary>
/// Guest instructions per second on the guest benchmarks of roms/bench, in a whole machine on one
/// engine, in this process (so the rate is after this process's own JIT warm-up of the first
/// benchmark): <c>--guest interp sort hash</c>, <c>--guest jit</c>.
/// </summary>
public static class GuestRates
{
    public static void Report(string[] args)
    {
        var accel = args.Length > 0 && args[0] == "jit" ? Accelerator.Jit : Accelerator.Interpreter;
        string[] names = args.Length > 0 && args[0] is "jit" or "interp" ? args[1..] : args;
        if (names.Length == 0)
        {
            names = GuestBenchmarkRun.Names;
        }

        // One untimed run first: the host JIT's tiering of the emulator itself is not what is measured.
        GuestBenchmarkRun.Run(names[0], accel);
        Console.WriteLine($"engine {accel}");
        Console.WriteLine("benchmark   instructions   seconds   M instr/s   output");
        foreach (string name in names)
        {
            var run = GuestBenchmarkRun.Run(name, accel);
            double rate = run.Instructions / run.Elapsed.TotalSeconds / 1e6;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-10} {run.Instructions,13} {run.Elapsed.TotalSeconds,9:F3} {rate,11:F1}   {run.Output}"));
        }
    }
}
