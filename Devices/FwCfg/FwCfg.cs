using System.Buffers.Binary;
using System.Text;
using Emulator.Mmu;

namespace Emulator.Devices.FwCfg;

/// <summary>
/// QEMU's firmware configuration device, legacy I/O interface (QEMU docs/specs/fw_cfg.rst):
/// two ports, the 16-bit selector at 0x510 and the 8-bit data port at 0x511. A 16-bit write
/// selects an item and rewinds its offset to 0; each byte read returns the next byte of the item
/// and 0 past its end or for an unknown item. Byte writes (the old write path) are ignored, as in
/// QEMU since 2.4. Selector bit 14 is the write channel and bit 15 the architecture-local
/// range. No DMA: FW_CFG_ID reports bit 0 (traditional interface) only, and 0x514 is not mapped.
/// Items: the "QEMU" signature, the ID, RAM size, CPU counts, and the file directory (0x19:
/// a big-endian count, then 64-byte entries of big-endian size and selector and a 56-byte name)
/// listing the files added with <see cref="AddFile"/> from selector 0x20 up.
/// </summary>
public sealed class FwCfg : IBusDevice
{
    public const ushort SelectorPort = 0x510;
    public const ushort DataPort = 0x511;
    public const int PortCount = 2;

    // Item selectors (QEMU include/standard-headers/linux/qemu_fw_cfg.h).
    public const ushort Signature = 0x00;
    public const ushort Id = 0x01;
    public const ushort Uuid = 0x02;
    public const ushort RamSize = 0x03;
    public const ushort NoGraphic = 0x04;
    public const ushort NbCpus = 0x05;
    public const ushort Numa = 0x0D;
    public const ushort BootMenu = 0x0E;
    public const ushort MaxCpus = 0x0F;
    public const ushort FileDir = 0x19;
    public const ushort FileFirst = 0x20;

    /// <summary>The number of file selectors (QEMU's default of 0x20 slots).</summary>
    public const int FileSlots = 0x20;

    private const ushort WriteChannel = 0x4000;
    private const ushort ArchLocal = 0x8000;
    private const int FileNameLength = 56;

    private readonly Dictionary<ushort, byte[]> _items = [];
    private readonly List<(string Name, ushort Selector, int Size)> _files = [];
    private ushort _selector;
    private int _offset;

    public FwCfg(ulong ramBytes, int cpus = 1)
    {
        _items[Signature] = "QEMU"u8.ToArray();
        _items[Id] = LittleEndian(1, 4);
        _items[Uuid] = new byte[16];
        _items[RamSize] = LittleEndian(ramBytes, 8);
        _items[NoGraphic] = LittleEndian(0, 2);
        _items[NbCpus] = LittleEndian((ulong)cpus, 2);
        _items[MaxCpus] = LittleEndian((ulong)cpus, 2);
        _items[Numa] = LittleEndian(0, 8); // no NUMA nodes
        _items[BootMenu] = LittleEndian(0, 2);
        RebuildDirectory();
    }

    public string Name => "fw_cfg";

    /// <summary>Adds a named file (at most 55 bytes of name) and lists it in the directory.</summary>
    public void AddFile(string name, byte[] contents)
    {
        if (Encoding.ASCII.GetByteCount(name) >= FileNameLength || _files.Count >= FileSlots || _files.Exists(f => f.Name == name))
        {
            throw new ArgumentException($"fw_cfg file '{name}': name too long, duplicate or no free slot", nameof(name));
        }

        var selector = (ushort)(FileFirst + _files.Count);
        _files.Add((name, selector, contents.Length));
        _items[selector] = contents;
        RebuildDirectory();
    }

    public ulong Read(ulong offset, int size)
    {
        // Only byte reads are valid (QEMU's fw_cfg_comb_valid); a wider read gets all ones and
        // moves nothing.
        if (size != 1)
        {
            return size >= 8 ? ulong.MaxValue : (1UL << (8 * size)) - 1;
        }

        if (!_items.TryGetValue((ushort)(_selector & ~WriteChannel), out byte[]? data) || _offset >= data.Length)
        {
            return 0;
        }

        return data[_offset++];
    }

    public void Write(ulong offset, int size, ulong value)
    {
        if (size == 2 && offset == 0)
        {
            _selector = (ushort)value;
            _offset = 0;
        }

        // Byte writes to the data port: the removed write path, ignored.
    }

    public void Reset()
    {
        _selector = 0;
        _offset = 0;
    }

    private void RebuildDirectory()
    {
        var dir = new byte[4 + (64 * _files.Count)];
        BinaryPrimitives.WriteUInt32BigEndian(dir, (uint)_files.Count);
        for (int k = 0; k < _files.Count; k++)
        {
            Span<byte> entry = dir.AsSpan(4 + (64 * k), 64);
            BinaryPrimitives.WriteUInt32BigEndian(entry, (uint)_files[k].Size);
            BinaryPrimitives.WriteUInt16BigEndian(entry[4..], _files[k].Selector);
            Encoding.ASCII.GetBytes(_files[k].Name, entry[8..]);
        }

        _items[FileDir] = dir;
    }

    private static byte[] LittleEndian(ulong value, int bytes)
    {
        var b = new byte[bytes];
        for (int k = 0; k < bytes; k++)
        {
            b[k] = (byte)(value >> (8 * k));
        }

        return b;
    }
}
