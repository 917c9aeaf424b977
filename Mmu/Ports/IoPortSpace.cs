namespace Emulator.Mmu.Ports;

/// <summary>
/// The 64 KiB x86 I/O-port space. Devices are mapped over port ranges; IN and OUT reach them with
/// the offset relative to the range base. Unmapped ports read as all ones and ignore writes, as on
/// a PC whose ISA bus floats high. An access that straddles two ranges is split at the range boundary.
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
        var range = _ports[port];
        if (range is not null && port + size <= range.End)
        {
            return (uint)range.Device.Read((ulong)(port - range.Base), size) & Mask(size);
        }

        if (range is null && size == 1)
        {
            return 0xFF;
        }

        uint value = 0;
        for (int done = 0; done < size;)
        {
            var p = (ushort)(port + done);
            int piece = Piece(p, size - done);
            value |= ReadRaw(p, piece) << (8 * done);
            done += piece;
        }

        return value;
    }

    /// <summary>OUT: writes the low 1, 2 or 4 bytes of <paramref name="value"/> to <paramref name="port"/>.</summary>
    public void Write(ushort port, int size, uint value)
    {
        // IBusDevice.Write passes only the low size bytes (PhysicalMemory masks MMIO writes the same way).
        value &= Mask(size);
        Observer?.Invoke(port, size, value, true);
        WriteRaw(port, size, value);
    }

    private void WriteRaw(ushort port, int size, uint value)
    {
        var range = _ports[port];
        if (range is not null && port + size <= range.End)
        {
            range.Device.Write((ulong)(port - range.Base), size, value);
            return;
        }

        if (range is null && size == 1)
        {
            return;
        }

        for (int done = 0; done < size;)
        {
            var p = (ushort)(port + done);
            int piece = Piece(p, size - done);
            WriteRaw(p, piece, (value >> (8 * done)) & Mask(piece));
            done += piece;
        }
    }

    /// <summary>
    /// The width of the next part of an access that straddles a range boundary: the widest access
    /// that stays inside the range at <paramref name="port"/>, as QEMU's flatview dispatch splits
    /// an access at region ends. A device thus sees one access for its part (isa-debug-exit with
    /// iosize 2 sees one 16-bit write from a 32-bit OUT, not two byte writes); unmapped ports go a
    /// byte at a time.
    /// </summary>
    private int Piece(ushort port, int remaining)
    {
        var range = _ports[port];
        int fits = range is null ? 1 : Math.Min(remaining, range.End - port);
        return fits >= 4 ? 4 : fits >= 2 ? 2 : 1;
    }

    private static uint Mask(int size) => size >= 4 ? uint.MaxValue : (1u << (8 * size)) - 1;
}
