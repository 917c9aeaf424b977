using Emulator.Devices.Time;
using Emulator.Mmu;

namespace Emulator.Devices.Hpet;

/// <summary>
/// The High Precision Event Timer (IA-PC HPET specification 1.0a) at 0xFED00000: a 64-bit main counter
/// at 10 MHz (a period of 100,000,000 fs, chosen as a round figure within the spec's limit of 100 ns),
/// read from the <see cref="VirtualClock"/>, and three comparators with one-shot and periodic modes,
/// 32-bit mode, edge or level interrupts (level ones latch in the general interrupt status register,
/// write 1 to clear) routed to I/O APIC pins 20-23, or with legacy replacement timer 0 to IRQ 0 and
/// timer 1 to IRQ 8. FSB (MSI) delivery is not offered. Interrupts leave through <c>setLine(line,
/// level)</c>: lines 0-23 are I/O APIC pins, <see cref="LegacyIrq0"/> and <see cref="LegacyIrq8"/> the
/// legacy routes, which the board leads where the MADT says. vCPU thread only.
/// </summary>
public sealed class Hpet : IBusDevice
{
    public const ulong DefaultBase = 0xFED0_0000;
    public const ulong MmioLength = 0x1000;
    public const int TimerCount = 3;
    public const ulong PeriodFemtoseconds = 100_000_000;
    public const ulong NanosPerTick = PeriodFemtoseconds / 1_000_000;
    public const int LegacyIrq0 = -1, LegacyIrq8 = -2;

    /// <summary>I/O APIC pins a comparator may be routed to (Tn_INT_ROUTE_CAP): 20-23.</summary>
    public const uint RouteCapability = 0x00F0_0000;

    // Register offsets (spec table 2).
    public const int Capabilities = 0x000, Configuration = 0x010, InterruptStatus = 0x020, MainCounter = 0x0F0, TimerBase = 0x100;

    // General configuration bits.
    public const ulong Enable = 1, LegacyReplacement = 2;

    // Timer configuration bits (spec 2.3.8).
    public const ulong TnLevel = 1 << 1, TnIntEnable = 1 << 2, TnPeriodic = 1 << 3, TnPeriodicCap = 1 << 4, TnSize64Cap = 1 << 5;
    public const ulong TnValSet = 1 << 6, Tn32Bit = 1 << 8, TnRouteMask = 0x1F << 9;
    private const ulong TnWritable = TnLevel | TnIntEnable | TnPeriodic | TnValSet | Tn32Bit | TnRouteMask;

    private readonly VirtualClock _clock;
    private readonly Action<int, bool> _setLine;
    private readonly Comparator[] _timers = new Comparator[TimerCount];
    private ulong _config, _status;
    private ulong _counterAtStart, _startNs;

    private sealed class Comparator
    {
        public ulong Config, Value, Period;
        public ClockTimer Timer = null!;
        public int Line = int.MinValue; // the line currently driven high, if any
    }

    public Hpet(VirtualClock clock, Action<int, bool> setLine)
    {
        _clock = clock;
        _setLine = setLine;
        for (int i = 0; i < TimerCount; i++)
        {
            int n = i;
            _timers[i] = new Comparator { Timer = clock.CreateTimer($"hpet-timer{i}", _ => Fire(n)) };
        }

        Reset();
    }

    public string Name => "hpet";

    public ulong Read(ulong offset, int size)
    {
        ulong value = ReadRegister((int)(offset & ~7UL));
        return size == 8 ? value : (value >> (int)(8 * (offset & 7))) & ((1UL << (8 * size)) - 1);
    }

    public void Write(ulong offset, int size, ulong value)
    {
        int reg = (int)(offset & ~7UL);
        int shift = (int)(8 * (offset & 7));
        ulong mask = size == 8 ? ulong.MaxValue : ((1UL << (8 * size)) - 1) << shift;
        if (reg >= TimerBase && reg < TimerBase + (0x20 * TimerCount) && ((reg - TimerBase) & 0x1F) == 8)
        {
            // The comparator takes 32-bit halves on its own: each half merges into the comparator
            // and the period it is aimed at (Linux writes a 64-bit comparator as two 32-bit halves).
            WriteComparator(_timers[(reg - TimerBase) >> 5], mask, value << shift);
            return;
        }

        if (size != 8)
        {
            // A 32-bit access writes one half of the 64-bit register (spec 2.4.7 allows 32-bit software).
            ulong old = reg == InterruptStatus ? 0 : ReadRegister(reg);
            value = (old & ~mask) | ((value << shift) & mask);
        }

        WriteRegister(reg, value);
    }

