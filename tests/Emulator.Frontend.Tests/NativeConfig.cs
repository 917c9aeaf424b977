using Emulator.Frontend.Cli;
using Emulator.Machine.Config;
using Xunit;

namespace Emulator.Frontend.Tests;

/// <summary>The machine configuration <c>emu run</c> builds from its options.</summary>
internal static class NativeConfig
{
    public static MachineConfig Parse(params string[] args)
    {
        var result = NativeArguments.BuildRunCommand(_ => 0).Parse(args);
        Assert.Empty(result.Errors);
        return NativeArguments.ToConfig(result);
    }
}
