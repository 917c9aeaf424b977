using Emulator.Frontend.Cli;
using Emulator.Machine.Config;
using Xunit;

namespace Emulator.Frontend.Tests;

/// <summary><c>--jit-threshold N</c> fixes the JIT's threshold; without it the threshold ramps up to the default.</summary>
public class JitThresholdOptionTests
{
    private static MachineConfig Native(params string[] args) => NativeConfig.Parse(args);

    [Fact]
    public void WithoutTheOptionTheThresholdRampsUpToTheDefault()
    {
        var config = Native();
        Assert.True(config.JitThresholdRamp);
        Assert.Equal(MachineConfig.DefaultJitThreshold, config.JitThreshold);
        Assert.True(QemuArguments.Parse(["-m", "32"]).JitThresholdRamp);
    }

    [Theory]
    [InlineData("20000")]
    [InlineData("50")]
    public void AGivenThresholdIsUsedAsItIs(string value)
    {
        var config = Native("--jit-threshold", value);
        Assert.False(config.JitThresholdRamp);
        Assert.Equal(long.Parse(value, System.Globalization.CultureInfo.InvariantCulture), config.JitThreshold);
    }

    [Fact]
    public void ANegativeThresholdIsRefused()
    {
        var result = NativeArguments.BuildRunCommand(_ => 0).Parse(["--jit-threshold", "-1"]);
        Assert.Throws<UsageException>(() => NativeArguments.ToConfig(result));
    }
}
