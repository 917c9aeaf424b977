namespace Emulator.Machine.Debugging;

/// <summary>Breakpoint and watchpoint kinds, numbered as GDB's Z packets number them.</summary>
public enum BreakpointKind
{
    Software = 0,
    Hardware = 1,
    WriteWatch = 2,
    ReadWatch = 3,
    AccessWatch = 4,
}
