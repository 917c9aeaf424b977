using Emulator.Devices.Interrupts;
using Emulator.Devices.Time;
using Emulator.Mmu;

namespace Emulator.Devices.Acpi;

/// <summary>
/// The ACPI fixed-hardware registers of a PIIX4-style chipset at the fixed I/O addresses the FADT
/// gives (ACPI 6.x section 4.8): PM1a_EVT_BLK at 0x600 (PM1_STS, then PM1_EN at 0x602), PM1a_CNT_BLK
/// at 0x604, PM_TMR_BLK at 0x608 (a 24-bit counter at 3.579545 MHz read from the virtual clock) and
/// GPE0_BLK at 0x620 (GPE0_STS 0x620-0x621, GPE0_EN 0x622-0x623). ACPI is always enabled (SCI_EN reads
/// 1, there is no SMI_CMD port). The SCI is a level on IRQ 9: any status bit whose enable bit is set.
/// Writing SLP_TYP = 0 with SLP_EN (the S5 soft-off the tables describe) powers the machine off;
/// other sleep types are ignored (no S1-S4). Status bits are write-1-to-clear. vCPU thread only, except
/// <see cref="PressPowerButton"/> and <see cref="RaiseGpe"/>, which take the lock too.
/// </summary>
public sealed class AcpiPm
{
    public const ushort Pm1EventPort = 0x600, Pm1ControlPort = 0x604, PmTimerPort = 0x608, Gpe0Port = 0x620;
    public const int Pm1Length = 12, Gpe0Length = 4, SciIrq = 9;

    /// <summary>The PM timer's frequency (ACPI 4.8.2.1).</summary>
    public const ulong TimerHz = 3_579_545;

    // PM1_STS / PM1_EN bits (ACPI table 4-16, 4-17).
    public const ushort TmrSts = 1 << 0, BmSts = 1 << 4, GblSts = 1 << 5, PwrBtnSts = 1 << 8, SlpBtnSts = 1 << 9, RtcSts = 1 << 10, WakSts = 1 << 15;
    private const ushort EnableMask = TmrSts | GblSts | PwrBtnSts | SlpBtnSts | RtcSts;

    // PM1_CNT bits (ACPI table 4-18).
    public const ushort SciEn = 1 << 0, BmRld = 1 << 1, GblRls = 1 << 2, SlpTypShift = 10, SlpTypMask = 7 << 10, SlpEn = 1 << 13;

    private readonly object _lock = new();
    private readonly VirtualClock _clock;
    private readonly ClockTimer _timer;
    private readonly Action _powerOff;
    private ushort _status, _enable, _control = SciEn;
    private ushort _gpeStatus, _gpeEnable;
    private ulong _lastCarry;

    public AcpiPm(VirtualClock clock, InterruptLine sci, Action powerOff)
    {
        _clock = clock;
        Sci = sci;
        _powerOff = powerOff;
        _timer = clock.CreateTimer("acpi-pm-timer", _ => OnTimer());
        Pm1 = new Block("acpi-pm1", this, gpe: false);
        Gpe0 = new Block("acpi-gpe0", this, gpe: true);
    }

    public InterruptLine Sci { get; }

    /// <summary>PM1a_EVT_BLK, PM1a_CNT_BLK and PM_TMR_BLK: 12 ports from 0x600.</summary>
    public IBusDevice Pm1 { get; }

    /// <summary>GPE0_BLK: 4 ports from 0x620.</summary>
    public IBusDevice Gpe0 { get; }

    /// <summary>The PM timer's value now: 24 bits (ACPI 4.8.2.1, TMR_VAL_EXT clear in the FADT).</summary>
    public uint TimerValue => (uint)(Ticks() & 0xFF_FFFF);

    /// <summary>Host side: the power button was pressed (PWRBTN_STS; an SCI when PWRBTN_EN).</summary>
    public void PressPowerButton()
    {
        lock (_lock)
        {
            _status |= PwrBtnSts;
            UpdateSci();
        }
    }

    /// <summary>Host side: general-purpose event <paramref name="bit"/> (0-15) happened.</summary>
    public void RaiseGpe(int bit)
    {
        lock (_lock)
        {
            _gpeStatus |= (ushort)(1 << bit);
            UpdateSci();
        }
    }

    private ulong Ticks() => (ulong)((UInt128)_clock.Nanoseconds * TimerHz / 1_000_000_000);

