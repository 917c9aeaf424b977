using Emulator.Mmu;
using static Emulator.Devices.Apic.LocalApicRegisters;

namespace Emulator.Devices.Apic;

/// <summary>
/// The 82093AA I/O APIC (datasheet order no. 290566): IOREGSEL at offset 0x00 and IOWIN at 0x10 of its
/// MMIO window, 24 input pins, and a redirection table that turns pin changes into interrupt messages
/// for the <see cref="LocalApic"/>. Edge entries send on an asserted edge; level entries send while the
/// pin is asserted and Remote IRR is clear, and Remote IRR clears on the local APIC's EOI broadcast of
/// the entry's vector (datasheet 3.2.4). There is one CPU, so any physical destination 0 or 0xFF, or a
/// non-zero logical destination, reaches it. ExtINT and SMI entries are not delivered (noted below).
/// Pins may be driven from any thread; everything runs under one lock, taken before the local APIC's.
/// </summary>
public sealed class IoApic : IBusDevice
{
    public const ulong DefaultBase = 0xFEC0_0000;
    public const ulong MmioLength = 0x1000;
    public const int PinCount = 24;

    /// <summary>The ID the board gives it (the local APIC has 0); the MADT says the same.</summary>
    public const byte DefaultId = 1;

    // Register indexes (datasheet 3.2).
    public const int RegisterId = 0x00, RegisterVersion = 0x01, RegisterArbitration = 0x02, RegisterRedirection = 0x10;

    /// <summary>Version 0x11, maximum redirection entry 23 in bits 23:16.</summary>
    public const uint VersionValue = 0x0017_0011;

    // Redirection entry bits (datasheet 3.2.4).
    public const ulong EntryDeliveryStatus = 1UL << 12, EntryPolarityLow = 1UL << 13, EntryRemoteIrr = 1UL << 14;
    public const ulong EntryLevel = 1UL << 15, EntryMasked = 1UL << 16, EntryLogical = 1UL << 11;
    private const ulong EntryWritable = 0xFF00_0000_0001_AFFFUL; // vector, mode, dest mode, polarity, trigger, mask, destination

    private readonly object _lock = new();
    private readonly LocalApic _apic;
    private readonly ulong[] _entries = new ulong[PinCount];
    private readonly bool[] _pins = new bool[PinCount];
    private byte _select;
    private byte _id = DefaultId;

    public IoApic(LocalApic apic)
    {
        _apic = apic;
        apic.EoiBroadcast += OnEoi;
        Reset();
    }

    public string Name => "ioapic";

    /// <summary>A redirection entry as the guest programmed it (for the monitor and tests).</summary>
    public ulong Entry(int pin)
    {
        lock (_lock)
        {
            return _entries[pin];
        }
    }

    public ulong Read(ulong offset, int size)
    {
        lock (_lock)
        {
            return offset switch
            {
                0x00 => _select,
                0x10 => ReadRegister(_select),
                _ => 0,
            };
        }
    }

    public void Write(ulong offset, int size, ulong value)
    {
        lock (_lock)
        {
            if (offset == 0x00)
            {
                _select = (byte)value;
            }
            else if (offset == 0x10)
            {
                WriteRegister(_select, (uint)value);
            }
        }
    }

    public void Reset()
    {
        lock (_lock)
        {
            // Datasheet 3.2.4: every entry masked after reset.
            for (int i = 0; i < PinCount; i++)
            {
                _entries[i] = EntryMasked;
            }

            _select = 0;
            _id = DefaultId;
        }
    }

    /// <summary>The wire on input <paramref name="pin"/> goes to <paramref name="level"/> (high = electrically high).</summary>
    public void SetPin(int pin, bool level)
    {
        lock (_lock)
        {
            bool wasAsserted = Asserted(pin);
            _pins[pin] = level;
            bool asserted = Asserted(pin);
            ulong entry = _entries[pin];
            if ((entry & EntryLevel) != 0 ? asserted : asserted && !wasAsserted)
            {
                Service(pin);
            }
        }
    }

    private bool Asserted(int pin) => _pins[pin] ^ ((_entries[pin] & EntryPolarityLow) != 0);

    private uint ReadRegister(int index)
    {
        if (index >= RegisterRedirection && index < RegisterRedirection + (2 * PinCount))
        {
            ulong entry = _entries[(index - RegisterRedirection) >> 1];
            return (index & 1) == 0 ? (uint)entry : (uint)(entry >> 32);
        }

        return index switch
        {
            RegisterId or RegisterArbitration => (uint)_id << 24,
            RegisterVersion => VersionValue,
            _ => 0,
        };
    }

    private void WriteRegister(int index, uint value)
    {
        if (index == RegisterId)
        {
            _id = (byte)((value >> 24) & 0x0F);
            return;
        }

        if (index < RegisterRedirection || index >= RegisterRedirection + (2 * PinCount))
        {
            return; // version and arbitration are read-only
        }

        int pin = (index - RegisterRedirection) >> 1;
        ulong old = _entries[pin];
        ulong written = (index & 1) == 0 ? (old & ~0xFFFF_FFFFUL) | value : (old & 0xFFFF_FFFFUL) | ((ulong)value << 32);
        ulong entry = (written & EntryWritable) | (old & EntryRemoteIrr);
        if ((entry & EntryLevel) == 0)
        {
            entry &= ~EntryRemoteIrr; // Remote IRR is undefined for edge entries; keep it clear
        }

        _entries[pin] = entry;

        // A level input still asserted when its entry is unmasked is delivered then.
        if ((entry & EntryLevel) != 0 && Asserted(pin))
        {
            Service(pin);
        }
    }

    // Sends pin's message if the entry lets it through.
    private void Service(int pin)
    {
        ulong entry = _entries[pin];
        bool level = (entry & EntryLevel) != 0;
        if ((entry & EntryMasked) != 0 || (level && (entry & EntryRemoteIrr) != 0) || !ReachesTheCpu(entry))
        {
            return;
        }

        uint mode = (uint)(entry >> 8) & 7;
        if (mode is not (DeliveryFixed or DeliveryLowest or DeliveryNmi))
        {
            return; // SMI, INIT and ExtINT messages are not modelled (the 8259A reaches the CPU through LINT0)
        }

        if (level && mode != DeliveryNmi)
        {
            _entries[pin] |= EntryRemoteIrr; // until the local APIC's EOI for this vector
        }

        _apic.Deliver(mode, (byte)entry, level && mode != DeliveryNmi);
    }

    private static bool ReachesTheCpu(ulong entry)
    {
        byte destination = (byte)(entry >> 56);
        return (entry & EntryLogical) != 0 ? destination != 0 : destination is 0 or 0xFF;
    }

    private void OnEoi(byte vector)
    {
        lock (_lock)
        {
            for (int pin = 0; pin < PinCount; pin++)
            {
                ulong entry = _entries[pin];
                if ((entry & EntryRemoteIrr) != 0 && (byte)entry == vector)
                {
                    _entries[pin] = entry & ~EntryRemoteIrr;
                    if (Asserted(pin))
                    {
                        Service(pin); // still asserted: the interrupt comes again
                    }
                }
            }
        }
    }
}