    /// <summary>
    /// True while the legacy replacement route (LEG_RT_CNF) is on: timer 0 owns IRQ 0 and timer 1
    /// IRQ 8, and the board disconnects the 8254 and the RTC from those inputs (spec 2.3.7, table 5).
    /// </summary>
    public bool LegacyRouting => (_config & LegacyReplacement) != 0;

    /// <summary>Raised (vCPU thread) when <see cref="LegacyRouting"/> changes, so the board can reroute IRQ 0 and 8.</summary>
    public event Action<bool>? LegacyRoutingChanged;

    public void Reset()
    {
        bool legacyBefore = LegacyRouting;
        _config = _status = 0;
        _counterAtStart = 0;
        foreach (var t in _timers)
        {
            t.Config = TnPeriodicCap | TnSize64Cap;
            t.Value = ulong.MaxValue;
            t.Period = 0;
            t.Timer.Cancel();
            Drive(t, false);
        }

        if (legacyBefore)
        {
            LegacyRoutingChanged?.Invoke(false);
        }
    }

    private bool Enabled => (_config & Enable) != 0;

    private ulong Counter => Enabled ? _counterAtStart + ((_clock.Nanoseconds - Math.Min(_clock.Nanoseconds, _startNs)) / NanosPerTick) : _counterAtStart;

    private ulong ReadRegister(int reg)
    {
        switch (reg)
        {
            case Capabilities:
                // Revision 1, NUM_TIM_CAP = 2, COUNT_SIZE_CAP, LEG_RT_CAP, vendor 0x8086, period in fs.
                return 0x01 | ((TimerCount - 1) << 8) | (1 << 13) | (1 << 15) | (0x8086UL << 16) | (PeriodFemtoseconds << 32);
            case Configuration:
                return _config;
            case InterruptStatus:
                return _status;
            case MainCounter:
                return Counter;
        }

        if (reg >= TimerBase && reg < TimerBase + (0x20 * TimerCount))
        {
            var t = _timers[(reg - TimerBase) >> 5];
            return ((reg - TimerBase) & 0x1F) switch
            {
                0 => t.Config | ((ulong)RouteCapability << 32),
                8 => (t.Config & Tn32Bit) != 0 ? t.Value & 0xFFFF_FFFF : t.Value,
                _ => 0,
            };
        }

        return 0;
    }

    private void WriteRegister(int reg, ulong value)
    {
        switch (reg)
        {
            case Configuration:
                {
                    ulong counter = Counter;
                    bool legacyBefore = LegacyRouting;
                    _config = value & (Enable | LegacyReplacement);
                    _counterAtStart = counter;
                    _startNs = _clock.Nanoseconds;
                    if (legacyBefore != LegacyRouting)
                    {
                        // A comparator holding a level line high lets go of the old route first.
                        foreach (var held in _timers)
                        {
                            Drive(held, false);
                        }

                        LegacyRoutingChanged?.Invoke(LegacyRouting);
                        for (int i = 0; i < TimerCount; i++)
                        {
                            if ((_status & (1UL << i)) != 0 && (_timers[i].Config & (TnLevel | TnIntEnable)) == (TnLevel | TnIntEnable))
                            {
                                Drive(_timers[i], true);
                            }
                        }
                    }

                    RescheduleAll();
                    return;
                }

            case InterruptStatus:
                // Write 1 to clear a level interrupt's status; the line drops with it.
                for (int i = 0; i < TimerCount; i++)
                {
                    if ((value & (1UL << i)) != 0 && (_status & (1UL << i)) != 0)
                    {
                        _status &= ~(1UL << i);
                        Drive(_timers[i], false);
                    }
                }

                return;
            case MainCounter:
                if (!Enabled)
                {
                    _counterAtStart = value; // writable only while halted (spec 2.3.7)
                }

                return;
        }

        if (reg < TimerBase || reg >= TimerBase + (0x20 * TimerCount))
        {
            return;
        }

        var t = _timers[(reg - TimerBase) >> 5];
        switch ((reg - TimerBase) & 0x1F)
        {
            case 0:
                {
                    ulong route = (value & TnRouteMask) >> 9;
                    if ((RouteCapability & (1u << (int)route)) == 0)
                    {
                        value = (value & ~TnRouteMask) | (t.Config & TnRouteMask); // an unsupported route is not taken
                    }

                    t.Config = (value & TnWritable) | TnPeriodicCap | TnSize64Cap;
                    if ((t.Config & TnLevel) == 0 || (t.Config & TnIntEnable) == 0)
                    {
                        Drive(t, false);
                    }

                    break;
                }

            default:
                return;
        }

        Schedule(t);
    }

