using BenchmarkDotNet.Attributes;
using Emulator.Cpu.Decode;
using Emulator.Jit.Emit;
using Emulator.Jit.Tiering;

namespace Emulator.Bench;

/// <summary>
/// Tier 1 speed on the interpreter's fixed loop (<see cref="GuestLoop"/>): guest instructions per
/// second once the loop is compiled, and the cost of compiling one block (emit plus RyuJIT).
/// </summary>
[MemoryDiagnoser]
public class JitBenchmarks
{
    public const long Instructions = 1_000_000;

    private GuestLoop _loop = null!;
    private JitCompiler _jit = null!;
    private Block _block = null!;

    [GlobalSetup]
    public void Setup()
    {
        _loop = new GuestLoop();
        // Reset clears the block cache; shared translations make the rebuilt blocks reuse the
        // compiled code, so the measured runs pay a lookup per block, not a compile.
        _jit = new JitCompiler(new JitOptions { Threshold = 0, Synchronous = true, OptimizeThreshold = 0 }).Attach(_loop.Cpu);

        // Warm up: every block of the loop compiled before the measured runs.
        _loop.Cpu.Run(10_000);
        _loop.Reset();
        _loop.Cpu.Run(10_000);
        _block = _loop.Cpu.Blocks.Get(_loop.Cpu.S.Rip, _loop.Cpu.CodeLinear, 64)!;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _jit.Dispose();
        _loop.Dispose();
    }

    [Benchmark(OperationsPerInvoke = (int)Instructions)]
    public void IntegerLoopCompiled()
    {
        _loop.Reset();
        _loop.Cpu.Run(Instructions);
    }

    /// <summary>Emits and compiles the loop's block once (what the background thread pays per block).</summary>
    [Benchmark]
    public unsafe int CompileOneBlock()
    {
        var compiled = BlockEmitter.Emit(_block, inline: true, dump: null, out _, out int inlined, out _);
        return compiled(null, null) + inlined;
    }
}
