namespace Emulator.Frontend.Gdb;

/// <summary>How a session with one client ended.</summary>
public enum GdbSessionEnd
{
    /// <summary><c>D</c>: the guest runs on without a debugger.</summary>
    Detached,

    /// <summary><c>k</c>: the client asked the emulator to exit.</summary>
    Killed,

    /// <summary>The connection closed without a detach; the guest stays as it was (stopped or running).</summary>
    Disconnected,

    /// <summary>The guest ended; the client got a <c>W</c> reply.</summary>
    Exited,
}
