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
    public void ARampedThresholdDoublesEveryStepOfHotBlocksUpToTheThreshold()
    {
        // Twelve loops one after another, each a block of its own entered 3,000 times: with a
        // threshold starting at 500 and doubling every 4 hot blocks, the first four are compiled
        // after 500 entries, the next four after 1,000, the last four after 2,000.
        using var m = new TestMachine().LongMode();
        using var jit = new JitCompiler(new JitOptions { Threshold = 20_000, RampStart = 500, RampStep = 4, Synchronous = true, Regions = false }).Attach(m.Cpu);
        Assert.Equal(500, jit.Threshold);
        m.Load(a =>
        {
            for (int n = 0; n < 12; n++)
            {
                var loop = a.CreateLabel();
                a.mov(ecx, 3000);
                a.Label(ref loop);
                a.add(rax, rcx);
                a.dec(rcx);
                a.jnz(loop);
            }

            a.hlt();
        });

        Assert.Equal(StopReason.Halted, m.Cpu.Run(1_000_000));

        Assert.Equal(4000, jit.Threshold); // 12 blocks of loop bodies got hot: three doublings
        // Instructions run compiled: 3 per entry after the threshold, per loop.
        long expected = (4 * (3000 - 500) * 3) + (4 * (3000 - 1000) * 3) + (4 * (3000 - 2000) * 3);
        Assert.InRange(m.Cpu.CompiledInstructions, expected - 100, expected + 100);
        Assert.Equal(12UL * 3000 * 3001 / 2, m.Reg(CpuState.RAX));
    }

    [Fact]
    public void WithoutARampTheThresholdStaysPut()
    {
        using var jit = new JitCompiler(new JitOptions { Threshold = 20_000, Synchronous = true });
        Assert.Equal(20_000, jit.Threshold);
        using var ramped = new JitCompiler(new JitOptions { Threshold = 300, RampStart = 500, Synchronous = true });
        Assert.Equal(300, ramped.Threshold); // a ramp that would start above the threshold does not apply
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

    /// <summary>
    /// Sum 1..n in a loop of two blocks (a Jcc that is never taken splits the body), so neither is
    /// a one-block loop: both get the quick tier.
    /// </summary>
    private static void TwoBlockSumLoop(Assembler a)
    {
        var loop = a.CreateLabel();
        var skip = a.CreateLabel();
        a.xor(eax, eax);
        a.mov(ecx, 1000);
        a.Label(ref loop);
        a.add(rax, rcx);
        a.test(ecx, 0);
        a.jnz(skip);
        a.Label(ref skip);
        a.dec(rcx);
        a.jnz(loop);
        a.hlt();
    }

    [Fact]
    public void BlocksGetTheQuickTierAndOneBlockLoopsTheOptimizedOne()
    {
        using var m = new TestMachine().LongMode().Load(SumLoop);
        using var jit = new JitCompiler(new JitOptions { Threshold = 0, Synchronous = true, ShareTranslations = false }).Attach(m.Cpu);
        Assert.Equal(StopReason.Halted, m.Cpu.Run(100_000));
        Assert.Equal(500_500UL, m.Reg(CpuState.RAX));

        // Blocks: the set-up (quick), the loop (optimized at once), the HLT (quick).
        Assert.Equal(3, jit.Statistics.BlocksCompiled);
        Assert.Equal(2, jit.Statistics.BlocksCompiledQuickly);
        Assert.Equal(0, jit.PromoteHotBlocks());
    }

    [Fact]
    public void OptimizeThresholdZeroCompilesEveryBlockOptimized()
    {
        using var m = new TestMachine().LongMode().Load(TwoBlockSumLoop);
        using var jit = new JitCompiler(new JitOptions { Threshold = 0, Synchronous = true, ShareTranslations = false, OptimizeThreshold = 0 }).Attach(m.Cpu);
        Assert.Equal(StopReason.Halted, m.Cpu.Run(100_000));
        Assert.Equal(500_500UL, m.Reg(CpuState.RAX));
        Assert.True(jit.Statistics.BlocksCompiled >= 3);
        Assert.Equal(0, jit.Statistics.BlocksCompiledQuickly);
        Assert.Equal(0, jit.PromoteHotBlocks());
    }

    [Fact]
    public void OftenEnteredQuickBlocksArePromotedToOptimizedCode()
    {
        // Regions off: a two-block loop would become a region (always optimized), not two quick blocks.
        using var m = new TestMachine().LongMode().Load(TwoBlockSumLoop);
        using var jit = new JitCompiler(new JitOptions { Threshold = 0, Synchronous = true, ShareTranslations = false, OptimizeThreshold = 500, Regions = false }).Attach(m.Cpu);
        Assert.Equal(StopReason.Halted, m.Cpu.Run(100_000));
        Assert.Equal(500_500UL, m.Reg(CpuState.RAX));
        long quick = jit.Statistics.BlocksCompiledQuickly;
        Assert.Equal(jit.Statistics.BlocksCompiled, quick);

        // The two loop blocks ran 1000 times each; the set-up and HLT blocks once.
        Assert.Equal(2, jit.PromoteHotBlocks());
        Assert.Equal(2, jit.Statistics.BlocksPromoted);
        Assert.Equal(quick + 2, jit.Statistics.BlocksCompiled);
        Assert.Equal(0, jit.PromoteHotBlocks());

        // The optimized translations run the loop again, to the same result.
        m.S.Rip = TestMachine.CodeAddress;
        m.S.Halted = 0;
        long before = m.Cpu.CompiledInstructions;
        Assert.Equal(StopReason.Halted, m.Cpu.Run(100_000));
        Assert.Equal(500_500UL, m.Reg(CpuState.RAX));
        Assert.True(m.Cpu.CompiledInstructions - before >= 4900, $"compiled instructions: {m.Cpu.CompiledInstructions - before}");
        Assert.Equal(quick + 2, jit.Statistics.BlocksCompiled);
    }

    [Fact]
    public void BackgroundCompilerPromotesHotBlocksWhenIdle()
    {
        using var m = new TestMachine().LongMode().Load(TwoBlockSumLoop);
        using var jit = new JitCompiler(new JitOptions { Threshold = 10, ShareTranslations = false, OptimizeThreshold = 100, Regions = false }).Attach(m.Cpu);
        Assert.Equal(StopReason.Halted, m.Cpu.Run(1_000_000));
        Assert.Equal(500_500UL, m.Reg(CpuState.RAX));
        jit.Drain();

        // The idle thread looks for blocks to promote every few milliseconds; wait for it (bounded).
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (jit.Statistics.BlocksPromoted < 2 && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(5);
        }

        Assert.Equal(2, jit.Statistics.BlocksPromoted);
        Assert.Equal(0, jit.Statistics.Failures);
    }

    [Fact]
    public async Task DisposeDropsQueuedBlocksAndWaitsOnlyForTheCompileInProgress()
    {
        // The first compile is held in its dump callback while the CPU makes the loop's other block
        // hot; Dispose drops that one from the queue and ends the thread after the first.
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        int dumps = 0;
        using var m = new TestMachine().LongMode().Load(TwoBlockSumLoop);
        var jit = new JitCompiler(new JitOptions
        {
            Threshold = 10,
            ShareTranslations = false,
            Regions = false,
            Dump = _ =>
            {
                if (Interlocked.Increment(ref dumps) == 1)
                {
                    entered.Set();
                    release.Wait();
                }
            },
        }).Attach(m.Cpu);
        Assert.Equal(StopReason.Halted, m.Cpu.Run(1_000_000));
        Assert.Equal(500_500UL, m.Reg(CpuState.RAX));
        Assert.True(entered.Wait(TimeSpan.FromSeconds(30)));
        Assert.Equal(2, jit.PendingWork);

        var disposed = Task.Run(jit.Dispose);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (jit.PendingWork > 1 && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(1);
        }

        Assert.Equal(1, jit.PendingWork);
        release.Set();
        await disposed.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, jit.Statistics.BlocksCompiled);
        Assert.Equal(1, Volatile.Read(ref dumps));
    }
}
