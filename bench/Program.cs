using BenchmarkDotNet.Running;

namespace Emulator.Bench;

/// <summary>Runs the part benchmarks: <c>dotnet run -c Release --project bench -- --filter '*'</c>.</summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
