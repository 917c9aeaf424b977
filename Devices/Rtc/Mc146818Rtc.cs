using Emulator.Devices.Interrupts;
using Emulator.Devices.Time;
using Emulator.Mmu;
using static Emulator.Devices.Rtc.Mc146818Registers;

namespace Emulator.Devices.Rtc;

/// <summary>
/// The Motorola MC146818A real-time clock with 128 bytes of CMOS RAM, as on a PC: port 0x70 selects
/// a register (bit 7 is the NMI-disable bit, stored here and readable by the board), port 0x71 reads
/// and writes it; the interrupt output goes to IRQ 8. Time is kept as a count of seconds plus the
/// <see cref="VirtualClock"/> time at which that count was exact, so nothing ticks: registers are
/// computed when read. Under a deterministic clock the start time is a fixed epoch (the same run
/// every time); otherwise it is the host's UTC time. Flags PF, AF and UF are computed lazily from the
/// elapsed time; a timer runs only while an enabled interrupt needs to be raised on time.
/// vCPU thread only.
/// </summary>
public sealed class Mc146818Rtc : IBusDevice
{
    public const ushort BasePort = 0x70;
    public const int Irq = 8;
    public const int CmosSize = 128;

    /// <summary>The default fixed epoch for deterministic runs: 2000-01-01 00:00:00 UTC.</summary>
    public static readonly DateTimeOffset DefaultEpoch = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private const ulong NanosPerSecond = 1_000_000_000;
    private const ulong TimeBaseHz = 32_768;

    /// <summary>UIP is high for 244 us before each update (datasheet, "Update cycle": tBUC + tUC).</summary>
    private const ulong UipNanoseconds = 244_000;

    private readonly VirtualClock _clock;
    private readonly ClockTimer _timer;
    private readonly byte[] _cmos = new byte[CmosSize];
    private int _index;

    // The time: _baseSeconds (Unix seconds) was exact at virtual time _baseNs; second boundaries and
    // periodic ticks count from _baseNs (one divider chain).
    private long _baseSeconds;
    private ulong _baseNs;

    // The last second boundary and periodic tick already folded into register C.
    private ulong _lastSecond;
    private ulong _lastPeriodic;

    // The time while the divider is held in reset (register A DV = 11x).
    private long _heldSeconds;

    /// <param name="epoch">The time the clock reads at virtual time 0; null means host time now (or
    /// <see cref="DefaultEpoch"/> when <paramref name="clock"/> is deterministic).</param>
    public Mc146818Rtc(VirtualClock clock, InterruptLine irq, DateTimeOffset? epoch = null)
    {
        _clock = clock;
        IrqLine = irq;
        _timer = clock.CreateTimer("rtc", _ => Update());
        var start = epoch ?? (clock.Deterministic ? DefaultEpoch : DateTimeOffset.UtcNow);
        // The clock is not read here: it may count instructions of a CPU not built yet. Virtual time
        // starts at 0 when the machine is built, so that is when the divider starts.
        _baseSeconds = start.ToUnixTimeSeconds();
        _cmos[RegisterA] = ADivider32k | 0x06; // 1024 Hz periodic rate, as a BIOS programs it
        _cmos[RegisterB] = B24Hour;
        _cmos[RegisterD] = DVrt;
    }

    public string Name => "rtc-mc146818";

    public InterruptLine IrqLine { get; }

    /// <summary>Bit 7 of the last write to port 0x70: NMIs masked at the board.</summary>
    public bool NmiDisabled { get; private set; }

    /// <summary>The clock's current time (UTC), whatever the data mode.</summary>
    public DateTimeOffset Now => DateTimeOffset.FromUnixTimeSeconds(CurrentSeconds());

    public ulong Read(ulong offset, int size)
    {
        if ((offset & 1) == 0)
        {
            return 0xFF; // the index register is write-only
        }

        return ReadRegister(_index);
    }

