using Emulator.Machine.Config;
using Emulator.Machine.Debugging;
using Xunit;

namespace Emulator.Machine.Tests.Debugging;

/// <summary>The human monitor's commands on the demo guest, stopped in long mode at its UD2.</summary>
public sealed class MonitorTests : IDisposable
{
    private readonly VirtualMachine _vm;
    private readonly Debugger _debugger;
    private readonly Task<int> _run;

    public MonitorTests()
    {
        _vm = new VirtualMachine(new MachineConfig { StartPaused = true, Serial = SerialTarget.None, MemoryBytes = 64UL << 20 }, Stream.Null, TextWriter.Null);
        _debugger = new Debugger(_vm);
        _run = Task.Factory.StartNew(_vm.Run, TaskCreationOptions.LongRunning);
        _debugger.InsertBreakpoint(BreakpointKind.Software, 0xF01DF, 1);
        _debugger.Continue();
    }

    public void Dispose()
    {
        _vm.Stop(0);
        _run.Wait(TimeSpan.FromSeconds(10));
        _vm.Dispose();
    }

    private string Run(string command) => _debugger.Monitor.Execute(command);

    [Fact]
    public void InfoRegistersShowsTheLongModeState()
    {
        string text = Run("info registers");
        Assert.Contains("RIP=00000000000f01df", text, StringComparison.Ordinal);
        Assert.Contains("long-64", text, StringComparison.Ordinal);
        Assert.Contains("EFER=0000000000000500", text, StringComparison.Ordinal);
    }

    [Fact]
    public void InfoMemShowsTheIdentityMappedGigabyte()
    {
        // demo.S maps 0..1 GiB with 2 MiB pages before its #PF test.
        Assert.Equal("0000000000000000-0000000040000000 0000000040000000 -rwx\n", Run("info mem"));
    }

    [Fact]
    public void InfoTlbListsPagesWithTheirPhysicalAddress()
    {
        string[] lines = Run("info tlb").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(512, lines.Length);
        Assert.Equal("0000000000200000: 0000000000200000 -rwx 2M", lines[1]);
    }

    [Fact]
    public void InfoMtreeListsRamRomAndPorts()
    {
        string text = Run("info mtree");
        Assert.Contains("ram-below-4g", text, StringComparison.Ordinal);
        Assert.Contains("isa-bios", text, StringComparison.Ordinal);
        Assert.Contains("03f8-03ff com1", text, StringComparison.Ordinal);
    }

    [Fact]
    public void ExamineVirtualPhysicalAndInstructions()
    {
        Assert.Equal("00000000000f01df: 0f 0b\n", Run("x /2x 0xf01df"));
        Assert.Equal("00000000000ffff0: fa\n", Run("xp /1x 0xffff0"));
        Assert.StartsWith("0x00000000000f01df:  ud2", Run("x /1i 0xf01df"), StringComparison.Ordinal);
        Assert.Contains("cannot access memory", Run("x /4x 0x7fff00000000"), StringComparison.Ordinal);
    }

    [Fact]
    public void InfoIrqCountsTheExceptionsDelivered()
    {
        _debugger.RemoveBreakpoint(BreakpointKind.Software, 0xF01DF, 1);
        _debugger.InsertBreakpoint(BreakpointKind.Software, 0xF01DF + 2, 1);
        _debugger.Continue();
        string text = Run("info irq");
        Assert.Contains("0x06            1", text, StringComparison.Ordinal); // one #UD so far
    }

    [Fact]
    public async Task StepThenContinueAndQuit()
    {
        Assert.Contains("RIP=", Run("step"), StringComparison.Ordinal);
        Assert.Equal("", Run("cont"));
        Assert.Equal("", Run("quit"));
        Assert.Equal(0, await _run.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void SystemResetStartsAgainAtTheResetVector()
    {
        Assert.Equal("", Run("system_reset"));
        // The reset vector's CLI runs first; stop at the far jump after it (linear FFFFFFF1).
        _debugger.InsertBreakpoint(BreakpointKind.Software, 0xFFFF_FFF1, 1);
        Assert.Equal(DebugStopKind.Breakpoint, _debugger.Continue().Kind);
        Assert.Contains("RIP=000000000000fff1", Run("info registers"), StringComparison.Ordinal);
        Assert.Contains(" real ", Run("info registers"), StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownCommandsAndBadArgumentsAreAnsweredNotThrown()
    {
        Assert.Contains("unknown command", Run("frobnicate"), StringComparison.Ordinal);
        Assert.Contains("usage", Run("x /4x nowhere"), StringComparison.Ordinal);
        Assert.Contains("info registers", Run("help"), StringComparison.Ordinal);
        Assert.Equal("", Run("   "));
    }
}
