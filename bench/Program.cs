using BenchmarkDotNet.Running;

namespace Emulator.Bench;

/// <summary>Runs the part benchmarks: <c>dotnet run -c Release --project bench -- --filter '*'</c>.</summary>
public static class Program
{
    public static void Main(string[] args)
    {
        if (args is ["compile", .. var rest])
        {
            // Not BenchmarkDotNet: the compile-time profile of recorded guest blocks (CompileBenchmarks.cs).
            Environment.Exit(CompileProfile.Run(rest));
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
