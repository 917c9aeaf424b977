using Emulator.Mmu;

namespace Emulator.Devices.Pic8259;

/// <summary>ELCR1 (0x4D0, IRQ 0-7) and ELCR2 (0x4D1, IRQ 8-15): bit set = level triggered (PIIX4 datasheet 4.1.11).</summary>
public sealed class ElcrPorts : IBusDevice
{
    private readonly DualPic8259 _pair;

    internal ElcrPorts(DualPic8259 pair)
    {
        _pair = pair;
    }

    public string Name => "elcr";

    public ulong Read(ulong offset, int size) => _pair.ReadElcr((int)(offset & 1));

    public void Write(ulong offset, int size, ulong value) => _pair.WriteElcr((int)(offset & 1), (byte)value);

    /// <summary>Reset with the pair (<see cref="PicPorts.Reset"/>).</summary>
    public void Reset()
    {
    }
}
