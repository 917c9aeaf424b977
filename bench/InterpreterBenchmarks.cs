using BenchmarkDotNet.Attributes;

namespace Emulator.Bench;

/// <summary>Tier-0 speed: guest instructions per second on a fixed integer loop (divide the op count by the time).</summary>
[MemoryDiagnoser]
public class InterpreterBenchmarks
{
    public const long Instructions = 1_000_000;

    private GuestLoop _loop = null!;

    [GlobalSetup]
    public void Setup() => _loop = new GuestLoop();

    [GlobalCleanup]
    public void Cleanup() => _loop.Dispose();

    [Benchmark(OperationsPerInvoke = (int)Instructions)]
    public void IntegerLoop()
    {
        _loop.Reset();
        _loop.Cpu.Run(Instructions);
    }
}
