namespace Emulator.Mmu.Ports;

/// <summary>
/// The 64 KiB x86 I/O-port space. Devices are mapped over port ranges; IN and OUT reach them with
/// the offset relative to the range base. Unmapped ports read as all ones and ignore writes, as on
/// a PC whose ISA bus floats high. An access that straddles two ranges is split into bytes.
/// </summary>
public sealed class IoPortSpace
{
    private readonly PortRange?[] _ports = new PortRange?[0x10000];
    private readonly List<PortRange> _ranges = [];

    public IReadOnlyList<PortRange> Ranges => _ranges;

    /// <summary>Called for every access when set: (port, size, value, isWrite). For tracing.</summary>
    public Action<ushort, int, uint, bool>? Observer { get; set; }

    public void Map(ushort basePort, int length, IBusDevice device)
    {
        if (length <= 0 || basePort + length > 0x10000)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"port range {basePort:x}+{length} is outside the I/O space");
        }

        for (int p = basePort; p < basePort + length; p++)
        {
            if (_ports[p] is { } existing)
            {
                throw new InvalidOperationException($"port {p:x4} is already mapped to {existing.Device.Name}; cannot map {device.Name}");
            }
        }

        var range = new PortRange(basePort, length, device);
        for (int p = basePort; p < basePort + length; p++)
        {
            _ports[p] = range;
        }

        _ranges.Add(range);
    }

    public PortRange? Lookup(ushort port) => _ports[port];

    /// <summary>IN: reads 1, 2 or 4 bytes from <paramref name="port"/>.</summary>
    public uint Read(ushort port, int size)
    {
        uint value = ReadRaw(port, size);
        Observer?.Invoke(port, size, value, false);
        return value;
    }

    private uint ReadRaw(ushort port, int size)
    {
        uint value;
        var range = _ports[port];
        if (range is not null && port + size <= range.End)
        {
            value = (uint)range.Device.Read((ulong)(port - range.Base), size);
        }
        else if (range is null && size == 1)
        {
            value = 0xFF;
        }
        else
        {
            value = 0;
            for (int i = 0; i < size; i++)
            {
                value |= ReadRaw((ushort)(port + i), 1) << (8 * i);
            }
        }

        return value & (size == 4 ? uint.MaxValue : (1u << (8 * size)) - 1);
    }

    /// <summary>OUT: writes the low 1, 2 or 4 bytes of <paramref name="value"/> to <paramref name="port"/>.</summary>
    public void Write(ushort port, int size, uint value)
    {
        Observer?.Invoke(port, size, value, true);
        var range = _ports[port];
        if (range is not null && port + size <= range.End)
        {
            range.Device.Write((ulong)(port - range.Base), size, value);
        }
        else if (range is not null || size > 1)
        {
            for (int i = 0; i < size; i++)
            {
                var r = _ports[(ushort)(port + i)];
                r?.Device.Write((ulong)((ushort)(port + i) - r.Base), 1, (value >> (8 * i)) & 0xFF);
            }
        }
    }
}
