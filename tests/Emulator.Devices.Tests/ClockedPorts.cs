using Emulator.Devices.Time;
using Emulator.Mmu;
using Emulator.Mmu.Ports;

namespace Emulator.Devices.Tests;

/// <summary>
/// A port space and an MMIO bus on a hand-stepped <see cref="VirtualClock"/>, as qtest drives QEMU:
/// tests map a device, then touch only its ports or registers and move time.
/// </summary>
public sealed class ClockedPorts
{
    private readonly List<(ulong Base, ulong Length, IBusDevice Device)> _mmio = [];
    private ulong _now;

    public ClockedPorts(ulong start = 0)
    {
        _now = start;
        Clock = new VirtualClock(() => _now);
    }

    public VirtualClock Clock { get; }

    public IoPortSpace Ports { get; } = new();

    public ulong Now => _now;

    public void MapMmio(ulong guestBase, ulong length, IBusDevice device) => _mmio.Add((guestBase, length, device));

    public byte In(ushort port) => (byte)Ports.Read(port, 1);

    public uint In(ushort port, int size) => Ports.Read(port, size);

    public void Out(ushort port, byte value) => Ports.Write(port, 1, value);

    public void Out(ushort port, int size, uint value) => Ports.Write(port, size, value);

    public ulong ReadMmio(ulong address, int size = 4)
    {
        var (b, _, device) = _mmio.Single(m => address >= m.Base && address < m.Base + m.Length);
        return device.Read(address - b, size);
    }

    public void WriteMmio(ulong address, ulong value, int size = 4)
    {
        var (b, _, device) = _mmio.Single(m => address >= m.Base && address < m.Base + m.Length);
        device.Write(address - b, size, value);
    }

    /// <summary>Runs to <paramref name="time"/> as a run loop would: slice to each timer deadline, fire what is due.</summary>
    public void RunTo(ulong time)
    {
        while (Clock.NextDeadline is { } next && next <= time)
        {
            _now = Math.Max(_now, next);
            Clock.RunDue();
        }

        _now = Math.Max(_now, time);
        Clock.RunDue();
    }

    public void Advance(ulong nanoseconds) => RunTo(_now + nanoseconds);

    /// <summary>Moves time without firing timers (a guest slice that has not ended yet).</summary>
    public void JumpTo(ulong time) => _now = time;
}
