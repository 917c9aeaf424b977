namespace Emulator.Machine.Debugging;

/// <summary>Why the guest stopped, with the watched address for watchpoints and the status for exits.</summary>
public sealed record DebugStop(DebugStopKind Kind, ulong WatchAddress = 0, BreakpointKind WatchKind = BreakpointKind.WriteWatch, int ExitStatus = 0)
{
    public static readonly DebugStop Stepped = new(DebugStopKind.Step);
    public static readonly DebugStop AtBreakpoint = new(DebugStopKind.Breakpoint);
    public static readonly DebugStop Interrupted = new(DebugStopKind.Interrupted);
}
