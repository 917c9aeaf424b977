using Emulator.Devices.Time;
using Emulator.Mmu;
using static Emulator.Devices.Apic.LocalApicRegisters;

namespace Emulator.Devices.Apic;

/// <summary>
/// The local APIC of the one CPU (SDM Vol. 3A chapter 10): xAPIC registers in the MMIO page at
/// <see cref="DefaultBase"/>, the same registers as MSRs 0x800-0x8FF in x2APIC mode, IRR/ISR/TMR,
/// task and processor priority, EOI (with an EOI broadcast for level-triggered vectors, which the
/// I/O APIC uses to clear Remote IRR), the LVT, the timer (one-shot, periodic, TSC-deadline) and
/// ICR self-IPIs. The timer counts a 1 GHz bus clock divided by the divide configuration, read from
/// the <see cref="VirtualClock"/>. After reset LINT0 is unmasked with ExtINT delivery (virtual wire
/// mode, as a BIOS leaves the bootstrap processor) so the 8259A keeps reaching the CPU. The MMIO page
/// stays at 0xFEE00000: relocating it with IA32_APIC_BASE is not modelled (the write is kept, the page
/// does not move). Interrupts may arrive from any thread (the I/O APIC); state is under one lock.
/// </summary>
public sealed class LocalApic : IBusDevice
{
    public const ulong DefaultBase = 0xFEE0_0000;
    public const ulong MmioLength = 0x1000;
    public const uint X2ApicMsrFirst = 0x800, X2ApicMsrLast = 0x8FF;
    public const uint ApicBaseMsr = 0x1B, TscDeadlineMsr = 0x6E0;
    public const ulong ApicBaseExtd = 1UL << 10, ApicBaseEnable = 1UL << 11;

    /// <summary>The timer's input: the bus clock, 1 GHz (one tick per virtual nanosecond).</summary>
    public const ulong BusHz = 1_000_000_000;

    private readonly object _lock = new();
    private readonly VirtualClock _clock;
    private readonly ClockTimer _timer;
    private readonly uint[] _irr = new uint[8], _isr = new uint[8], _tmr = new uint[8];
    private readonly uint[] _lvt = new uint[7]; // CMCI, timer, thermal, perf, LINT0, LINT1, error
    private ulong _apicBase;
    private uint _tpr, _ldr, _dfr, _svr, _esr, _pendingEsr, _icrLow, _icrHigh, _divide, _initialCount;
    private ulong _timerStart;
    private ulong _tscDeadline;
    private volatile bool _nmiPending;

    // True while any IRR bit is set (kept under _lock with every IRR change): HasInterrupt, which the
    // CPU asks at every block boundary while IF = 1, answers "no" without taking the lock.
    private volatile bool _irrAny;

    // An EOI of a level-triggered vector, to broadcast once the register write has left the lock
    // (register writes come only from the vCPU thread).
    private int _eoiBroadcast = -1;

    private const int LvtIndexCmci = 0, LvtIndexTimer = 1, LvtIndexThermal = 2, LvtIndexPerf = 3, LvtIndexLint0 = 4, LvtIndexLint1 = 5, LvtIndexError = 6;

    public LocalApic(VirtualClock clock)
    {
        _clock = clock;
        _timer = clock.CreateTimer("lapic-timer", _ => OnTimer());
        Reset();
    }

    public string Name => "lapic";

    /// <summary>The APIC ID (0: the bootstrap processor).</summary>
    public uint ApicId => 0;

    /// <summary>Reads the time-stamp counter the guest sees (TSC-deadline mode compares against it).</summary>
    public Func<ulong>? Tsc { get; set; }

    /// <summary>Called (outside the lock) when an interrupt may have become deliverable, to wake a halted CPU.</summary>
    public event Action? InterruptRequested;

    /// <summary>Called (outside the lock) with the vector of an EOI for a level-triggered interrupt.</summary>
    public event Action<byte>? EoiBroadcast;

    public bool HardwareEnabled => (Volatile.Read(ref _apicBase) & ApicBaseEnable) != 0;

