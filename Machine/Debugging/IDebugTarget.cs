namespace Emulator.Machine.Debugging;

/// <summary>
/// What a debugger front end (the GDB stub, the monitor) may do with a VM: read and write
/// architectural registers and guest-virtual memory, set breakpoints and watchpoints, run, step and
/// interrupt. Implemented by the debugger core in Machine; used from the front end's own thread.
/// All calls except <see cref="Interrupt"/> are made while the guest is stopped.
/// </summary>
public interface IDebugTarget
{
    /// <summary>Reads an architectural register (selectors zero-extended, flags as RFLAGS).</summary>
    ulong GetRegister(DebugRegister register);

    /// <summary>Writes an architectural register; false when the value is refused (e.g. a non-canonical RIP).</summary>
    bool SetRegister(DebugRegister register, ulong value);

    /// <summary>The code size the CPU decodes at now: 16, 32 or 64.</summary>
    int Bitness { get; }

    /// <summary>
    /// Reads guest-virtual memory through the guest's own page tables (without setting accessed
    /// bits or raising faults). Returns how many bytes were read before the first unmapped byte.
    /// Breakpoints never show: memory reads return the guest's own bytes.
    /// </summary>
    int ReadMemory(ulong address, Span<byte> buffer);

    /// <summary>Writes guest-virtual memory; returns how many bytes were written before the first unmapped byte.</summary>
    int WriteMemory(ulong address, ReadOnlySpan<byte> data);

    /// <summary>Inserts a breakpoint or watchpoint (GDB's Z0-Z4). False if the kind or length is not supported.</summary>
    bool InsertBreakpoint(BreakpointKind kind, ulong address, int length);

    /// <summary>Removes one (GDB's z0-z4). False if there was none.</summary>
    bool RemoveBreakpoint(BreakpointKind kind, ulong address, int length);

    /// <summary>Runs the guest until something stops it; blocks meanwhile.</summary>
    DebugStop Continue();

    /// <summary>Executes exactly one guest instruction (or enters one interrupt or exception handler) and stops.</summary>
    DebugStop Step();

    /// <summary>From any thread: makes a running <see cref="Continue"/> return with <see cref="DebugStopKind.Interrupted"/>.</summary>
    void Interrupt();

    /// <summary>Runs a monitor command (GDB's <c>monitor</c>, QEMU's HMP) and returns its output.</summary>
    string Monitor(string command);
}
