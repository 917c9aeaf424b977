using Emulator.Machine.Config;
using Xunit;

namespace Emulator.Machine.Tests.Boot;

/// <summary>The built-in demo guest (roms/demo) boots through all three modes and powers off.</summary>
public class DemoRomTests
{
    [Fact]
    public void DemoPassesEveryStageAndPowersOff()
    {
        var run = GuestRun.Boot(new MachineConfig());

        Assert.Equal(0, run.ExitStatus);
        string[] expected =
        [
            "demo: real mode",
            "demo: protected mode (32-bit)",
            "demo: long mode (64-bit)",
            "demo: caught #UD at 0x",
            "demo: caught #PF at cr2=0x40008000 error=0x0",
            "demo: read at 0x40008000 after the fault: 0x600df00d",
            "demo: all checks passed",
        ];
        int at = 0;
        foreach (string line in expected)
        {
            int found = run.Output.IndexOf(line, at, StringComparison.Ordinal);
            Assert.True(found >= 0, $"missing '{line}' (in order) in:\n{run.Output}\n{run.Diagnostics}");
            at = found;
        }

        Assert.DoesNotContain("FAILED", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void DemoFromFileEqualsBuiltInRom()
    {
        // The embedded ROM is the committed binary: a user who rebuilds roms/ gets what emu runs.
        Assert.Equal(File.ReadAllBytes(RepoPaths.Rom("demo", "demo.bin")), VirtualMachine.DemoRom());
    }

    [Fact]
    public void SerialToFileWritesTheGuestOutputThere()
    {
        string path = Path.Combine(Path.GetTempPath(), $"emu-serial-{Guid.NewGuid():N}.txt");
        try
        {
            var run = GuestRun.Boot(new MachineConfig { Serial = new SerialTarget(SerialTargetKind.File, path) });
            Assert.Equal(0, run.ExitStatus);
            Assert.Equal("", run.Output);
            Assert.Contains("demo: all checks passed", File.ReadAllText(path), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void TruncatedFirmwareIsRefusedWithAClearMessage()
    {
        string path = Path.Combine(Path.GetTempPath(), $"emu-bios-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(path, new byte[1000]);
        try
        {
            var e = Assert.Throws<ConfigException>(() => GuestRun.Boot(new MachineConfig { BiosPath = path }));
            Assert.Contains("multiple of 4 KiB", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void MissingFirmwareIsRefusedWithAClearMessage()
    {
        var e = Assert.Throws<ConfigException>(() => GuestRun.Boot(new MachineConfig { BiosPath = "/nonexistent/bios.bin" }));
        Assert.Contains("cannot read firmware", e.Message, StringComparison.Ordinal);
    }
}
