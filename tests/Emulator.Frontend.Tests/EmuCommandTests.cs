using Xunit;

namespace Emulator.Frontend.Tests;

/// <summary>End to end through the <c>emu</c> process: what a user types, what they see, the exit status.</summary>
public class EmuCommandTests
{
    [Fact]
    public void NoArgumentsBootsTheDemoGuest()
    {
        var run = EmuProcess.Run();
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("demo: long mode (64-bit)", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("demo: all checks passed", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void RunSubcommandWithNativeOptions()
    {
        var run = EmuProcess.Run("run", "--memory", "64", "--kernel", EmuProcess.Rom("multiboot", "mbtest.elf"), "--append", "exit=9",
            "--initrd", EmuProcess.Rom("demo", "demo.S"), "--serial", "stdio", "--exit-device", "iobase=0xf4,iosize=4");
        Assert.True(run.ExitCode == 19, run.Stderr + run.Stdout);
        Assert.Contains("mbtest: mods_count=1", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void QemuSpelledMultibootRunExitsWithTheKernelsCode()
    {
        var run = EmuProcess.Run("-kernel", EmuProcess.Rom("multiboot", "mbtest.elf"), "-append", "exit=5", "-serial", "stdio",
            "-display", "none", "-nodefaults", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x4", "-m", "64");
        Assert.True(run.ExitCode == 11, run.Stderr + run.Stdout);
        Assert.Contains("mbtest: all checks passed, exit value 5", run.Stdout, StringComparison.Ordinal);
    }

    /// <summary>A 4 KiB firmware image: <paramref name="code"/> at F000:F000 and a near jump to it at the reset vector.</summary>
    private static string WriteRom(IEnumerable<byte> code)
    {
        var rom = new byte[4096];
        code.ToArray().CopyTo(rom, 0);
        byte[] jump = [0xE9, 0x0D, 0xF0]; // jmp near 0xF000 from IP 0xFFF0 (next IP 0xFFF3)
        jump.CopyTo(rom, 4096 - 16);
        string path = Path.Combine(Path.GetTempPath(), $"emu-rom-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(path, rom);
        return path;
    }

    /// <summary>mov dx, 0x8900, then OUT each byte of "Shutdown" (the Bochs power-off port), then HLT.</summary>
    private static IEnumerable<byte> PowerOff()
    {
        var code = new List<byte> { 0xBA, 0x00, 0x89 };
        foreach (char c in "Shutdown")
        {
            code.AddRange([0xB0, (byte)c, 0xEE]);
        }

        code.Add(0xF4);
        return code;
    }

    [Fact]
    public void DebugconToStdio()
    {
        var code = new List<byte> { 0xBA, 0xE9, 0x00 }; // mov dx, 0xe9
        foreach (char c in "hi\n")
        {
            code.AddRange([0xB0, (byte)c, 0xEE]); // mov al, c; out dx, al
        }

        string path = WriteRom(code.Concat(PowerOff()));
        try
        {
            var run = EmuProcess.Run("-bios", path, "-debugcon", "stdio", "-nodefaults");
            Assert.True(run.ExitCode == 0, run.Stderr);
            Assert.Equal("hi\n", run.Stdout);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void TypedInputReachesComOne()
    {
        // A guest that polls LSR.DR, reads RBR, and echoes each byte upper-cased until it reads '!'.
        byte[] echo =
        [
            0xBA, 0xFD, 0x03,   // 0:  mov dx, 0x3fd (LSR)
            0xEC,               // 3:  in al, dx
            0xA8, 0x01,         // 4:  test al, 1 (data ready)
            0x74, 0xFB,         // 6:  jz 3
            0xBA, 0xF8, 0x03,   // 8:  mov dx, 0x3f8 (RBR/THR)
            0xEC,               // 11: in al, dx
            0x3C, 0x21,         // 12: cmp al, '!'
            0x74, 0x08,         // 14: je 24
            0x24, 0xDF,         // 16: and al, 0xdf (upper case)
            0xEE,               // 18: out dx, al
            0xBA, 0xFD, 0x03,   // 19: mov dx, 0x3fd
            0xEB, 0xEB,         // 22: jmp 3
        ];
        string path = WriteRom(echo.Concat(PowerOff()));
        try
        {
            var run = EmuProcess.RunWithInput("abc!", "-bios", path);
            Assert.True(run.ExitCode == 0, run.Stderr);
            Assert.Equal("ABC", run.Stdout);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData(1, "cannot read kernel", "-kernel", "/nonexistent/kernel.elf")]
    [InlineData(1, "neither a Linux bzImage nor a Multiboot kernel", "-kernel", "@demo.S")]
    [InlineData(1, "give the guest more memory", "-m", "2", "-kernel", "@mbtest.elf", "-initrd", "@demo.bin,@demo.bin,@demo.bin,@demo.bin,@demo.bin,@demo.bin,@demo.bin,@demo.bin,@demo.bin,@demo.bin,@demo.bin,@demo.bin,@demo.bin,@demo.bin,@demo.bin,@demo.bin,@demo.bin")]
    [InlineData(2, "unsupported option '-bogus'", "-bogus")]
    [InlineData(2, "bad memory size", "-m", "lots")]
    [InlineData(2, "needs a value", "-kernel")]
    [InlineData(2, "Unrecognized command or argument", "run", "--frob")]
    [InlineData(2, "iosize must be 1, 2 or 4", "run", "--exit-device", "iobase=0xf4,iosize=3")]
    public void BadInputPrintsOneClearLineAndFails(int status, string message, params string[] args)
    {
        string[] resolved = args.Select(a => string.Join(',', a.Split(',').Select(p => p.StartsWith('@') ? Resolve(p[1..]) : p))).ToArray();
        var run = EmuProcess.Run(resolved);
        Assert.Equal(status, run.ExitCode);
        string[] lines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains(message, lines[0], StringComparison.Ordinal);
        Assert.Equal("", run.Stdout);
    }

    private static string Resolve(string file) => file.EndsWith(".elf", StringComparison.Ordinal) ? EmuProcess.Rom("multiboot", file) : EmuProcess.Rom("demo", file);
}
