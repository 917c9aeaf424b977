using Emulator.Jit.Tiering;
using Xunit;

namespace Emulator.Jit.Tests.Tiering;

/// <summary>
/// The compiler thread's warm-up swallows its own failures (a failed warm-up only costs the first
/// real blocks time), so these check that what it plans to compile compiles, and still covers the
/// paths the first hot guest loops take.
/// </summary>
public class WarmUpTests
{
    [Fact]
    public void EveryPlannedBlockCompilesInItsTier()
    {
        foreach (var (block, optimize) in WarmUp.Plan())
        {
            var error = Record.Exception(() => WarmUp.Compile(block, inline: true, optimize, dump: null));
            Assert.True(error is null, $"warm-up block at {block.Key.Linear:x} ({block.Key.Bitness}-bit, optimize {optimize}): {error}");
        }
    }

    [Fact]
    public void ThePlanCompilesOneBlockLoopsOptimizedInBothWidths()
    {
        var loops = WarmUp.Plan().Where(p => p.Optimize && JitCompiler.IsOneBlockLoop(p.Block)).Select(p => p.Block.Key.Bitness).ToList();

        Assert.Contains(64, loops);
        Assert.Contains(32, loops);
    }

    [Fact]
    public void OneLoopCarriesItsCompareBackSymbolically()
    {
        var listings = new List<string>();
        foreach (var (block, optimize) in WarmUp.Plan().Where(p => p.Optimize))
        {
            WarmUp.Compile(block, inline: true, optimize, listings.Add);
        }

        Assert.Contains(listings, l => l.Contains("symbolically", StringComparison.Ordinal));
    }
}
