using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit;

namespace Emulator.Frontend.Tests.Gdb;

/// <summary>
/// The issue's end-to-end check: the real <c>emu</c> with the demo guest, stopped at reset
/// (<c>-S -gdb</c>), driven by a real <c>gdb -batch</c>. Addresses come from roms/demo/demo.S:
/// the reset vector starts with CLI (one byte), UD2 sits at linear 0xF01DF, and the #UD handler
/// counts into the dword at 0x500.
/// </summary>
public partial class EmuUnderGdbTests
{
    private sealed record Session(string Gdb, int EmuExit, string EmuStderr);

    private static Session Debug(params string[] commands)
    {
        var emuStart = new ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])[Path.Combine(AppContext.BaseDirectory, "emu.dll"), "-S", "-gdb", "tcp:127.0.0.1:0", "-serial", "none"])
        {
            emuStart.ArgumentList.Add(arg);
        }

        using var emu = Process.Start(emuStart)!;
        emu.StandardInput.Close();
        try
        {
            // "emu: waiting for gdb on 127.0.0.1:PORT (...)"
            string first = emu.StandardError.ReadLine() ?? "";
            var match = WaitingLine().Match(first);
            Assert.True(match.Success, $"unexpected first line from emu: {first}");
            var gdbStart = new ProcessStartInfo(RequiresGdbFactAttribute.GdbPath)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string arg in (string[])["-batch", "-nx", "-ex", "set architecture i386:x86-64", "-ex", $"target remote 127.0.0.1:{match.Groups[1].Value}"])
            {
                gdbStart.ArgumentList.Add(arg);
            }

            foreach (string command in commands)
            {
                gdbStart.ArgumentList.Add("-ex");
                gdbStart.ArgumentList.Add(command);
            }

            using var gdb = Process.Start(gdbStart)!;
            var output = gdb.StandardOutput.ReadToEndAsync();
            var errors = gdb.StandardError.ReadToEndAsync();
            if (!gdb.WaitForExit(TimeSpan.FromSeconds(60)))
            {
                gdb.Kill(entireProcessTree: true);
                throw new TimeoutException("gdb did not finish in 60 s");
            }

            if (!emu.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                emu.Kill(entireProcessTree: true);
                throw new TimeoutException("emu did not exit after gdb finished");
            }

            return new Session(output.Result + errors.Result, emu.ExitCode, emu.StandardError.ReadToEnd());
        }
        finally
        {
            if (!emu.HasExited)
            {
                emu.Kill(entireProcessTree: true);
            }
        }
    }

    [GeneratedRegex(@"waiting for gdb on 127\.0\.0\.1:(\d+)")]
    private static partial Regex WaitingLine();

    [RequiresGdbFact]
    public void StepAtResetAdvancesRipByTheInstructionLength()
    {
        var session = Debug("info registers rip cs", "stepi", "info registers rip", "kill");
        Assert.Matches(@"rip\s+0xfff0\s", session.Gdb);
        Assert.Matches(@"cs\s+0xf000\s", session.Gdb);
        Assert.Matches(@"rip\s+0xfff1\s", session.Gdb); // CLI is one byte
    }

    [RequiresGdbFact]
    public void BreakpointInLongModeHitsAtTheAddressAndMemoryIsUntouched()
    {
        var session = Debug("break *0xf01df", "continue", "info registers rip cr0 efer", "x/2xb 0xf01df", "stepi", "info registers rip", "monitor info mem", "kill");
        Assert.Contains("Breakpoint 1, 0x00000000000f01df", session.Gdb, StringComparison.Ordinal);
        Assert.Matches(@"rip\s+0xf01df\s", session.Gdb);
        Assert.Contains("[ PE ET NW CD PG ]", session.Gdb, StringComparison.Ordinal);
        Assert.Contains("[ LME LMA ]", session.Gdb, StringComparison.Ordinal);
        Assert.Contains("0xf01df:\t0x0f\t0x0b", session.Gdb, StringComparison.Ordinal); // UD2, not an INT3
        // The step executes UD2, which faults: RIP is now the #UD handler, not 0xf01e1.
        var rips = Regex.Matches(session.Gdb, @"rip\s+(0x[0-9a-f]+)\s").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(2, rips.Count);
        Assert.NotEqual("0xf01e1", rips[1]);
        Assert.Contains("0000000000000000-0000000040000000 0000000040000000 -rwx", session.Gdb, StringComparison.Ordinal);
    }

    [RequiresGdbFact]
    public void WatchpointCatchesTheStore()
    {
        var session = Debug("watch *(int*)0x500", "continue", "x/1dw 0x500", "kill");
        Assert.Contains("Hardware watchpoint 1: *(int*)0x500", session.Gdb, StringComparison.Ordinal);
        Assert.Contains("Old value = 0", session.Gdb, StringComparison.Ordinal);
        Assert.Contains("New value = 1", session.Gdb, StringComparison.Ordinal);
        Assert.Matches(@"0x500:\s+1", session.Gdb);
    }

    [RequiresGdbFact]
    public void MemoryReadsMatchTheRom()
    {
        byte[] rom = File.ReadAllBytes(EmuProcess.Rom("demo", "demo.bin"));
        var session = Debug("x/8xb 0xffff0", "kill");
        string expected = "0xffff0:\t" + string.Join("\t", rom[^16..^8].Select(b => $"0x{b:x2}"));
        Assert.Contains(expected, session.Gdb, StringComparison.Ordinal);
    }

    [RequiresGdbFact]
    public void ContinueToTheEndReportsTheExit()
    {
        var session = Debug("continue");
        Assert.Contains("exited normally", session.Gdb, StringComparison.Ordinal);
        Assert.Equal(0, session.EmuExit);
    }
}
