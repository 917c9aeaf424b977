using Emulator.Mmu;

namespace Emulator.Devices.Port92;

/// <summary>
/// System control port A at 0x92, the "fast A20 and reset" port of PC/AT-compatible chipsets
/// (82371AB PIIX4 datasheet, port 92h): bit 0 written as 1 resets the CPU (a rising edge), bit 1 is
/// the A20 gate, driven out through <c>setA20</c> on every write (the board lets the last write of
/// this port or of the 8042's output port decide, as QEMU wires both to one A20 line).
/// </summary>
public sealed class SystemControlPortA : IBusDevice
{
    public const ushort Port = 0x92;
    public const byte FastReset = 0x01;
    public const byte A20Gate = 0x02;

    private readonly Action<bool>? _setA20;
    private byte _value = A20Gate;

    public SystemControlPortA(Action reset, Action<bool>? setA20 = null)
    {
        ResetCpu = reset;
        _setA20 = setA20;
    }

    public string Name => "port92";

    public Action ResetCpu { get; }

    public ulong Read(ulong offset, int size) => _value;

    public void Write(ulong offset, int size, ulong value)
    {
        var b = (byte)value;
        bool risingReset = (b & FastReset) != 0 && (_value & FastReset) == 0;
        _value = (byte)(b & (A20Gate | FastReset));
        _setA20?.Invoke((b & A20Gate) != 0);
        if (risingReset)
        {
            ResetCpu();
        }
    }

    public void Reset()
    {
        _value = A20Gate;
        _setA20?.Invoke(true);
    }
}
