using System.Reflection;
using Xunit;

namespace Emulator.Cpu.Tests;

/// <summary>
/// ./emu precompiles Emulator.Cpu with ReadyToRun except the run loop, whose methods carry
/// <c>System.Runtime.BypassReadyToRunAttribute</c> so that the runtime jits them with a profile
/// (Cpu/BypassReadyToRunAttribute.cs; precompiled, a Linux boot took 0.2 s longer). crossgen2
/// matches the attribute by namespace and name and says nothing when none matches, so a renamed
/// attribute or a dropped one would only show as a slower boot.
/// </summary>
public class BypassReadyToRunTests
{
    [Theory]
    [InlineData("RunCore")]
    [InlineData("RunChain")]
    [InlineData("RunCompiled")]
    [InlineData("NextTranslation")]
    [InlineData("Chained")]
    [InlineData("CanRunTranslation")]
    public void TheRunLoopStaysOutOfTheReadyToRunImage(string name)
    {
        var method = typeof(X86Cpu).GetMethod(name, BindingFlags.Instance | BindingFlags.NonPublic);

        Assert.NotNull(method);
        Assert.Contains(method.CustomAttributes, a => a.AttributeType.FullName == "System.Runtime.BypassReadyToRunAttribute");
    }
}
