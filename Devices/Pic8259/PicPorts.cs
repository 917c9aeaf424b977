using Emulator.Mmu;

namespace Emulator.Devices.Pic8259;

/// <summary>One chip's two ports: offset 0 is A0 = 0 (ICW1, OCW2, OCW3, IRR/ISR/poll), offset 1 is A0 = 1 (ICW2-4, OCW1).</summary>
public sealed class PicPorts : IBusDevice
{
    private readonly DualPic8259 _pair;
    private readonly Pic8259 _chip;

    internal PicPorts(string name, DualPic8259 pair, Pic8259 chip)
    {
        Name = name;
        _pair = pair;
        _chip = chip;
    }

    public string Name { get; }

    public ulong Read(ulong offset, int size) => _pair.Read(_chip, offset);

    public void Write(ulong offset, int size, ulong value) => _pair.Write(_chip, offset, (byte)value);

    /// <summary>The pair resets as one through <see cref="DualPic8259.Reset"/>, from the master's ports.</summary>
    public void Reset()
    {
        if (_chip.IsMaster)
        {
            _pair.Reset();
        }
    }
}