    // TMR_STS is set each time bit 23 of the counter changes (ACPI 4.8.3.3).
    private void CatchUp()
    {
        ulong carry = Ticks() >> 23;
        if (carry != _lastCarry)
        {
            _lastCarry = carry;
            _status |= TmrSts;
        }
    }

    private byte ReadByte(int offset, bool gpe, ulong ticks)
    {
        if (gpe)
        {
            ushort reg = offset < 2 ? _gpeStatus : _gpeEnable;
            return (byte)(reg >> (8 * (offset & 1)));
        }

        return offset switch
        {
            0 or 1 => (byte)(_status >> (8 * offset)),
            2 or 3 => (byte)(_enable >> (8 * (offset - 2))),
            4 or 5 => (byte)((_control & ~SlpEn) >> (8 * (offset - 4))), // SLP_EN reads 0
            8 or 9 or 10 => (byte)(ticks >> (8 * (offset - 8))),
            _ => 0, // bits 31:24 of PM_TMR read 0; 0x606-0x607 are not registers
        };
    }

    private void WriteByte(int offset, bool gpe, byte value)
    {
        if (gpe)
        {
            int shift = 8 * (offset & 1);
            if (offset < 2)
            {
                _gpeStatus &= (ushort)~(value << shift);
            }
            else
            {
                _gpeEnable = (ushort)((_gpeEnable & ~(0xFF << shift)) | (value << shift));
            }

            return;
        }

        switch (offset)
        {
            case 0 or 1:
                _status &= (ushort)~(value << (8 * offset));
                break;
            case 2 or 3:
                {
                    int shift = 8 * (offset - 2);
                    _enable = (ushort)(((_enable & ~(0xFF << shift)) | (value << shift)) & EnableMask);
                    break;
                }

            case 4:
                _control = (ushort)((_control & 0xFF00) | (value & (BmRld | GblRls)) | SciEn);
                if ((value & GblRls) != 0)
                {
                    _status |= GblSts; // the OS releasing the global lock signals the firmware; here nobody listens
                }

                break;
            case 5:
                _control = (ushort)((_control & 0x00FF) | ((value << 8) & SlpTypMask));
                if (((value << 8) & SlpEn) != 0 && (_control & SlpTypMask) >> SlpTypShift == 0)
                {
                    _powerOff(); // S5: soft off
                }

                break;
        }
    }

    private ulong Read(ulong offset, int size, bool gpe)
    {
        lock (_lock)
        {
            CatchUp();
            ulong ticks = Ticks();
            ulong value = 0;
            for (int i = 0; i < size; i++)
            {
                value |= (ulong)ReadByte((int)offset + i, gpe, ticks) << (8 * i);
            }

            return value;
        }
    }

    private void Write(ulong offset, int size, ulong value, bool gpe)
    {
        lock (_lock)
        {
            CatchUp();
            for (int i = 0; i < size; i++)
            {
                WriteByte((int)offset + i, gpe, (byte)(value >> (8 * i)));
            }

            UpdateSci();
        }
    }

    private void UpdateSci()
    {
        Sci.Set((_status & _enable & EnableMask) != 0 || (_gpeStatus & _gpeEnable) != 0);
        // Only while TMR_EN is set does anyone need to hear about the next carry on time.
        if ((_enable & TmrSts) != 0 && (_status & TmrSts) == 0)
        {
            ulong next = (_lastCarry + 1) << 23;
            _timer.Schedule((ulong)(((UInt128)next * 1_000_000_000 + TimerHz - 1) / TimerHz));
        }
        else
        {
            _timer.Cancel();
        }
    }

    private void OnTimer()
    {
        lock (_lock)
        {
            CatchUp();
            UpdateSci();
        }
    }

    private void Reset()
    {
        lock (_lock)
        {
            _status = _enable = _gpeStatus = _gpeEnable = 0;
            _control = SciEn;
            _lastCarry = Ticks() >> 23;
            UpdateSci();
        }
    }

    /// <summary>One of the two port blocks; resetting PM1 resets the whole device.</summary>
    private sealed class Block(string name, AcpiPm pm, bool gpe) : IBusDevice
    {
        public string Name => name;

        public ulong Read(ulong offset, int size) => pm.Read(offset, size, gpe);

        public void Write(ulong offset, int size, ulong value) => pm.Write(offset, size, value, gpe);

        public void Reset()
        {
            if (!gpe)
            {
                pm.Reset();
            }
        }
    }
}
