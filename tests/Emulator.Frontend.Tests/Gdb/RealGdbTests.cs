using System.Diagnostics;
using Emulator.Machine.Debugging;
using Xunit;
using Xunit.Abstractions;

namespace Emulator.Frontend.Tests.Gdb;

/// <summary>Real GDB against the stub and the fake target: the target description, registers, memory and stepi.</summary>
public sealed class RealGdbTests : IDisposable
{
    private readonly GdbStubFixture _stub;
    private readonly ITestOutputHelper _output;

    public RealGdbTests(ITestOutputHelper output)
    {
        _output = output;
        _stub = new GdbStubFixture(trace: line =>
        {
            try
            {
                output.WriteLine(line);
            }
            catch (InvalidOperationException)
            {
                // The test already finished (a detached guest still running).
            }
        });
    }

    public void Dispose() => _stub.Dispose();

    [RequiresGdbFact]
    public void GdbReadsRegistersMemoryAndSteps()
    {
        _stub.Target[DebugRegister.Rip] = 0x1000;
        _stub.Target.Memory[0x1000] = 0x90;
        _stub.Target.Memory[0x1001] = 0x48;
        _stub.Target.Memory[0x1002] = 0xFF;
        _stub.Target.Memory[0x1003] = 0xC0;

        string output = RunGdb(
            "set architecture i386:x86-64",
            $"target remote 127.0.0.1:{_stub.Server.LocalEndPoint!.Port}",
            "info registers rip",
            "x/4xb 0x1000",
            "stepi",
            "info registers rip",
            "p/x $cr3",
            "p/x $fctrl");

        Assert.Matches(@"rip\s+0x1000\s", output);
        Assert.Matches(@"0x1000:\s+0x90\s+0x48\s+0xff\s+0xc0", output);
        Assert.Matches($@"rip\s+0x{0x1000 + FakeDebugTarget.StepLength:x}\s", output);
        Assert.Contains("= 0x9000", output, StringComparison.Ordinal);
        Assert.Contains("= 0x37f", output, StringComparison.Ordinal);
        Assert.Equal(0x1000 + FakeDebugTarget.StepLength, _stub.Target[DebugRegister.Rip]);
    }

    private string RunGdb(params string[] commands)
    {
        var start = new ProcessStartInfo(RequiresGdbFactAttribute.GdbPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string arg in (string[])["-batch", "-nx"])
        {
            start.ArgumentList.Add(arg);
        }

        foreach (string command in commands)
        {
            start.ArgumentList.Add("-ex");
            start.ArgumentList.Add(command);
        }

        using var gdb = Process.Start(start)!;
        gdb.StandardInput.Close();
        var stdout = gdb.StandardOutput.ReadToEndAsync();
        var stderr = gdb.StandardError.ReadToEndAsync();
        if (!gdb.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            gdb.Kill(entireProcessTree: true);
            throw new TimeoutException("gdb did not finish in 60 s");
        }

        string output = stdout.Result + stderr.Result;
        _output.WriteLine(output);
        Assert.True(gdb.ExitCode == 0, $"gdb exited with {gdb.ExitCode}:\n{output}");
        return output;
    }
}
