using Emulator.Devices.Interrupts;
using Emulator.Mmu;

namespace Emulator.Devices.PcTestdev;

/// <summary>
/// QEMU's pc-testdev (hw/misc/pc-testdev.c), which kvm-unit-tests and other QEMU-targeted test
/// kernels drive. Its I/O side, one device over ports 0xE0-0xEB:
/// 0xE0-0xE3 a 32-bit read-back register reachable with any access size at any byte offset;
/// 0xE4 "flush page": a 32-bit write names a guest-physical page whose host mapping QEMU drops
/// and restores (the guest sees nothing change, so here it is accepted and counted);
/// 0xE8-0xEB the same register, byte by byte.
/// The IRQ-line block at 0x2000 (24 byte-wide lines) is <see cref="IrqLines"/>, a separate range.
/// The MMIO window (<see cref="MmioBase"/>, 64 KiB) is <see cref="Memory"/>: plain storage.
/// </summary>
public sealed class PcTestdev : IBusDevice
{
    public const ushort IoBase = 0xE0;
    public const int IoLength = 12;
    public const ushort IrqPortBase = 0x2000;
    public const int IrqLineCount = 24;
    public const ulong MmioBase = 0xFF00_0000;
    public const ulong MmioLength = 0x1_0000;

    private uint _data;

    public PcTestdev(IReadOnlyList<InterruptLine?>? irqs = null)
    {
        IrqLines = new IrqLineBlock(irqs);
    }

    public string Name => "pc-testdev";

    /// <summary>How many 32-bit writes the flush-page port took.</summary>
    public int FlushRequests { get; private set; }

    public IrqLineBlock IrqLines { get; }

    public IoMemory Memory { get; } = new();

    public ulong Read(ulong offset, int size)
    {
        if (offset >= 0xE4 - IoBase && offset < 0xE8 - IoBase)
        {
            return 0; // the flush port has no read side
        }

        int shift = (int)(offset & 3) * 8;
        ulong mask = size >= 4 ? 0xFFFF_FFFFUL : (1UL << (8 * size)) - 1;
        return (_data >> shift) & mask;
    }

    public void Write(ulong offset, int size, ulong value)
    {
        if (offset >= 0xE4 - IoBase && offset < 0xE8 - IoBase)
        {
            if (size == 4)
            {
                FlushRequests++;
            }

            return;
        }

        int shift = (int)(offset & 3) * 8;
        uint mask = (uint)((size >= 4 ? 0xFFFF_FFFFUL : (1UL << (8 * size)) - 1) << shift);
        _data = (_data & ~mask) | ((uint)(value << shift) & mask);
    }

    public void Reset()
    {
        _data = 0;
        FlushRequests = 0;
        Memory.Reset();
    }

    /// <summary>The 24 interrupt lines at ports 0x2000-0x2017: a byte write sets line N to (value != 0).</summary>
    public sealed class IrqLineBlock(IReadOnlyList<InterruptLine?>? lines) : IBusDevice
    {
        private readonly bool[] _levels = new bool[IrqLineCount];

        public string Name => "pc-testdev-irq-line";

        public bool Level(int line) => _levels[line];

        public ulong Read(ulong offset, int size) => (1UL << (8 * Math.Min(size, 4))) - 1; // write-only

        public void Write(ulong offset, int size, ulong value)
        {
            if (size != 1 || offset >= IrqLineCount)
            {
                return; // only byte writes are valid
            }

            bool level = (value & 0xFF) != 0;
            _levels[offset] = level;
            if (lines is not null && (int)offset < lines.Count && lines[(int)offset] is { } line)
            {
                line.Set(level);
            }
        }

        public void Reset() => Array.Clear(_levels);
    }

    /// <summary>The MMIO window: 64 KiB of little-endian storage, any access size.</summary>
    public sealed class IoMemory : IBusDevice
    {
        private readonly byte[] _bytes = new byte[MmioLength];

        public string Name => "pc-testdev-iomem";

        public ulong Read(ulong offset, int size)
        {
            ulong value = 0;
            for (int k = 0; k < size && offset + (ulong)k < MmioLength; k++)
            {
                value |= (ulong)_bytes[offset + (ulong)k] << (8 * k);
            }

            return value;
        }

        public void Write(ulong offset, int size, ulong value)
        {
            for (int k = 0; k < size && offset + (ulong)k < MmioLength; k++)
            {
                _bytes[offset + (ulong)k] = (byte)(value >> (8 * k));
            }
        }

        public void Reset() => Array.Clear(_bytes);
    }
}
