using Emulator.Mmu;

namespace Emulator.Devices.Shutdown;

/// <summary>
/// The Bochs/APM shutdown port (0x8900): writing the bytes of "Shutdown" in order powers the
/// machine off (Bochs' iodev/unmapped.cc). Any other byte restarts the match.
/// </summary>
public sealed class BochsShutdown : IBusDevice
{
    public const ushort Port = 0x8900;
    private const string Magic = "Shutdown";

    private int _matched;

    public BochsShutdown(Action powerOff)
    {
        PowerOff = powerOff;
    }

    public string Name => "bochs-shutdown";

    public Action PowerOff { get; }

    public ulong Read(ulong offset, int size) => 0xFF;

    public void Write(ulong offset, int size, ulong value)
    {
        var c = (char)(byte)value;
        _matched = c == Magic[_matched] ? _matched + 1 : c == Magic[0] ? 1 : 0;
        if (_matched == Magic.Length)
        {
            _matched = 0;
            PowerOff();
        }
    }

    public void Reset() => _matched = 0;
}