    public void Write(ulong offset, int size, ulong value)
    {
        if ((offset & 1) == 0)
        {
            NmiDisabled = (value & 0x80) != 0;
            _index = (int)(value & 0x7F);
            return;
        }

        WriteRegister(_index, (byte)value);
    }

    /// <summary>The RESET pin (datasheet, "RESET"): clears PIE, AIE, UIE, SQWE and register C; time and RAM survive.</summary>
    public void Reset()
    {
        _cmos[RegisterB] &= unchecked((byte)~(BPie | BAie | BUie | BSqwe));
        _cmos[RegisterC] = 0;
        _index = 0;
        NmiDisabled = false;
        MarkCaughtUp();
        UpdateIrq();
        Reschedule();
    }

    /// <summary>Host side: sets a CMOS byte (the board's BIOS data: memory sizes, equipment).</summary>
    public void SetCmos(int index, byte value) => _cmos[index & 0x7F] = value;

    /// <summary>Host side: a CMOS byte as stored (no clock computation).</summary>
    public byte GetCmos(int index) => _cmos[index & 0x7F];

    /// <summary>Recomputes the PC/AT checksum at 0x2E (high) and 0x2F (low) over 0x10-0x2D.</summary>
    public void UpdateChecksum()
    {
        int sum = 0;
        for (int i = ChecksumFirst; i <= ChecksumLast; i++)
        {
            sum += _cmos[i];
        }

        _cmos[ChecksumHigh] = (byte)(sum >> 8);
        _cmos[ChecksumLow] = (byte)sum;
    }

    private bool Setting => (_cmos[RegisterB] & BSet) != 0;

    private bool Binary => (_cmos[RegisterB] & BBinary) != 0;

    // DV = 11x holds the divider in reset; no updates and no periodic interrupts then (datasheet table 4).
    private bool DividerRunning => (_cmos[RegisterA] & 0x60) != 0x60;

    private long CurrentSeconds()
    {
        if (!DividerRunning)
        {
            return _heldSeconds;
        }

        ulong now = _clock.Nanoseconds;
        return _baseSeconds + (long)((now - Math.Min(now, _baseNs)) / NanosPerSecond);
    }

    private byte ReadRegister(int index)
    {
        CatchUp();
        switch (index)
        {
            case <= Year and not (SecondsAlarm or MinutesAlarm or HoursAlarm):
            case Century:
                return Setting ? _cmos[index] : TimeField(index, CurrentSeconds());
            case RegisterA:
                {
                    ulong now = _clock.Nanoseconds;
                    bool uip = !Setting && DividerRunning && now >= _baseNs && (now - _baseNs) % NanosPerSecond >= NanosPerSecond - UipNanoseconds;
                    return (byte)((_cmos[RegisterA] & ~AUip) | (uip ? AUip : 0));
                }

            case RegisterC:
                {
                    // Reading register C clears every flag and lowers IRQ (datasheet, "Register C").
                    byte value = _cmos[RegisterC];
                    _cmos[RegisterC] = 0;
                    UpdateIrq();
                    Reschedule();
                    return value;
                }

            case RegisterD:
                return DVrt;
            default:
                return _cmos[index];
        }
    }

    private void WriteRegister(int index, byte value)
    {
        CatchUp();
        switch (index)
        {
            case <= Year and not (SecondsAlarm or MinutesAlarm or HoursAlarm):
            case Century:
                if (Setting)
                {
                    _cmos[index] = value;
                }
                else
                {
                    // A write while the clock runs changes that field of the running time.
                    SnapshotTime();
                    _cmos[index] = value;
                    LoadTime();
                }

                break;
            case RegisterA:
                {
                    bool wasRunning = DividerRunning;
                    if (wasRunning && (value & 0x60) == 0x60)
                    {
                        _heldSeconds = CurrentSeconds(); // the divider stops: time stands still
                    }

                    _cmos[RegisterA] = (byte)(value & ~AUip);
                    if (!wasRunning && DividerRunning)
                    {
                        // Leaving divider reset: the first update comes one second later (datasheet, "Divider").
                        RestartDivider(_heldSeconds);
                    }

                    break;
                }

            case RegisterB:
                {
                    bool wasSetting = Setting;
                    if (!wasSetting && (value & BSet) != 0)
                    {
                        SnapshotTime(); // freeze the registers for the program to rewrite
                        value &= unchecked((byte)~BUie); // SET clears UIE (datasheet, "Register B")
                    }

                    _cmos[RegisterB] = value;
                    if (wasSetting && !Setting)
                    {
                        LoadTime();
                    }

                    break;
                }

            case RegisterC:
            case RegisterD:
                break; // read-only
            default:
                _cmos[index] = value;
                break;
        }

        UpdateIrq();
        Reschedule();
    }

