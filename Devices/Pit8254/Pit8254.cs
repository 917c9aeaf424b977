using Emulator.Devices.Interrupts;
using Emulator.Devices.Time;
using Emulator.Mmu;

namespace Emulator.Devices.Pit8254;

/// <summary>
/// The Intel 8254 Programmable Interval Timer (datasheet order no. 231164): three 16-bit counters at
/// ports 0x40-0x42 and the control word register at 0x43, clocked at 1.193182 MHz as on a PC. Counts
/// are computed from <see cref="VirtualClock"/> time, never ticked; the only clock event is the next
/// change of counter 0's OUT, which drives IRQ 0. Counters 0 and 1 have GATE tied high; counter 2's
/// GATE is bit 0 of port 0x61 (<see cref="SystemControlPortB"/>). Ports, gates and the timer all run
/// on the vCPU thread.
/// </summary>
public sealed class Pit8254 : IBusDevice
{
    /// <summary>The input clock, Hz (PC: 14.31818 MHz / 12).</summary>
    public const ulong ClockHz = 1_193_182;

    public const ushort BasePort = 0x40;

    // Port offsets (datasheet table 1: A1, A0).
    public const int Counter0 = 0, Counter1 = 1, Counter2 = 2, ControlWord = 3;

    // Control word (datasheet figure 7): SC1..SC0, RW1..RW0, M2..M0, BCD.
    private const int SelectReadBack = 3;

    // Read-back command (datasheet figure 9): bit 5 COUNT (active low), bit 4 STATUS (active low), bits 3..1 CNT2..CNT0.
    private const int ReadBackNoCount = 0x20, ReadBackNoStatus = 0x10;

    /// <summary>Beyond this many nanoseconds behind, missed OUT edges are skipped rather than replayed.</summary>
    private const ulong CatchUpLimitNs = 1_000_000_000;

    private static int s_warmedUp;

    private readonly VirtualClock _clock;
    private readonly PitCounter[] _counters = [new(), new(), new()];
    private readonly ClockTimer _timer;

    public Pit8254(VirtualClock clock, InterruptLine irq0)
    {
        _clock = clock;
        Irq0 = irq0;
        _timer = clock.CreateTimer("pit-out0", OnTimer);
        _counters[Counter2].SetGate(false, 0); // port 0x61 bit 0 powers up clear
        if (Interlocked.Exchange(ref s_warmedUp, 1) == 0)
        {
            WarmUp();
        }
    }

    public string Name => "pit8254";

    public InterruptLine Irq0 { get; }

    /// <summary>CLK periods elapsed since the machine was built.</summary>
    public ulong Ticks => ToTicks(_clock.Nanoseconds);

    public ulong Read(ulong offset, int size)
    {
        CatchUp();
        int index = (int)(offset & 3);
        // The control word register cannot be read (datasheet table 1: "no-operation (3-state)").
        return index == ControlWord ? 0xFFu : _counters[index].Read(Ticks);
    }

    public void Write(ulong offset, int size, ulong value)
    {
        CatchUp();
        int index = (int)(offset & 3);
        byte data = (byte)value;
        ulong now = Ticks;
        if (index != ControlWord)
        {
            _counters[index].Write(data, now);
        }
        else if (data >> 6 == SelectReadBack)
        {
            for (int i = 0; i < 3; i++)
            {
                if ((data & (2 << i)) == 0)
                {
                    continue;
                }

                // Status first: when both are latched the first read returns the status (datasheet figure 11).
                if ((data & ReadBackNoStatus) == 0)
                {
                    _counters[i].LatchStatus(now);
                }

                if ((data & ReadBackNoCount) == 0)
                {
                    _counters[i].LatchCount(now);
                }
            }
        }
        else
        {
            var counter = _counters[data >> 6];
            int access = (data >> 4) & 3;
            if (access == PitCounter.AccessLatch)
            {
                counter.LatchCount(now);
            }
            else
            {
                counter.Program(access, (data >> 1) & 7, (data & 1) != 0, now);
            }
        }

        if (index == Counter0 || index == ControlWord)
        {
            UpdateOut0(now);
        }
    }

