using Emulator.Machine.Config;

namespace Emulator.Frontend.Cli;

/// <summary>A machine plus the front-end services around it: the GDB stub and the monitor.</summary>
public sealed record RunOptions(MachineConfig Machine)
{
    /// <summary>GDB endpoint (tcp::1234, tcp:HOST:PORT or PORT); null: no stub.</summary>
    public string? Gdb { get; init; }

    /// <summary>Monitor: stdio or tcp:HOST:PORT; null: none.</summary>
    public string? Monitor { get; init; }
}
