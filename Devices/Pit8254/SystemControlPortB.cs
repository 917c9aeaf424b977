using Emulator.Devices.Time;
using Emulator.Mmu;

namespace Emulator.Devices.Pit8254;

/// <summary>
/// Port 0x61, "system control port B" (IBM PC/AT Technical Reference, 8042/port B; QEMU hw/audio/pcspk.c):
/// bit 0 GATE of PIT counter 2, bit 1 speaker data (ANDed with OUT2 to drive the speaker, which is not
/// emulated), bits 2-3 parity and channel-check enables (stored only), bit 4 the refresh-request toggle
/// (flips every 15.085 us, which BIOSes use for short delays), bit 5 OUT2. Bits 6-7 (parity and channel
/// check status) read 0: this board has no such errors.
/// </summary>
public sealed class SystemControlPortB : IBusDevice
{
    public const ushort Port = 0x61;

    // Bits (PC/AT Technical Reference, port 61h).
    public const byte Gate2 = 0x01, SpeakerData = 0x02, ParityCheckDisable = 0x04, ChannelCheckDisable = 0x08;
    public const byte RefreshToggle = 0x10, Out2 = 0x20;

    private const byte Writable = Gate2 | SpeakerData | ParityCheckDisable | ChannelCheckDisable;

    /// <summary>The DRAM refresh request period, ns (PIT counter 1 at count 18 on a PC/AT).</summary>
    private const ulong RefreshPeriodNs = 15_085;

    private readonly Pit8254 _pit;
    private readonly VirtualClock _clock;
    private byte _value;

    public SystemControlPortB(Pit8254 pit, VirtualClock clock)
    {
        _pit = pit;
        _clock = clock;
    }

    public string Name => "port61";

    public ulong Read(ulong offset, int size)
    {
        int value = _value;
        if ((_clock.Nanoseconds / RefreshPeriodNs & 1) != 0)
        {
            value |= RefreshToggle;
        }

        if (_pit.GetOut(Pit8254.Counter2))
        {
            value |= Out2;
        }

        return (uint)value;
    }

    public void Write(ulong offset, int size, ulong value)
    {
        _value = (byte)(value & Writable);
        _pit.SetGate(Pit8254.Counter2, (_value & Gate2) != 0);
    }

    public void Reset()
    {
        _value = 0;
        _pit.SetGate(Pit8254.Counter2, false);
    }
}