    public bool X2ApicMode => (Volatile.Read(ref _apicBase) & (ApicBaseEnable | ApicBaseExtd)) == (ApicBaseEnable | ApicBaseExtd);

    public bool SoftwareEnabled => (_svr & SvrEnable) != 0;

    /// <summary>
    /// True when the 8259A's INTR passes to the CPU: the APIC globally disabled (the pin is plain INTR),
    /// or LINT0 unmasked with ExtINT delivery (SDM Vol. 3A 10.5.1; QEMU's apic_accept_pic_intr).
    /// </summary>
    public bool AcceptsPicInterrupt
    {
        get
        {
            lock (_lock)
            {
                uint lint0 = _lvt[LvtIndexLint0];
                return !HardwareEnabled || ((lint0 & LvtMasked) == 0 && ((lint0 >> 8) & 7) == DeliveryExtInt);
            }
        }
    }

    /// <summary>True while a fixed interrupt in IRR outranks the processor priority.</summary>
    public bool HasInterrupt
    {
        get
        {
            if (!_irrAny)
            {
                return false;
            }

            lock (_lock)
            {
                return DeliverableVector() >= 0;
            }
        }
    }

    /// <summary>True when something could still interrupt through this APIC (it is enabled, or an IRR bit waits).</summary>
    public bool CanInterrupt
    {
        get
        {
            lock (_lock)
            {
                return (HardwareEnabled && SoftwareEnabled) || Highest(_irr) >= 0;
            }
        }
    }

    public void Reset()
    {
        lock (_lock)
        {
            // SDM Vol. 3A 10.4.7.1: after RESET every LVT is masked, SVR = 0xFF, other registers 0; APIC_BASE
            // at 0xFEE00000 enabled, BSP. LINT0 as the BIOS leaves it: ExtINT, unmasked (virtual wire).
            _apicBase = DefaultBase | ApicBaseEnable | (1UL << 8);
            Array.Clear(_irr);
            _irrAny = false;
            Array.Clear(_isr);
            Array.Clear(_tmr);
            for (int i = 0; i < _lvt.Length; i++)
            {
                _lvt[i] = LvtMasked;
            }

            _lvt[LvtIndexLint0] = DeliveryExtInt << 8;
            _tpr = _ldr = _esr = _pendingEsr = _icrLow = _icrHigh = _divide = _initialCount = 0;
            _dfr = 0xFFFF_FFFF;
            _svr = 0xFF;
            _tscDeadline = 0;
            _nmiPending = false;
            _timer.Cancel();
        }
    }

    /// <summary>IA32_APIC_BASE is changing (the CPU checked reserved bits). False refuses the write (#GP).</summary>
    public bool ApicBaseChanging(ulong value)
    {
        lock (_lock)
        {
            bool wasX2 = X2ApicMode;
            bool enable = (value & ApicBaseEnable) != 0, extd = (value & ApicBaseExtd) != 0;
            // SDM Vol. 3A 10.12.5: EXTD without EN is invalid; x2APIC may go only to disabled.
            if ((extd && !enable) || (wasX2 && enable && !extd))
            {
                return false;
            }

            _apicBase = value;
            if (!enable)
            {
                // Globally disabled: as after a reset, with the APIC's own state cleared (SDM Vol. 3A 10.4.3).
                Array.Clear(_irr);
                _irrAny = false;
                Array.Clear(_isr);
                for (int i = 0; i < _lvt.Length; i++)
                {
                    _lvt[i] |= LvtMasked;
                }

                _svr &= ~SvrEnable;
                _timer.Cancel();
            }

            return true;
        }
    }

    /// <summary>An interrupt message for this APIC (from the I/O APIC, the timer, an IPI).</summary>
    public void Deliver(uint deliveryMode, byte vector, bool level)
    {
        bool wake;
        lock (_lock)
        {
            wake = DeliverLocked(deliveryMode, vector, level);
        }

        if (wake)
        {
            InterruptRequested?.Invoke();
        }
    }