    private void WriteComparator(Comparator t, ulong mask, ulong value)
    {
        if ((t.Config & Tn32Bit) != 0)
        {
            // 32-bit mode: the upper half reads and writes as zero (spec 2.3.9.2.4).
            mask &= 0xFFFF_FFFF;
        }

        // A write sets the comparator unless the timer is periodic without VAL_SET; in periodic
        // mode it always sets the period (spec 2.3.9.2.2). Linux writes "now + delta" with VAL_SET,
        // then "delta" alone: the second write is the period. VAL_SET lasts for one write, as
        // QEMU's model has it.
        if ((t.Config & TnPeriodic) == 0 || (t.Config & TnValSet) != 0)
        {
            t.Value = (t.Value & ~mask) | (value & mask);
        }

        if ((t.Config & TnPeriodic) != 0)
        {
            t.Period = (t.Period & ~mask) | (value & mask);
        }

        t.Config &= ~TnValSet;
        Schedule(t);
    }

    private void RescheduleAll()
    {
        foreach (var t in _timers)
        {
            Schedule(t);
        }
    }

    private void Schedule(Comparator t)
    {
        if (!Enabled)
        {
            t.Timer.Cancel();
            return;
        }

        ulong counter = Counter;
        bool narrow = (t.Config & Tn32Bit) != 0;
        ulong delta = narrow ? (uint)((uint)t.Value - (uint)counter) : t.Value - counter;
        if (delta == 0 || delta > (1UL << 62))
        {
            // Reached already, or 2^62 ticks away (millennia): nothing to schedule.
            if (delta == 0)
            {
                t.Timer.Schedule(_clock.Nanoseconds);
            }
            else
            {
                t.Timer.Cancel();
            }

            return;
        }

        ulong target = counter + delta - _counterAtStart;
        t.Timer.Schedule(_startNs + (target * NanosPerTick));
    }

    private void Fire(int n)
    {
        var t = _timers[n];
        if (!Enabled)
        {
            return;
        }

        if ((t.Config & TnIntEnable) != 0)
        {
            if ((t.Config & TnLevel) != 0)
            {
                _status |= 1UL << n;
                Drive(t, true);
            }
            else
            {
                Drive(t, true);
                Drive(t, false);
            }
        }

        if ((t.Config & TnPeriodic) != 0 && t.Period != 0)
        {
            // A periodic timer that fell behind (the vCPU ran a long slice, the host was busy) skips
            // the periods it missed and fires once, as QEMU's hpet_timer does: a burst of stale
            // interrupts would only make the guest's tick handler see time jump anyway.
            ulong counter = Counter;
            bool narrow = (t.Config & Tn32Bit) != 0;
            ulong behind = narrow ? (uint)((uint)counter - (uint)t.Value) : counter - t.Value;
            ulong periods = (behind < (narrow ? 1UL << 31 : 1UL << 62) ? behind / t.Period : 0) + 1;
            t.Value += periods * t.Period;
            if (narrow)
            {
                t.Value &= 0xFFFF_FFFF;
            }

            Schedule(t);
        }
    }

    private int LineOf(Comparator t)
    {
        int n = Array.IndexOf(_timers, t);
        if ((_config & LegacyReplacement) != 0 && n < 2)
        {
            return n == 0 ? LegacyIrq0 : LegacyIrq8;
        }

        return (int)((t.Config & TnRouteMask) >> 9);
    }

    private void Drive(Comparator t, bool level)
    {
        if (level)
        {
            t.Line = LineOf(t);
            _setLine(t.Line, true);
        }
        else if (t.Line != int.MinValue)
        {
            _setLine(t.Line, false);
            t.Line = int.MinValue;
        }
    }
}
