using Emulator.Mmu;

namespace Emulator.Devices.Pci;

/// <summary>
/// The PCI host bridge's configuration mechanism #1 (PCI Local Bus Specification 3.0, 3.2.2.3.2):
/// CONFIG_ADDRESS at 0xCF8 (32-bit accesses only) and CONFIG_DATA at 0xCFC-0xCFF, on a bus 0 that holds
/// the i440FX host bridge (00.0, 8086:1237) and the PIIX3 PCI-to-ISA bridge (01.0, 8086:7000) with
/// its PIRQ route registers 0x60-0x63 (82371SB datasheet, PIRQRC[A:D], 0x80 = disabled after reset).
/// Any other bus, device or function reads all ones. The byte at 0xCF9 is the PIIX3 reset control
/// register: setting RST_CPU (bit 2) resets the machine (0x06, the FADT's reset value).
/// </summary>
public sealed class PciHostBridge : IBusDevice
{
    public const ushort BasePort = 0xCF8;
    public const int PortCount = 8;
    public const uint ConfigEnable = 0x8000_0000;

    /// <summary>Reset control register bits (82371SB datasheet, RC, port 0xCF9).</summary>
    public const byte ResetSystem = 0x02, ResetCpu = 0x04, ResetFull = 0x08;

    private readonly Action _reset;
    private uint _address;
    private byte _resetControl;

    public PciHostBridge(Action reset)
    {
        _reset = reset;

        HostBridge = new PciFunction("i440fx", 0x8086, 0x1237, 0x02, 0x06_00_00, 0x00);
        HostBridge.SetWritable(PciFunction.Command, 2, 0x00); // memory and I/O decoding are always on
        HostBridge.Initialize(PciFunction.Command, 0x06);
        HostBridge.Initialize(PciFunction.Status, 0x00);
        HostBridge.Initialize(PciFunction.Status + 1, 0x02); // DEVSEL medium
        HostBridge.SetWritable(0x40, 0xC0); // chipset registers (PAM, DRB, SMRAM): stored, no effect here

        IsaBridge = new PciFunction("piix3", 0x8086, 0x7000, 0x00, 0x06_01_00, 0x00);
        IsaBridge.Initialize(PciFunction.Command, 0x07);
        IsaBridge.Initialize(PciFunction.Status + 1, 0x02);
        IsaBridge.SetWritable(0x40, 0xC0);
        for (int i = 0; i < 4; i++)
        {
            IsaBridge.Initialize(PirqRouteBase + i, 0x80, 0x8F); // routing disabled; IRQ number in bits 3:0
        }
    }

    /// <summary>PIIX3 PIRQRC[A:D]: bit 7 disables the route, bits 3:0 give the ISA IRQ.</summary>
    public const int PirqRouteBase = 0x60;

    public string Name => "pci-host";

    public PciFunction HostBridge { get; }

    public PciFunction IsaBridge { get; }

    /// <summary>The ISA IRQ PIRQ <paramref name="index"/> (A-D = 0-3) is routed to, or null when disabled.</summary>
    public int? PirqRoute(int index)
    {
        byte value = IsaBridge[PirqRouteBase + index];
        return (value & 0x80) != 0 ? null : value & 0x0F;
    }

    public ulong Read(ulong offset, int size)
    {
        if (offset == 0 && size == 4)
        {
            return _address;
        }

        if (offset == 1 && size == 1)
        {
            return _resetControl;
        }

        if (offset >= 4 && Selected() is { } function)
        {
            return function.Read((int)(_address & 0xFC) + (int)(offset - 4), size);
        }

        return size == 4 ? 0xFFFF_FFFFUL : (1UL << (8 * size)) - 1;
    }

    public void Write(ulong offset, int size, ulong value)
    {
        if (offset == 0 && size == 4)
        {
            _address = (uint)value & 0x80FF_FFFC;
        }
        else if (offset == 1 && size == 1)
        {
            bool start = (value & ResetCpu) != 0 && (_resetControl & ResetCpu) == 0;
            _resetControl = (byte)(value & (ResetSystem | ResetFull));
            if (start)
            {
                _reset();
            }
        }
        else if (offset >= 4 && Selected() is { } function)
        {
            function.Write((int)(_address & 0xFC) + (int)(offset - 4), size, (uint)value);
        }
    }

    public void Reset()
    {
        _address = 0;
        _resetControl = 0;
        HostBridge.Reset();
        IsaBridge.Reset();
    }

    private PciFunction? Selected()
    {
        if ((_address & ConfigEnable) == 0 || ((_address >> 16) & 0xFF) != 0 || ((_address >> 8) & 7) != 0)
        {
            return null;
        }

        return ((_address >> 11) & 0x1F) switch
        {
            0 => HostBridge,
            1 => IsaBridge,
            _ => null,
        };
    }
}
