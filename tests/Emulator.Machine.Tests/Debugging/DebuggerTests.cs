using Emulator.Machine.Config;
using Emulator.Machine.Debugging;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Machine.Tests.Debugging;

/// <summary>The debugger core driving the demo guest: breakpoints, steps, watchpoints, memory, interrupts.</summary>
public sealed class DebuggerTests : IDisposable
{
    /// <summary>The demo's UD2 (roms/demo/demo.S; its listing puts it at linear 0xF01DF).</summary>
    private const ulong Ud2 = 0xF01DF;

    private readonly VirtualMachine _vm;
    private readonly Debugger _debugger;
    private readonly Task<int> _run;

    public DebuggerTests()
    {
        _vm = new VirtualMachine(new MachineConfig { StartPaused = true, Serial = SerialTarget.None }, Stream.Null, TextWriter.Null);
        _debugger = new Debugger(_vm);
        _run = Task.Factory.StartNew(_vm.Run, TaskCreationOptions.LongRunning);
    }

    public void Dispose()
    {
        _vm.Stop(0);
        _run.Wait(TimeSpan.FromSeconds(10));
        _vm.Dispose();
    }

    [Fact]
    public void StartsPausedAtTheResetVector()
    {
        Assert.Equal(DebugStopKind.Interrupted, _debugger.EnsureStopped().Kind);
        Assert.Equal(0xFFF0UL, _debugger.GetRegister(DebugRegister.Rip));
        Assert.Equal(0xF000UL, _debugger.GetRegister(DebugRegister.Cs));
        Assert.Equal(16, _debugger.Bitness);
    }

    [Fact]
    public void BreakpointStopsBeforeTheInstructionAndLeavesMemoryAlone()
    {
        Assert.True(_debugger.InsertBreakpoint(BreakpointKind.Software, Ud2, 1));
        var stop = _debugger.Continue();

        Assert.Equal(DebugStopKind.Breakpoint, stop.Kind);
        Assert.Equal(Ud2, _debugger.GetRegister(DebugRegister.Rip));
        Assert.Equal(64, _debugger.Bitness);
        var bytes = new byte[2];
        Assert.Equal(2, _debugger.ReadMemory(Ud2, bytes));
        Assert.Equal(new byte[] { 0x0F, 0x0B }, bytes); // UD2, not an INT3 patched in
    }

    [Fact]
    public void StepOverAFaultStopsAtTheHandlersFirstInstruction()
    {
        _debugger.InsertBreakpoint(BreakpointKind.Software, Ud2, 1);
        _debugger.Continue();
        ulong rsp = _debugger.GetRegister(DebugRegister.Rsp);

        Assert.Equal(DebugStopKind.Step, _debugger.Step().Kind);

        // UD2 faulted: the CPU is at the #UD handler with a 64-bit frame pushed (SDM 6.14.2).
        ulong rip = _debugger.GetRegister(DebugRegister.Rip);
        Assert.NotEqual(Ud2 + 2, rip);
        var frame = new byte[8];
        _debugger.ReadMemory(_debugger.GetRegister(DebugRegister.Rsp), frame);
        Assert.Equal(Ud2, BitConverter.ToUInt64(frame));
        Assert.True(_debugger.GetRegister(DebugRegister.Rsp) < rsp);
    }

    [Fact]
    public void StepAdvancesRipByTheInstructionLength()
    {
        // The demo's reset vector starts with CLI (roms/demo/demo.S, reset_vector), not a branch.
        string[] lines = _debugger.Monitor.Execute("x /2i 0xffff0").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("cli", lines[0], StringComparison.Ordinal);
        ulong length = Convert.ToUInt64(lines[1][2..18], 16) - Convert.ToUInt64(lines[0][2..18], 16);

        Assert.Equal(DebugStopKind.Step, _debugger.Step().Kind);

        Assert.Equal(0xFFF0UL + length, _debugger.GetRegister(DebugRegister.Rip));
    }

