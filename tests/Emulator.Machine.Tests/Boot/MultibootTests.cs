using Emulator.Machine.Config;
using Xunit;

namespace Emulator.Machine.Tests.Boot;

/// <summary>
/// The Multiboot test kernel (roms/multiboot) checks what the loader handed it (Multiboot 0.6.96
/// section 3.2 and 3.3) and reports through isa-debug-exit: status (value &lt;&lt; 1) | 1.
/// </summary>
public class MultibootTests
{
    private static MachineConfig Kernel(string file, string append = "", params string[] modules) => new()
    {
        KernelPath = RepoPaths.Rom("multiboot", file),
        Append = append,
        Initrds = modules,
        MemoryBytes = 64UL << 20,
        ExitDevice = new ExitDeviceConfig(0xF4, 4),
    };

    [Theory]
    [InlineData("mbtest.elf")]
    [InlineData("mbtest-aout.bin")]
    public void KernelSeesMagicMemoryCommandLineModulesAndMap(string file)
    {
        string readme = RepoPaths.Rom("multiboot", "README.md");
        string source = RepoPaths.Rom("demo", "demo.S");
        var run = GuestRun.Boot(Kernel(file, "hello exit=7", $"{readme} arg1", source));

        Assert.True(run.ExitStatus == 15, $"exit {run.ExitStatus}\n{run.Output}\n{run.Diagnostics}");
        Assert.Contains("mbtest: magic ok", run.Output, StringComparison.Ordinal);
        Assert.Contains("mbtest: bss zeroed", run.Output, StringComparison.Ordinal);
        Assert.Contains("mbtest: mem_lower=639KB mem_upper=64512KB", run.Output, StringComparison.Ordinal);
        Assert.Contains($"mbtest: cmdline={RepoPaths.Rom("multiboot", file)} hello exit=7", run.Output, StringComparison.Ordinal);
        Assert.Contains("mbtest: mods_count=2", run.Output, StringComparison.Ordinal);
        Assert.Contains($"string={readme} arg1 first=# Multib", run.Output, StringComparison.Ordinal);
        Assert.Contains($"string={source} first=/*. * de", run.Output, StringComparison.Ordinal);
        Assert.Contains("mbtest: mmap base=0x100000 length=0x3f00000 type=1", run.Output, StringComparison.Ordinal);
        Assert.Contains("mbtest: all checks passed, exit value 7", run.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", 1)]
    [InlineData("exit=0", 1)]
    [InlineData("exit=42", 85)]
    [InlineData("exit=127", 255)]
    public void ExitValueFlowsThroughTheExitDevice(string append, int status)
    {
        Assert.Equal(status, GuestRun.Boot(Kernel("mbtest.elf", append)).ExitStatus);
    }

    [Fact]
    public void ModulesArePageAlignedAfterTheKernel()
    {
        var run = GuestRun.Boot(Kernel("mbtest.elf", "", RepoPaths.Rom("demo", "demo.bin"), RepoPaths.Rom("demo", "demo.S")));
        Assert.Equal(1, run.ExitStatus);
        Assert.Contains("mbtest: module 1 0x", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void NotAMultibootImageIsRefused()
    {
        var e = Assert.Throws<ConfigException>(() => GuestRun.Boot(new MachineConfig { KernelPath = RepoPaths.Rom("demo", "demo.S") }));
        Assert.Contains("neither a Linux bzImage nor a Multiboot kernel", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ModuleLargerThanRamIsRefused()
    {
        string big = Path.Combine(Path.GetTempPath(), $"emu-big-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(big, new byte[3 << 20]);
        try
        {
            var e = Assert.Throws<ConfigException>(() => GuestRun.Boot(Kernel("mbtest.elf", "", big) with { MemoryBytes = 2UL << 20 }));
            Assert.Contains("does not fit in guest RAM", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(big);
        }
    }

    [Fact]
    public void MissingModuleIsRefused()
    {
        var e = Assert.Throws<ConfigException>(() => GuestRun.Boot(Kernel("mbtest.elf", "", "/nonexistent/module")));
        Assert.Contains("cannot read module", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void KernelThatHaltsWithInterruptsOffStopsWithAMessage()
    {
        // Without the exit device the kernel's final write goes nowhere and it halts with IF = 0.
        var run = GuestRun.Boot(Kernel("mbtest.elf") with { ExitDevice = null });
        Assert.Equal(1, run.ExitStatus);
        Assert.Contains("halted with interrupts disabled", run.Diagnostics, StringComparison.Ordinal);
    }
}
