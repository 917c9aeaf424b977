using Emulator.Frontend.Cli;
using Emulator.Machine.Config;
using Xunit;

namespace Emulator.Frontend.Tests;

/// <summary>QEMU's spellings map onto the same configuration as emu's own options.</summary>
public class QemuArgumentsTests
{
    [Fact]
    public void TheIssueCommandLineParses()
    {
        var config = QemuArguments.Parse(
        [
            "-m", "64", "-kernel", "k.elf", "-initrd", "a arg1,b", "-append", "console=ttyS0 x", "-serial", "stdio",
            "-display", "none", "-nodefaults", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x4",
            "-chardev", "file,id=dbg,path=/tmp/x.log", "-device", "isa-debugcon,iobase=0x402,chardev=dbg",
        ]);

        Assert.Equal(64UL << 20, config.MemoryBytes);
        Assert.Equal("k.elf", config.KernelPath);
        Assert.Equal(["a arg1", "b"], config.Initrds);
        Assert.Equal("console=ttyS0 x", config.Append);
        Assert.Equal(SerialTarget.Stdio, config.Serial);
        Assert.True(config.NoReboot);
        Assert.Equal(new ExitDeviceConfig(0xF4, 4), config.ExitDevice);
        Assert.Equal(new SerialTarget(SerialTargetKind.File, "/tmp/x.log"), config.Debugcon);
        Assert.Equal((ushort)0x402, config.DebugconPort);
    }

    [Fact]
    public void DevicePcTestdevEnablesIt()
    {
        Assert.True(QemuArguments.Parse(["-device", "pc-testdev"]).PcTestdev);
        Assert.False(QemuArguments.Parse(["-m", "32"]).PcTestdev);
    }

    [Fact]
    public void NoDefaultsWithoutSerialMeansNoSerial()
    {
        Assert.Equal(SerialTarget.None, QemuArguments.Parse(["-nodefaults"]).Serial);
        Assert.Equal(SerialTarget.Stdio, QemuArguments.Parse(["-m", "32"]).Serial);
    }

    [Theory]
    [InlineData("128M", 128UL << 20)]
    [InlineData("1G", 1UL << 30)]
    [InlineData("size=256M", 256UL << 20)]
    [InlineData("48", 48UL << 20)]
    public void MemorySizes(string text, ulong bytes)
    {
        Assert.Equal(bytes, QemuArguments.Parse(["-m", text]).MemoryBytes);
    }

    [Fact]
    public void DebugconShorthand()
    {
        var config = QemuArguments.Parse(["-debugcon", "file:/tmp/d.txt"]);
        Assert.Equal(new SerialTarget(SerialTargetKind.File, "/tmp/d.txt"), config.Debugcon);
        Assert.Equal((ushort)0xE9, config.DebugconPort);
    }

    [Theory]
    [InlineData("-enable-kvm")]
    [InlineData("-hda")]
    [InlineData("-frobnicate")]
    public void UnknownOptionsAreRefusedByName(string option)
    {
        var e = Assert.Throws<UsageException>(() => QemuArguments.Parse([option, "x"]));
        Assert.Contains(option, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-display", "sdl")]
    [InlineData("-smp", "4")]
    [InlineData("-accel", "kvm")]
    [InlineData("-device", "e1000")]
    [InlineData("-serial", "tcp::4444")]
    public void BehaviourChangingValuesNotSupportedYetAreRefused(string option, string value)
    {
        Assert.ThrowsAny<Exception>(() => QemuArguments.Parse([option, value]));
    }

    [Fact]
    public void MissingValueIsReported()
    {
        var e = Assert.Throws<UsageException>(() => QemuArguments.Parse(["-kernel"]));
        Assert.Contains("-kernel", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DebugconReferringToAnUnknownChardevIsRefused()
    {
        Assert.Throws<UsageException>(() => QemuArguments.Parse(["-device", "isa-debugcon,chardev=nope"]));
    }

    [Theory]
    [InlineData("iobase=0xf4,iosize=3")]
    [InlineData("iobase=0x10000")]
    [InlineData("colour=blue")]
    [InlineData("iobase")]
    public void MalformedExitDevicePropertiesAreRefused(string properties)
    {
        Assert.Throws<ConfigException>(() => ExitDeviceConfig.Parse(properties));
    }
}
