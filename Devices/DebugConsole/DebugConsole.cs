using Emulator.Mmu;

namespace Emulator.Devices.DebugConsole;

/// <summary>
/// The Bochs/QEMU debug console (QEMU's isa-debugcon, default port 0xE9): every byte written
/// goes to <see cref="Output"/>; a read returns 0xE9 so guests can detect the port.
/// </summary>
public sealed class DebugConsole : IBusDevice
{
    public const ushort DefaultPort = 0xE9;

    public DebugConsole(byte readBack = 0xE9)
    {
        ReadBack = readBack;
    }

    public string Name => "debugcon";

    /// <summary>What reads return (QEMU's readback property).</summary>
    public byte ReadBack { get; }

    public Action<byte>? Output { get; set; }

    public ulong Read(ulong offset, int size) => ReadBack;

    public void Write(ulong offset, int size, ulong value)
    {
        for (int i = 0; i < size; i++)
        {
            Output?.Invoke((byte)(value >> (8 * i)));
        }
    }

    public void Reset()
    {
    }
}