    /// <summary>Drives GATE of <paramref name="counter"/> (only counter 2's is wired, to port 0x61 bit 0).</summary>
    public void SetGate(int counter, bool level)
    {
        CatchUp();
        ulong now = Ticks;
        _counters[counter].SetGate(level, now);
        if (counter == Counter0)
        {
            UpdateOut0(now);
        }
    }

    /// <summary>The OUT pin of <paramref name="counter"/> now.</summary>
    public bool GetOut(int counter)
    {
        CatchUp();
        return _counters[counter].Out(Ticks);
    }

    public void Reset()
    {
        foreach (var counter in _counters)
        {
            counter.Reset();
        }

        _counters[Counter2].SetGate(false, Ticks);
        _timer.Cancel();
        Irq0.Set(false);
    }

    /// <summary>
    /// Runs a scratch PIT (on its own clock) once through what a guest's calibration loops do, so that
    /// .NET compiles the port paths now and not on the guest's first access. Linux's quick_pit_calibrate
    /// reads port 0x42 for the first time right after starting counter 2 from 0xFFFF and needs the MSB
    /// to still be 0xFF; compiling Read and the 128-bit tick arithmetic there stalled the vCPU for about
    /// 450 us, longer than the 214.5 us one MSB value lasts, so fast calibration always failed.
    /// </summary>
    private static void WarmUp()
    {
        ulong now = 0;
        var clock = new VirtualClock(() => now);
        var pit = new Pit8254(clock, new InterruptLine("pit-warm-up"));
        var portB = new SystemControlPortB(pit, clock);
        portB.Write(0, 1, portB.Read(0, 1) | SystemControlPortB.Gate2);
        pit.Write(ControlWord, 1, 0xB0); // counter 2, LSB then MSB, mode 0
        pit.Write(Counter2, 1, 0xFF);
        pit.Write(Counter2, 1, 0xFF);
        pit.Write(ControlWord, 1, 0x34); // counter 0, mode 2: arms the OUT0 timer
        pit.Write(Counter0, 1, 0x00);
        pit.Write(Counter0, 1, 0x10);
        for (int i = 0; i < 4; i++)
        {
            now += 1_000;
            pit.Read(Counter2, 1);
            portB.Read(0, 1);
        }

        pit.Write(ControlWord, 1, 0x80); // latch counter 2
        pit.Read(Counter2, 1);
        pit.Read(Counter2, 1);
        pit.Write(ControlWord, 1, 0xE8); // read-back status of counter 2
        pit.Read(Counter2, 1);
        now += 10_000_000;
        clock.RunDue();
        portB.Write(0, 1, 0);
    }

    private static ulong ToTicks(ulong nanoseconds) => (ulong)((UInt128)nanoseconds * ClockHz / 1_000_000_000);

    // The first nanosecond at which ToTicks reaches tick.
    private static ulong ToNanoseconds(ulong tick) => (ulong)(((UInt128)tick * 1_000_000_000 + ClockHz - 1) / ClockHz);

    // A port access between run slices sees every OUT0 edge that fell due before it, in order.
    private void CatchUp()
    {
        ulong now = _clock.Nanoseconds;
        while (_timer.IsScheduled && _timer.Deadline <= now)
        {
            ulong deadline = _timer.Deadline;
            _timer.Cancel();
            OnTimer(deadline);
        }
    }

    private void OnTimer(ulong deadline)
    {
        ulong now = _clock.Nanoseconds;
        ulong at = now > deadline && now - deadline > CatchUpLimitNs ? now : deadline;
        UpdateOut0(ToTicks(at));
    }

    private void UpdateOut0(ulong tick)
    {
        var counter = _counters[Counter0];
        Irq0.Set(counter.Out(tick));
        if (counter.NextOutEdge(tick) is { } edge)
        {
            _timer.Schedule(ToNanoseconds(edge));
        }
        else
        {
            _timer.Cancel();
        }
    }
}
