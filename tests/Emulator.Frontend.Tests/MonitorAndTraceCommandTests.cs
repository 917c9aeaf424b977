using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Xunit;

namespace Emulator.Frontend.Tests;

/// <summary>The monitor over TCP and the trace options, through the real <c>emu</c> process.</summary>
public partial class MonitorAndTraceCommandTests
{
    [GeneratedRegex(@"monitor on 127\.0\.0\.1:(\d+)")]
    private static partial Regex MonitorLine();

    [Fact]
    public async Task MonitorOverTcpShowsStateAndQuits()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])[Path.Combine(AppContext.BaseDirectory, "emu.dll"), "-S", "-gdb", "tcp:127.0.0.1:0", "-monitor", "tcp:127.0.0.1:0,server,nowait", "-serial", "none"])
        {
            start.ArgumentList.Add(arg);
        }

        using var emu = Process.Start(start)!;
        try
        {
            string stderr = (await emu.StandardError.ReadLineAsync()) + "\n" + (await emu.StandardError.ReadLineAsync());
            var match = MonitorLine().Match(stderr);
            Assert.True(match.Success, stderr);
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            using var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes("info registers\ninfo mtree\nquit\n"));
            using var reader = new StreamReader(stream);
            string output = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));

            Assert.Contains("(emu) ", output, StringComparison.Ordinal);
            Assert.Contains("RIP=000000000000fff0", output, StringComparison.Ordinal);
            Assert.Contains("real", output, StringComparison.Ordinal);
            Assert.Contains("03f8-03ff com1", output, StringComparison.Ordinal);
            await emu.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, emu.ExitCode);
        }
        finally
        {
            if (!emu.HasExited)
            {
                emu.Kill(entireProcessTree: true);
            }
        }
    }

    [Fact]
    public void QemuStyleTraceOptionsWriteTheTraceFile()
    {
        string trace = Path.Combine(Path.GetTempPath(), $"emu-d-{Guid.NewGuid():N}.log");
        try
        {
            var run = EmuProcess.Run("-d", "int,in_asm", "-D", trace, "-dfilter", "0xf01df+2", "-serial", "none");
            Assert.Equal(0, run.ExitCode);
            string[] lines = File.ReadAllLines(trace);
            Assert.Contains(lines, l => l.EndsWith("00000000000f01df  ud2", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("int: exception #UD", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(trace);
        }
    }

    [Theory]
    [InlineData("--trace", "bogus")]
    [InlineData("--trace-syntax", "fancy", "--trace", "exec")]
    [InlineData("--wait-gdb")]
    public void BadDebugOptionsAreRefused(params string[] args)
    {
        var run = EmuProcess.Run(["run", .. args]);
        Assert.Equal(2, run.ExitCode);
        Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void DashSWithoutAGdbStubIsRefused()
    {
        var run = EmuProcess.Run("-S");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("-S waits for a debugger", run.Stderr, StringComparison.Ordinal);
    }
}
