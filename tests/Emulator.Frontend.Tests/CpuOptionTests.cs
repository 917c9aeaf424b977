using Emulator.Cpu;
using Emulator.Frontend.Cli;
using Emulator.Machine.Config;
using Xunit;

namespace Emulator.Frontend.Tests;

/// <summary><c>emu run --cpu NAME</c> and QEMU's <c>-cpu NAME</c> choose the same CPU model.</summary>
public class CpuOptionTests
{
    private static MachineConfig Native(params string[] args) => NativeConfig.Parse(args);

    [Theory]
    [InlineData("x86-64", CpuModel.Baseline)]
    [InlineData("x86-64-v2", CpuModel.V2)]
    [InlineData("x86-64-v3", CpuModel.V3)]
    [InlineData("max", CpuModel.Max)]
    [InlineData("qemu64", CpuModel.Baseline)]
    [InlineData("Nehalem", CpuModel.V2)]
    [InlineData("Haswell", CpuModel.V3)]
    [InlineData("host", CpuModel.Max)]
    public void BothSpellingsChooseTheModel(string name, CpuModel model)
    {
        Assert.Equal(model, Native("--cpu", name).CpuModel);
        Assert.Equal(model, QemuArguments.Parse(["-cpu", name]).CpuModel);
        Assert.Equal(model, QemuArguments.Parse(["--cpu", name]).CpuModel);
    }

    [Fact]
    public void WithoutTheOptionTheDefaultModel()
    {
        Assert.Equal(CpuModels.DefaultModel, Native().CpuModel);
        Assert.Equal(CpuModels.DefaultModel, QemuArguments.Parse(["-m", "32"]).CpuModel);
    }

    [Theory]
    [InlineData("Skylake-Client")]
    [InlineData("max,+avx512f")]
    public void UnknownModelsAreRefusedByName(string name)
    {
        var e = Assert.Throws<UsageException>(() => QemuArguments.Parse(["-cpu", name]));
        Assert.Contains(name, e.Message, StringComparison.Ordinal);
        Assert.Throws<UsageException>(() => Native("--cpu", name));
    }
}
