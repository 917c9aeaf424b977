using BenchmarkDotNet.Running;

namespace Emulator.Bench;

/// <summary>
/// Runs the part benchmarks: <c>dotnet run -c Release --project bench -- --filter '*'</c>; and two
/// reports that BenchmarkDotNet's per-method means cannot give (see bench/README.md):
/// <c>compile [bench:NAME | linux]</c> (<see cref="CompileProfile"/>, compile time per block over
/// real blocks) and <c>--guest [interp|jit] [benchmark ...]</c> (<see cref="GuestRates"/>).
/// </summary>
public static class Program
{
    public static void Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--guest")
        {
            GuestRates.Report(args[1..]);
            return;
        }

        if (args is ["compile", .. var rest])
        {
            // Not BenchmarkDotNet: the compile-time profile of recorded guest blocks (CompileBenchmarks.cs).
            Environment.Exit(CompileProfile.Run(rest));
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