    /// <summary>The INTA cycle for a fixed interrupt: the highest IRR vector moves to ISR (or the spurious vector).</summary>
    public byte Acknowledge()
    {
        lock (_lock)
        {
            int vector = DeliverableVector();
            if (vector < 0)
            {
                return (byte)_svr; // SDM Vol. 3A 10.9: spurious interrupt
            }

            Clear(_irr, vector);
            _irrAny = Highest(_irr) >= 0;
            Set(_isr, vector);
            return (byte)vector;
        }
    }

    /// <summary>
    /// Takes an NMI sent through an LVT entry or the ICR. The CPU asks at every block boundary, so
    /// the common case (nothing pending) reads the volatile flag without taking the lock.
    /// </summary>
    public bool TakeNmi()
    {
        if (!_nmiPending)
        {
            return false;
        }

        lock (_lock)
        {
            bool nmi = _nmiPending;
            _nmiPending = false;
            return nmi;
        }
    }

    public ulong Read(ulong offset, int size)
    {
        if (!HardwareEnabled || X2ApicMode)
        {
            return 0; // the xAPIC page is not there while disabled or in x2APIC mode
        }

        int reg = (int)(offset & 0xFF0);
        uint value;
        lock (_lock)
        {
            value = reg == IcrHigh ? _icrHigh : ReadRegister(reg, x2: false, out _);
        }

        int shift = (int)(offset & 3) * 8; // narrower reads see part of the 32-bit register
        return (ulong)(value >> shift);
    }

    public void Write(ulong offset, int size, ulong value)
    {
        if (!HardwareEnabled || X2ApicMode || (offset & 0xF) != 0)
        {
            return;
        }

        int reg = (int)(offset & 0xFF0);
        bool wake;
        lock (_lock)
        {
            if (reg == IcrHigh)
            {
                _icrHigh = (uint)value & 0xFF00_0000;
                return;
            }

            wake = WriteRegister(reg, (uint)value, x2: false);
        }

        AfterWrite(wake);
    }

    /// <summary>True for the MSRs this APIC answers: the x2APIC range and IA32_TSC_DEADLINE.</summary>
    public static bool OwnsMsr(uint index) => index is >= X2ApicMsrFirst and <= X2ApicMsrLast or TscDeadlineMsr;

    public bool TryReadMsr(uint index, out ulong value)
    {
        value = 0;
        if (index == TscDeadlineMsr)
        {
            lock (_lock)
            {
                value = TimerMode == TimerTscDeadline ? _tscDeadline : 0;
            }

            return true;
        }

        if (!X2ApicMode)
        {
            return false; // SDM Vol. 3A 10.12.1.2: x2APIC MSRs #GP unless x2APIC mode is on
        }

        int reg = (int)(index - X2ApicMsrFirst) << 4;
        lock (_lock)
        {
            if (reg == IcrLow)
            {
                value = ((ulong)_icrHigh << 32) | _icrLow;
                return true;
            }

            value = ReadRegister(reg, x2: true, out bool ok);
            return ok;
        }
    }

    public bool TryWriteMsr(uint index, ulong value)
    {
        bool wake;
        if (index == TscDeadlineMsr)
        {
            lock (_lock)
            {
                // Writes outside TSC-deadline mode are ignored (SDM Vol. 3A 10.5.4.1).
                if (TimerMode == TimerTscDeadline)
                {
                    _tscDeadline = value;
                    ScheduleTimer();
                }
            }

            return true;
        }

        if (!X2ApicMode)
        {
            return false;
        }

        int reg = (int)(index - X2ApicMsrFirst) << 4;
        lock (_lock)
        {
            switch (reg)
            {
                case IcrLow:
                    _icrHigh = (uint)(value >> 32);
                    break;
                case Eoi when value != 0:
                case Tpr or Svr or LvtCmci or LvtTimer or LvtThermal or LvtPerf or LvtLint0 or LvtLint1 or LvtError or TimerInitialCount or TimerDivide or SelfIpi or Esr or Eoi when (value >> 32) != 0:
                    return false; // SDM Vol. 3A 10.12.1.2: reserved bits set is #GP
                case IcrHigh or Dfr:
                    return false; // not in x2APIC mode
                case Id or Ver or Ldr or Ppr or Apr or Rrd or TimerCurrentCount or (>= Isr and < Esr):
                    return false; // read-only
            }

            if (!IsRegister(reg, x2: true))
            {
                return false;
            }

            wake = WriteRegister(reg, (uint)value, x2: true);
        }

        AfterWrite(wake);
        return true;
    }

