using System.Diagnostics;
using Xunit;

namespace Emulator.Frontend.Tests;

/// <summary>
/// The same guest binaries under <c>emu</c> and under <c>qemu-system-x86_64 -accel tcg</c>, with
/// the same command line: what the guests print about themselves must agree.
/// </summary>
public class QemuComparisonTests
{
    private static (int ExitCode, string Stdout) RunQemu(params string[] args)
    {
        var start = new ProcessStartInfo(RequiresQemuFactAttribute.QemuPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])["-accel", "tcg", "-display", "none", "-nodefaults", "-serial", "stdio", .. args])
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("qemu did not finish in 60 s");
        }

        return (process.ExitCode, stdout.Result);
    }

    private static string[] Lines(string text, Func<string, bool> keep) =>
        text.Replace("\r", "", StringComparison.Ordinal).Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(keep).ToArray();

    [RequiresQemuFact]
    public void DemoRomPrintsTheSameUnderBoth()
    {
        string[] args = ["-bios", EmuProcess.Rom("demo", "demo.bin"), "-m", "64", "-device", "isa-debug-exit,iobase=0xf4,iosize=4"];
        var qemu = RunQemu(args);
        var emu = EmuProcess.Run(["-display", "none", "-nodefaults", "-serial", "stdio", .. args]);

        Assert.Contains("demo: all checks passed", qemu.Stdout, StringComparison.Ordinal);
        Assert.Equal(Lines(qemu.Stdout, _ => true), Lines(emu.Stdout, _ => true));
        // QEMU ignores the Bochs shutdown port, so the demo's fallback write to 0xf4 ends it (status 1); emu powers off (0).
        Assert.Equal(1, qemu.ExitCode);
        Assert.Equal(0, emu.ExitCode);
    }

    [RequiresQemuFact]
    public void MultibootKernelSeesTheSameHandoffUnderBoth()
    {
        string[] args =
        [
            "-kernel", EmuProcess.Rom("multiboot", "mbtest.elf"), "-append", "cmp exit=3", "-m", "64",
            "-initrd", $"{EmuProcess.Rom("multiboot", "README.md")} first,{EmuProcess.Rom("demo", "demo.S")} second",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
        ];
        var qemu = RunQemu(args);
        var emu = EmuProcess.Run(["-display", "none", "-nodefaults", "-serial", "stdio", .. args]);

        // Addresses, memory sizes, the memory map and the loader's name legitimately differ between loaders.
        static bool Comparable(string line) => !line.Contains("mmap", StringComparison.Ordinal) && !line.Contains("mem_", StringComparison.Ordinal)
            && !line.Contains("boot_loader_name", StringComparison.Ordinal) && !line.Contains("flags=", StringComparison.Ordinal);
        static string WithoutAddresses(string line) => System.Text.RegularExpressions.Regex.Replace(line, "0x[0-9a-f]+-0x[0-9a-f]+", "ADDR");

        Assert.Equal(7, qemu.ExitCode);
        Assert.Equal(qemu.ExitCode, emu.ExitCode);
        Assert.Equal(Lines(qemu.Stdout, Comparable).Select(WithoutAddresses), Lines(emu.Stdout, Comparable).Select(WithoutAddresses));
    }
}
