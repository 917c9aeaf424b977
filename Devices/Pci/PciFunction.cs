namespace Emulator.Devices.Pci;

/// <summary>
/// One PCI function's 256-byte configuration space (PCI Local Bus Specification 3.0, section 6.1):
/// the bytes, and a mask of the bits software may write. Functions here have no BARs.
/// </summary>
public sealed class PciFunction
{
    // Header offsets (PCI 3.0 figure 6-1).
    public const int VendorId = 0x00, DeviceId = 0x02, Command = 0x04, Status = 0x06, RevisionId = 0x08;
    public const int ClassCode = 0x09, HeaderType = 0x0E, SubsystemVendorId = 0x2C;

    private readonly byte[] _initial = new byte[256];
    private readonly byte[] _config = new byte[256];
    private readonly byte[] _writable = new byte[256];

    public PciFunction(string name, ushort vendor, ushort device, byte revision, uint classCode, byte headerType)
    {
        Name = name;
        SetWord(VendorId, vendor);
        SetWord(DeviceId, device);
        _initial[RevisionId] = revision;
        _initial[ClassCode] = (byte)classCode; // programming interface
        _initial[ClassCode + 1] = (byte)(classCode >> 8); // subclass
        _initial[ClassCode + 2] = (byte)(classCode >> 16); // base class
        _initial[HeaderType] = headerType;
        Reset();
    }

    public string Name { get; }

    /// <summary>Sets a byte's power-on value (before the guest runs).</summary>
    public void Initialize(int offset, byte value, byte writableMask = 0)
    {
        _initial[offset] = value;
        _writable[offset] = writableMask;
        _config[offset] = value;
    }

    public void SetWritable(int offset, int length, byte mask = 0xFF)
    {
        for (int i = 0; i < length; i++)
        {
            _writable[offset + i] = mask;
        }
    }

    public byte this[int offset] => _config[offset];

    public uint Read(int offset, int size)
    {
        uint value = 0;
        for (int i = 0; i < size && offset + i < 256; i++)
        {
            value |= (uint)_config[offset + i] << (8 * i);
        }

        return value;
    }

    public void Write(int offset, int size, uint value)
    {
        for (int i = 0; i < size && offset + i < 256; i++)
        {
            byte mask = _writable[offset + i];
            _config[offset + i] = (byte)((_config[offset + i] & ~mask & 0xFF) | (int)((value >> (8 * i)) & mask));
        }
    }

    public void Reset() => _initial.CopyTo(_config, 0);

    private void SetWord(int offset, ushort value)
    {
        _initial[offset] = (byte)value;
        _initial[offset + 1] = (byte)(value >> 8);
    }
}
