using Emulator.Machine.Debugging;

namespace Emulator.Frontend.Gdb;

/// <summary>
/// One register as GDB sees it: its name, width and type in the target description, and where its
/// value comes from: a register of the target, or a fixed value for state the CPU does not model yet
/// (writes to those are accepted and dropped).
/// </summary>
public sealed record GdbRegister(string Name, int BitSize, string Type, string? Group, DebugRegister? Source, ulong FixedValue = 0)
{
    public int Size => BitSize / 8;
}
