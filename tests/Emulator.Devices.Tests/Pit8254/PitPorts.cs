using Emulator.Devices.Interrupts;
using Emulator.Devices.Time;
using Emulator.Mmu.Ports;

namespace Emulator.Devices.Tests.Pit8254;

/// <summary>
/// The 8254 at 0x40-0x43 and port B at 0x61 on a hand-stepped <see cref="VirtualClock"/>, as qtest
/// drives QEMU: tests touch only ports and time. Each IRQ 0 level change is recorded with the
/// virtual time at which the run loop saw it.
/// </summary>
public sealed class PitPorts
{
    private ulong _now;

    public PitPorts()
    {
        Clock = new VirtualClock(() => _now);
        var pit = new Devices.Pit8254.Pit8254(Clock, Irq0);
        Ports.Map(Devices.Pit8254.Pit8254.BasePort, 4, pit);
        Ports.Map(Devices.Pit8254.SystemControlPortB.Port, 1, new Devices.Pit8254.SystemControlPortB(pit, Clock));
        Irq0.Sink = level => Edges.Add((_now, level));
    }

    public VirtualClock Clock { get; }

    public IoPortSpace Ports { get; } = new();

    public InterruptLine Irq0 { get; } = new("irq0");

    public List<(ulong Time, bool Level)> Edges { get; } = [];

    public ulong Now => _now;

    /// <summary>The first nanosecond of 1.193182 MHz CLK period <paramref name="tick"/>.</summary>
    public static ulong TickTime(ulong tick) => (ulong)(((UInt128)tick * 1_000_000_000 + 1_193_181) / 1_193_182);

    public byte In(ushort port) => (byte)Ports.Read(port, 1);

    public void Out(ushort port, byte value) => Ports.Write(port, 1, value);

    /// <summary>Runs to <paramref name="time"/> as a run loop would: slice to each timer deadline, fire what is due.</summary>
    public void RunTo(ulong time)
    {
        while (Clock.NextDeadline is { } next && next <= time)
        {
            _now = Math.Max(_now, next);
            Clock.RunDue();
        }

        _now = time;
        Clock.RunDue();
    }

    /// <summary>Jumps the clock without slicing (a long guest slice), then fires what is due.</summary>
    public void JumpTo(ulong time)
    {
        _now = time;
        Clock.RunDue();
    }

    public void RunToTick(ulong tick) => RunTo(TickTime(tick));

    public void Count(ushort port, int count)
    {
        Out(port, (byte)count);
        Out(port, (byte)(count >> 8));
    }

    public int ReadCount(ushort port) => In(port) | In(port) << 8;
}