    // Runs after a register write, outside the lock: the EOI broadcast, then the wake-up.
    private void AfterWrite(bool wake)
    {
        int vector = _eoiBroadcast;
        if (vector >= 0)
        {
            _eoiBroadcast = -1;
            EoiBroadcast?.Invoke((byte)vector);
        }

        if (wake)
        {
            InterruptRequested?.Invoke();
        }
    }

    private static bool IsRegister(int reg, bool x2) => reg switch
    {
        Id or Ver or Tpr or Ppr or Eoi or Ldr or Svr or Esr or IcrLow or LvtTimer or LvtThermal or LvtPerf or LvtLint0 or LvtLint1 or LvtError or LvtCmci => true,
        TimerInitialCount or TimerCurrentCount or TimerDivide => true,
        >= Isr and < Esr => true,
        Apr or Rrd or Dfr or IcrHigh => !x2,
        SelfIpi => x2,
        _ => false,
    };

    private uint TimerMode => _lvt[LvtIndexTimer] & LvtTimerModeMask;

    private uint ReadRegister(int reg, bool x2, out bool ok)
    {
        ok = IsRegister(reg, x2) && reg != Eoi && reg != SelfIpi;
        return reg switch
        {
            Id => x2 ? ApicId : ApicId << 24,
            Ver => VersionValue,
            Tpr => _tpr,
            Apr => 0,
            Ppr => ProcessorPriority(),
            Ldr => x2 ? 1u : _ldr, // x2APIC: cluster 0, bit (ID & 15) (SDM Vol. 3A 10.12.10.2)
            Dfr => _dfr,
            Svr => _svr,
            >= Isr and < Tmr => _isr[(reg - Isr) >> 4],
            >= Tmr and < Irr => _tmr[(reg - Tmr) >> 4],
            >= Irr and < Esr => _irr[(reg - Irr) >> 4],
            Esr => _esr,
            IcrLow => _icrLow,
            LvtCmci => _lvt[LvtIndexCmci],
            LvtTimer => _lvt[LvtIndexTimer],
            LvtThermal => _lvt[LvtIndexThermal],
            LvtPerf => _lvt[LvtIndexPerf],
            LvtLint0 => _lvt[LvtIndexLint0],
            LvtLint1 => _lvt[LvtIndexLint1],
            LvtError => _lvt[LvtIndexError],
            TimerInitialCount => _initialCount,
            TimerCurrentCount => CurrentCount(),
            TimerDivide => _divide,
            _ => 0,
        };
    }