    // Copies the running time into the time registers, in the current data mode.
    private void SnapshotTime()
    {
        long seconds = CurrentSeconds();
        foreach (int field in (ReadOnlySpan<int>)[Seconds, Minutes, Hours, Weekday, DayOfMonth, Month, Year, Century])
        {
            _cmos[field] = TimeField(field, seconds);
        }
    }

    // Takes the time registers as the new time, from now (the divider restarts at the write).
    private void LoadTime()
    {
        int second = Math.Clamp(FromData(_cmos[Seconds]), 0, 59);
        int minute = Math.Clamp(FromData(_cmos[Minutes]), 0, 59);
        int hour = DecodeHour(_cmos[Hours]);
        int year = Math.Clamp(FromData(_cmos[Century]), 0, 99) * 100 + Math.Clamp(FromData(_cmos[Year]), 0, 99);
        int month = Math.Clamp(FromData(_cmos[Month]), 1, 12);
        int day = Math.Clamp(FromData(_cmos[DayOfMonth]), 1, DateTime.DaysInMonth(Math.Max(year, 1), month));
        var time = new DateTimeOffset(Math.Max(year, 1), month, day, hour, minute, second, TimeSpan.Zero);
        RestartDivider(time.ToUnixTimeSeconds());
    }

    // The divider chain starts again now at the given time: the next update is one second away.
    private void RestartDivider(long unixSeconds)
    {
        _baseSeconds = unixSeconds;
        _baseNs = _clock.Nanoseconds;
        MarkCaughtUp();
    }

    private void MarkCaughtUp()
    {
        ulong elapsed = Elapsed(_clock.Nanoseconds);
        _lastSecond = elapsed / NanosPerSecond;
        _lastPeriodic = PeriodTicks() is { } period ? ToTicks(elapsed) / period : 0;
    }

    private ulong Elapsed(ulong now) => now - Math.Min(now, _baseNs);

    private byte TimeField(int field, long unixSeconds)
    {
        var t = DateTimeOffset.FromUnixTimeSeconds(unixSeconds);
        return field switch
        {
            Seconds => ToData(t.Second),
            Minutes => ToData(t.Minute),
            Hours => EncodeHour(t.Hour),
            Weekday => ToData((int)t.DayOfWeek + 1), // Sunday = 1 (datasheet table 3)
            DayOfMonth => ToData(t.Day),
            Month => ToData(t.Month),
            Year => ToData(t.Year % 100),
            Century => ToData(t.Year / 100),
            _ => 0,
        };
    }

    private byte ToData(int value) => Binary ? (byte)value : (byte)(((value / 10) << 4) | (value % 10));

    private int FromData(byte value) => Binary ? value : ((value >> 4) * 10) + (value & 0x0F);

    private byte EncodeHour(int hour)
    {
        if ((_cmos[RegisterB] & B24Hour) != 0)
        {
            return ToData(hour);
        }

        int h12 = hour % 12 == 0 ? 12 : hour % 12;
        return (byte)(ToData(h12) | (hour >= 12 ? HourPm : 0));
    }

    private int DecodeHour(byte value)
    {
        if ((_cmos[RegisterB] & B24Hour) != 0)
        {
            return Math.Clamp(FromData(value), 0, 23);
        }

        int h12 = Math.Clamp(FromData((byte)(value & ~HourPm)), 1, 12) % 12;
        return (value & HourPm) != 0 ? h12 + 12 : h12;
    }

