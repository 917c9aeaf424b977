using Emulator.Mmu;

namespace Emulator.Devices.DebugExit;

/// <summary>
/// QEMU's isa-debug-exit: a write of value V asks the host to exit with status (V &lt;&lt; 1) | 1,
/// so a guest test can report a result through the emulator's exit code. Reads return 0.
/// </summary>
public sealed class IsaDebugExit : IBusDevice
{
    public const ushort DefaultPort = 0x501;

    public IsaDebugExit(Action<int> exit)
    {
        Exit = exit;
    }

    public string Name => "isa-debug-exit";

    public Action<int> Exit { get; }

    public static int ExitStatus(ulong value) => (int)(((uint)value << 1) | 1);

    public ulong Read(ulong offset, int size) => 0;

    public void Write(ulong offset, int size, ulong value) => Exit(ExitStatus(value));

    public void Reset()
    {
    }
}