    // Returns true when the write may have made an interrupt deliverable.
    private bool WriteRegister(int reg, uint value, bool x2)
    {
        switch (reg)
        {
            case Tpr:
                _tpr = value & 0xFF;
                return true;
            case Eoi:
                {
                    int vector = Highest(_isr);
                    if (vector >= 0)
                    {
                        Clear(_isr, vector);
                        if (Test(_tmr, vector))
                        {
                            // Level-triggered: the I/O APIC clears Remote IRR (SDM Vol. 3A 10.8.5). Sent after
                            // the lock is released, since the I/O APIC may deliver straight back.
                            _eoiBroadcast = vector;
                        }
                    }

                    return true;
                }

            case Ldr when !x2:
                _ldr = value & 0xFF00_0000;
                return false;
            case Dfr when !x2:
                _dfr = value | 0x0FFF_FFFF;
                return false;
            case Svr:
                _svr = value & (0xFF | SvrEnable | SvrFocusDisable);
                if ((_svr & SvrEnable) == 0)
                {
                    // Software disable masks every LVT entry (SDM Vol. 3A 10.4.7.2).
                    for (int i = 0; i < _lvt.Length; i++)
                    {
                        _lvt[i] |= LvtMasked;
                    }
                }

                return true;
            case Esr:
                // A write latches the errors seen since the last write (SDM Vol. 3A 10.5.3).
                _esr = _pendingEsr;
                _pendingEsr = 0;
                return false;
            case IcrLow:
                _icrLow = value & 0x000C_CFFF;
                return SendIpi(value, x2 ? _icrHigh : _icrHigh >> 24);
            case SelfIpi:
                return DeliverLocked(DeliveryFixed, (byte)value, level: false);
            case LvtTimer:
                {
                    uint oldMode = TimerMode;
                    WriteLvt(LvtIndexTimer, value, LvtVectorMask | LvtMasked | LvtTimerModeMask);
                    if (TimerMode != oldMode)
                    {
                        // Switching modes disarms the timer (SDM Vol. 3A 10.5.4.1).
                        _initialCount = 0;
                        _tscDeadline = 0;
                    }

                    ScheduleTimer();
                    return false;
                }

            case LvtThermal:
            case LvtPerf:
            case LvtCmci:
                WriteLvt(reg == LvtThermal ? LvtIndexThermal : reg == LvtPerf ? LvtIndexPerf : LvtIndexCmci, value, LvtVectorMask | LvtDeliveryModeMask | LvtMasked);
                return false;
            case LvtLint0:
            case LvtLint1:
                WriteLvt(reg == LvtLint0 ? LvtIndexLint0 : LvtIndexLint1, value, LvtVectorMask | LvtDeliveryModeMask | LvtPolarity | LvtLevel | LvtMasked);
                return true; // LINT0 may now pass the 8259A's INTR
            case LvtError:
                WriteLvt(LvtIndexError, value, LvtVectorMask | LvtMasked);
                return false;
            case TimerInitialCount:
                if (TimerMode != TimerTscDeadline)
                {
                    _initialCount = value;
                    _timerStart = _clock.Nanoseconds;
                    ScheduleTimer();
                }

                return false;
            case TimerDivide:
                {
                    // Keep the current count continuous across a divider change.
                    uint current = CurrentCount();
                    _divide = value & 0xB;
                    if (_initialCount != 0 && current != 0 && TimerMode != TimerTscDeadline)
                    {
                        _timerStart = _clock.Nanoseconds - ((ulong)(_initialCount - current) * Divisor);
                        ScheduleTimer();
                    }

                    return false;
                }

            default:
                if (!IsRegister(reg, x2))
                {
                    _pendingEsr |= EsrIllegalRegister;
                }

                return false;
        }
    }

    private void WriteLvt(int index, uint value, uint writable)
    {
        // While software-disabled the mask bit stays set (SDM Vol. 3A 10.4.7.2).
        uint masked = SoftwareEnabled ? 0 : LvtMasked;
        _lvt[index] = (value & writable) | masked;
    }

    private bool SendIpi(uint icr, uint destination)
    {
        uint mode = (icr >> 8) & 7;
        uint shorthand = icr & IcrShorthandMask;
        bool toSelf = shorthand switch
        {
            ShorthandSelf or ShorthandAll => true,
            ShorthandOthers => false,
            _ => (icr & IcrLogical) != 0
                ? (X2ApicMode ? (destination & 1) != 0 : ((_ldr >> 24) & destination) != 0)
                : destination == ApicId || destination == (X2ApicMode ? 0xFFFF_FFFF : 0xFF),
        };
        if (!toSelf || mode is DeliveryInit or DeliveryStartup)
        {
            return false; // no other processors; INIT and SIPI to self are not modelled
        }

        if (mode == DeliveryFixed && (byte)icr < 16)
        {
            _pendingEsr |= EsrSendIllegalVector;
            return false;
        }

        return DeliverLocked(mode, (byte)icr, level: false);
    }

    private bool DeliverLocked(uint mode, byte vector, bool level)
    {
        switch (mode)
        {
            case DeliveryNmi:
                _nmiPending = true;
                return true;
            case DeliveryFixed:
            case DeliveryLowest:
                if (vector < 16)
                {
                    // SDM Vol. 3A 10.5.3: vectors 0-15 are illegal and are not accepted.
                    _pendingEsr |= EsrReceiveIllegalVector;
                    return false;
                }

                Set(_irr, vector);
                _irrAny = true;
                if (level)
                {
                    Set(_tmr, vector);
                }
                else
                {
                    Clear(_tmr, vector);
                }

                return true;
            default:
                return false; // SMI, INIT, ExtINT through a message are not modelled
        }
    }