    // Periodic interrupt rate (datasheet table 5, 32.768 kHz time base): RS = 0 none, 1 and 2 give
    // 256 and 128 Hz, 3-15 give 8192 Hz down to 2 Hz. The period in 32.768 kHz ticks, or null.
    private ulong? PeriodTicks()
    {
        int rs = _cmos[RegisterA] & ARateMask;
        return rs switch
        {
            0 => null,
            1 or 2 => 1UL << (rs + 6),
            _ => 1UL << (rs - 1),
        };
    }

    private static ulong ToTicks(ulong elapsedNs) => (ulong)((UInt128)elapsedNs * TimeBaseHz / NanosPerSecond);

    private static ulong FromTicks(ulong ticks) => (ulong)(((UInt128)ticks * NanosPerSecond + TimeBaseHz - 1) / TimeBaseHz);

    private void Update()
    {
        CatchUp();
        UpdateIrq();
        Reschedule();
    }

    // Folds the periodic ticks and second updates that passed since the last look into register C.
    private void CatchUp()
    {
        if (!DividerRunning)
        {
            MarkCaughtUp();
            return;
        }

        ulong elapsed = Elapsed(_clock.Nanoseconds);
        if (PeriodTicks() is { } period)
        {
            ulong tick = ToTicks(elapsed) / period;
            if (tick > _lastPeriodic)
            {
                _cmos[RegisterC] |= CPf;
            }

            _lastPeriodic = tick;
        }

        ulong second = elapsed / NanosPerSecond;
        if (second > _lastSecond && !Setting)
        {
            // An update cycle ended at each boundary: UF, and AF when the alarm matches that second.
            _cmos[RegisterC] |= CUf;
            ulong first = Math.Max(_lastSecond + 1, second > 86_400 ? second - 86_400 : 0);
            for (ulong s = first; s <= second && (_cmos[RegisterC] & CAf) == 0; s++)
            {
                if (AlarmMatches(_baseSeconds + (long)s))
                {
                    _cmos[RegisterC] |= CAf;
                }
            }
        }

        _lastSecond = second;
    }

    private bool AlarmMatches(long unixSeconds)
    {
        return Matches(SecondsAlarm, Seconds) && Matches(MinutesAlarm, Minutes) && Matches(HoursAlarm, Hours);

        bool Matches(int alarm, int field)
        {
            byte a = _cmos[alarm];
            return (a & AlarmDontCare) == AlarmDontCare || a == TimeField(field, unixSeconds);
        }
    }

    private void UpdateIrq()
    {
        byte b = _cmos[RegisterB];
        byte c = _cmos[RegisterC];
        bool irq = (c & b & (CPf | CAf | CUf)) != 0; // PF/PIE, AF/AIE, UF/UIE share bit positions
        _cmos[RegisterC] = (byte)(irq ? c | CIrqf : c & ~CIrqf);
        IrqLine.Set(irq);
    }

    // Schedules the next event that would raise IRQF: only while an interrupt is enabled and IRQF is
    // not already set (until register C is read nothing more can change on the line).
    private void Reschedule()
    {
        byte b = _cmos[RegisterB];
        if (!DividerRunning || (_cmos[RegisterC] & CIrqf) != 0 || (b & (BPie | BAie | BUie)) == 0)
        {
            _timer.Cancel();
            return;
        }

        ulong next = ulong.MaxValue;
        if ((b & BPie) != 0 && PeriodTicks() is { } period)
        {
            next = _baseNs + FromTicks((_lastPeriodic + 1) * period);
        }

        if ((b & (BAie | BUie)) != 0 && !Setting)
        {
            next = Math.Min(next, _baseNs + ((_lastSecond + 1) * NanosPerSecond));
        }

        if (next == ulong.MaxValue)
        {
            _timer.Cancel();
        }
        else
        {
            _timer.Schedule(next);
        }
    }
}
