using BenchmarkDotNet.Attributes;
using Emulator.Jit.Tiering;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Bench;

/// <summary>
/// The cost of a block transition: a loop of <see cref="BlocksPerIteration"/> blocks, 14 of them a
/// lone taken JE, so nearly all the time is the run loop going from one block to the next
/// (interrupt checks, the chained-successor lookup, the block's bookkeeping) rather than guest
/// work. Reported per block; the JIT variants run every block compiled, all in one region or each
/// on its own.
/// </summary>
[MemoryDiagnoser]
public class DispatchBenchmarks
{
    /// <summary>Blocks per loop iteration and instructions per iteration (see <see cref="Program"/>).</summary>
    public const int BlocksPerIteration = 16, InstructionsPerIteration = 18;

    public const int Iterations = 50_000;

    public const int Blocks = BlocksPerIteration * Iterations;

    private GuestLoop _interpreted = null!;
    private GuestLoop _compiled = null!;
    private GuestLoop _separate = null!;
    private JitCompiler _jit = null!;
    private JitCompiler _separateJit = null!;

    /// <summary>xor eax,eax (ZF = 1) and JE to block 1; blocks 1..14 a JE to the next; block 15 DEC RCX, JNZ to the top.</summary>
    public static void Program(Assembler a)
    {
        var labels = Enumerable.Range(0, BlocksPerIteration).Select(_ => a.CreateLabel()).ToArray();
        a.mov(ecx, int.MaxValue);
        a.Label(ref labels[0]);
        a.xor(eax, eax);
        a.je(labels[1]);
        for (int k = 1; k < BlocksPerIteration - 1; k++)
        {
            a.Label(ref labels[k]);
            a.je(labels[k + 1]);
        }

        a.Label(ref labels[BlocksPerIteration - 1]);
        a.dec(rcx);
        a.jne(labels[0]);
        a.hlt();
    }

    [GlobalSetup]
    public void Setup()
    {
        _interpreted = new GuestLoop(Program);
        _compiled = new GuestLoop(Program);
        _jit = new JitCompiler(new JitOptions { Threshold = 0, Synchronous = true }).Attach(_compiled.Cpu);
        _compiled.Cpu.Run(10_000);
        _compiled.Reset();
        _compiled.Cpu.Run(10_000);
        _separate = new GuestLoop(Program);
        _separateJit = new JitCompiler(new JitOptions { Threshold = 0, Synchronous = true, Regions = false }).Attach(_separate.Cpu);
        _separate.Cpu.Run(10_000);
        _separate.Reset();
        _separate.Cpu.Run(10_000);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _jit.Dispose();
        _separateJit.Dispose();
        _interpreted.Dispose();
        _compiled.Dispose();
        _separate.Dispose();
    }

    // The first instruction (MOV ECX) runs once per invocation; the budget covers whole iterations after it.
    [Benchmark(OperationsPerInvoke = Blocks)]
    public void BlockTransitionInterpreted()
    {
        _interpreted.Reset();
        _interpreted.Cpu.Run(1 + ((long)InstructionsPerIteration * Iterations));
    }

    [Benchmark(OperationsPerInvoke = Blocks)]
    public void BlockTransitionCompiled()
    {
        _compiled.Reset();
        _compiled.Cpu.Run(1 + ((long)InstructionsPerIteration * Iterations));
    }

    /// <summary>Every block compiled on its own (no regions): each transition leaves one translation for the next.</summary>
    [Benchmark(OperationsPerInvoke = Blocks)]
    public void BlockTransitionCompiledSeparately()
    {
        _separate.Reset();
        _separate.Cpu.Run(1 + ((long)InstructionsPerIteration * Iterations));
    }
}