    private uint ProcessorPriority()
    {
        int isrv = Highest(_isr);
        uint isrClass = isrv < 0 ? 0u : (uint)isrv & 0xF0;
        return (_tpr & 0xF0) >= isrClass ? _tpr : isrClass;
    }

    private int DeliverableVector()
    {
        if (!HardwareEnabled || !SoftwareEnabled)
        {
            return -1;
        }

        int vector = Highest(_irr);
        return vector >= 0 && (uint)(vector & 0xF0) > (ProcessorPriority() & 0xF0) ? vector : -1;
    }

    // Divide configuration (SDM Vol. 3A figure 10-10): bits 3, 1, 0 give 2, 4, ..., 128, then 1.
    private ulong Divisor
    {
        get
        {
            int code = (int)(((_divide >> 1) & 4) | (_divide & 3));
            return 1UL << ((code + 1) & 7);
        }
    }

    private uint CurrentCount()
    {
        if (_initialCount == 0 || TimerMode == TimerTscDeadline)
        {
            return 0;
        }

        ulong ticks = (_clock.Nanoseconds - Math.Min(_clock.Nanoseconds, _timerStart)) / Divisor;
        if (TimerMode == TimerPeriodic)
        {
            return (uint)(_initialCount - (ticks % _initialCount));
        }

        return ticks >= _initialCount ? 0 : (uint)(_initialCount - ticks);
    }

    private void ScheduleTimer()
    {
        switch (TimerMode)
        {
            case TimerTscDeadline when _tscDeadline != 0:
                {
                    ulong tsc = Tsc?.Invoke() ?? _clock.Nanoseconds;
                    ulong now = _clock.Nanoseconds;
                    _timer.Schedule(_tscDeadline <= tsc ? now : now + (_tscDeadline - tsc)); // the TSC runs at 1 GHz too
                    break;
                }

            case TimerOneShot or TimerPeriodic when _initialCount != 0:
                {
                    ulong period = _initialCount * Divisor;
                    ulong elapsed = _clock.Nanoseconds - Math.Min(_clock.Nanoseconds, _timerStart);
                    if (TimerMode == TimerOneShot)
                    {
                        if (elapsed < period)
                        {
                            _timer.Schedule(_timerStart + period);
                        }
                        else
                        {
                            _timer.Cancel();
                        }
                    }
                    else
                    {
                        _timer.Schedule(_timerStart + (((elapsed / period) + 1) * period));
                    }

                    break;
                }

            default:
                _timer.Cancel();
                break;
        }
    }

    private void OnTimer()
    {
        bool wake = false;
        lock (_lock)
        {
            uint lvt = _lvt[LvtIndexTimer];
            if (TimerMode == TimerTscDeadline)
            {
                if (_tscDeadline == 0)
                {
                    return;
                }

                _tscDeadline = 0; // fired: disarmed (SDM Vol. 3A 10.5.4.1)
            }

            if ((lvt & LvtMasked) == 0)
            {
                wake = DeliverLocked(DeliveryFixed, (byte)lvt, level: false);
            }

            if (TimerMode == TimerPeriodic)
            {
                ScheduleTimer();
            }
        }

        if (wake)
        {
            InterruptRequested?.Invoke();
        }
    }

    private static int Highest(uint[] bits)
    {
        for (int i = 7; i >= 0; i--)
        {
            if (bits[i] != 0)
            {
                return (i * 32) + 31 - System.Numerics.BitOperations.LeadingZeroCount(bits[i]);
            }
        }

        return -1;
    }

    private static void Set(uint[] bits, int vector) => bits[vector >> 5] |= 1u << (vector & 31);

    private static void Clear(uint[] bits, int vector) => bits[vector >> 5] &= ~(1u << (vector & 31));

    private static bool Test(uint[] bits, int vector) => (bits[vector >> 5] & (1u << (vector & 31))) != 0;
}
