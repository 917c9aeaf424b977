namespace Emulator.Machine.Debugging;

public enum DebugStopKind
{
    /// <summary>A step finished.</summary>
    Step,

    /// <summary>Execution reached a software or hardware breakpoint (before executing it).</summary>
    Breakpoint,

    /// <summary>An instruction accessed watched memory; it has completed.</summary>
    Watchpoint,

    /// <summary><see cref="IDebugTarget.Interrupt"/> was called (GDB's Ctrl-C).</summary>
    Interrupted,

    /// <summary>The guest ended (power-off, isa-debug-exit, a halt nothing can wake); see <see cref="DebugStop.ExitStatus"/>.</summary>
    Exited,
}