    [Fact]
    public void WriteWatchpointReportsTheStore()
    {
        // The demo counts handled exceptions at 0x500 (roms/demo/demo.S).
        // The demo zeroes the counter first, then increments it in the #UD handler.
        Assert.True(_debugger.InsertBreakpoint(BreakpointKind.WriteWatch, 0x500, 4));
        var value = new byte[4];
        var stops = new List<DebugStop>();
        for (int k = 0; k < 8 && BitConverter.ToInt32(value) != 1; k++)
        {
            stops.Add(_debugger.Continue());
            _debugger.ReadMemory(0x500, value);
        }

        Assert.All(stops, stop =>
        {
            Assert.Equal(DebugStopKind.Watchpoint, stop.Kind);
            Assert.Equal(0x500UL, stop.WatchAddress);
            Assert.Equal(BreakpointKind.WriteWatch, stop.WatchKind);
        });
        Assert.Equal(1, BitConverter.ToInt32(value));
    }

    [Fact]
    public void RemovedBreakpointsNoLongerStop()
    {
        _debugger.InsertBreakpoint(BreakpointKind.Hardware, Ud2, 1);
        Assert.True(_debugger.RemoveBreakpoint(BreakpointKind.Hardware, Ud2, 1));
        Assert.False(_debugger.RemoveBreakpoint(BreakpointKind.Hardware, Ud2, 1));
        var stop = _debugger.Continue();
        Assert.Equal(DebugStopKind.Exited, stop.Kind);
        Assert.Equal(0, stop.ExitStatus);
    }

    [Fact]
    public void DebuggerReadsDoNotSetAccessedBits()
    {
        _debugger.InsertBreakpoint(BreakpointKind.Software, Ud2, 1);
        _debugger.Continue();
        // The demo's 4-level tables: PML4 at CR3. Clear A in the PML4 entry, read through it, check it stays clear.
        ulong cr3 = _debugger.GetRegister(DebugRegister.Cr3);
        ulong pml4e = _vm.Board.Memory.Read(cr3, 8);
        _vm.Board.Memory.Write(cr3, 8, pml4e & ~0x20UL);
        var buffer = new byte[16];
        Assert.Equal(16, _debugger.ReadMemory(0x7000, buffer));
        Assert.Equal(0UL, _vm.Board.Memory.Read(cr3, 8) & 0x20);
    }

    [Fact]
    public void UnmappedMemoryReadsShort()
    {
        _debugger.InsertBreakpoint(BreakpointKind.Software, Ud2, 1);
        _debugger.Continue();
        var buffer = new byte[32];
        // The demo maps 0..1 GiB before its #PF test; 0x40000000 is not present yet.
        Assert.Equal(16, _debugger.ReadMemory(0x3FFF_FFF0, buffer));
    }

    [Fact]
    public async Task InterruptStopsARunningGuest()
    {
        var vm = new VirtualMachine(new MachineConfig { BiosPath = RomBuilder.Write(a => { var top = a.CreateLabel(); a.Label(ref top); a.inc(ax); a.jmp(top); }), Serial = SerialTarget.None }, Stream.Null, TextWriter.Null);
        var debugger = new Debugger(vm);
        var run = Task.Factory.StartNew(vm.Run, TaskCreationOptions.LongRunning);
        try
        {
            // Attaching to a running guest parks it first, as GDB expects on connect.
            Assert.Equal(DebugStopKind.Interrupted, debugger.EnsureStopped().Kind);
            var pending = Task.Run(debugger.Continue);
            await Task.Delay(100);
            debugger.Interrupt();
            var interrupted = await pending.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(DebugStopKind.Interrupted, interrupted.Kind);
            Assert.InRange(debugger.GetRegister(DebugRegister.Rip), 0xF000UL, 0xF010UL);
        }
        finally
        {
            vm.Stop(0);
            await run.WaitAsync(TimeSpan.FromSeconds(10));
            vm.Dispose();
        }
    }
}
