using Emulator.Cpu;
using Emulator.Cpu.State;
using Emulator.Jit.Tiering;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.Tests.Tiering;

/// <summary>The tiering policy: hot blocks really get compiled and then run compiled, on both compile modes.</summary>
public class JitCompilerTests
{
    /// <summary>Sum 1..n in a loop: one hot block that runs n times.</summary>
    private static void SumLoop(Assembler a)
    {
        var loop = a.CreateLabel();
        a.xor(eax, eax);
        a.mov(ecx, 1000);
        a.Label(ref loop);
        a.add(rax, rcx);
        a.dec(rcx);
        a.jnz(loop);
        a.hlt();
    }

    [Fact]
    public void SynchronousEngineCompilesEveryBlockAndRunsThemCompiled()
    {
        using var m = new TestMachine().LongMode().Load(SumLoop);
        m.RunToHlt(Engine.Jit);
        Assert.Equal(500_500UL, m.Reg(CpuState.RAX));
        Assert.NotNull(m.Jit);
        long translated = m.Jit!.Statistics.BlocksCompiled + m.Jit.Statistics.BlocksReused;
        Assert.True(translated >= 2, $"translated {translated} blocks");
        Assert.Equal(0, m.Jit.Statistics.Failures);

        // The loop body ran 1000 times, all but its first entries compiled.
        Assert.True(m.Cpu.CompiledInstructions >= 2900, $"compiled instructions: {m.Cpu.CompiledInstructions}");
    }

    [Fact]
    public void BackgroundCompilerPublishesHotBlocksWhileTheCpuInterprets()
    {
        using var m = new TestMachine().LongMode().Load(SumLoop);
        using var jit = new JitCompiler(new JitOptions { Threshold = 10, ShareTranslations = false }).Attach(m.Cpu);
        Assert.Equal(StopReason.Halted, m.Cpu.Run(1_000_000));
        Assert.Equal(500_500UL, m.Reg(CpuState.RAX));
        jit.Drain();
        Assert.True(jit.Statistics.BlocksCompiled >= 1);

        // Run the loop again: now the block is compiled before it starts.
        m.S.Rip = TestMachine.CodeAddress;
        m.S.Halted = 0;
        long before = m.Cpu.CompiledInstructions;
        Assert.Equal(StopReason.Halted, m.Cpu.Run(1_000_000));
        Assert.Equal(500_500UL, m.Reg(CpuState.RAX));
        Assert.True(m.Cpu.CompiledInstructions - before >= 2900);
    }

    [Fact]
    public void CompileTimesAreRecorded()
    {
        using var m = new TestMachine().LongMode().Load(SumLoop);
        using var jit = new JitCompiler(new JitOptions { Threshold = 0, Synchronous = true, ShareTranslations = false }).Attach(m.Cpu);
        Assert.Equal(StopReason.Halted, m.Cpu.Run(100_000));
        var (total, median, p99) = jit.Statistics.CompileTimeSummary();
        Assert.True(total > 0 && median > 0 && p99 >= median);
        Assert.Equal(jit.Statistics.BlocksCompiled, jit.Statistics.CompileTimes().Length);
        Assert.Equal(0, jit.Statistics.BlocksReused);
    }

    [Fact]
    public void IdenticalCodeReusesItsTranslationAcrossMachines()
    {
        long reused = 0;
        for (int k = 0; k < 2; k++)
        {
            using var m = new TestMachine().LongMode().Load(SumLoop);
            m.RunToHlt(Engine.Jit);
            Assert.Equal(500_500UL, m.Reg(CpuState.RAX));
            reused = m.Jit!.Statistics.BlocksReused;
        }

        Assert.True(reused >= 2, $"reused {reused}");
    }
}
