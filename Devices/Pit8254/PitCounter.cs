namespace Emulator.Devices.Pit8254;

/// <summary>
/// One counter of the 8254 (Intel 8254 datasheet, order no. 231164, "Modes" and figures 11-16),
/// computed from time rather than clocked: a running counter remembers the CLK tick at which its
/// count element (CE) was loaded, and the count and OUT at any later tick follow from the elapsed
/// ticks <c>d</c>. All methods take the current tick so the device can also evaluate a counter at a
/// past timer deadline.
/// </summary>
/// <remarks>
/// Simplifications, each within one CLK period (838 ns): the CE is loaded at the instant the count
/// is written (the datasheet loads it on the next CLK falling edge, so OUT in mode 0 rises N+1
/// rather than N clocks later), and in mode 0 writing the first byte of a two-byte count does not
/// stop the counter. Counts of 1 in modes 2 and 3 are illegal (datasheet, mode 2) and run as 2.
/// </remarks>
internal sealed class PitCounter
{
    // Control word fields (datasheet figure 7): RW1..RW0 access, M2..M0 mode, BCD.
    public const int AccessLatch = 0, AccessLsb = 1, AccessMsb = 2, AccessLsbMsb = 3;

    private int _access = AccessLsb;
    private int _modeBits;
    private bool _bcd;

    private bool _counting;    // a count is in the CE and (modes 1, 5) has been triggered
    private bool _hasCount;    // a count has been written since the control word
    private int _countRegister; // CR: the initial count as written (16 bits, BCD or binary)
    private int _initial;       // N: the count the CE started from, as a number of clocks
    private ulong _loadTick;    // CLK tick at which the CE was loaded (d = 0)
    private bool _frozen;       // gate low stops counting (modes 0, 2, 3, 4)
    private ulong _frozenElapsed;
    private int _idleCount;     // what the CE reads while not counting

    // Modes 2 and 3: a count written while counting takes effect at the next reload.
    private bool _pending;
    private int _pendingInitial;
    private ulong _pendingTick;

    private bool _gate = true;
    private bool _nullCount = true;

    private bool _countLatched;
    private int _latchedCount;
    private bool _statusLatched;
    private byte _status;
    private bool _readMsbNext;
    private bool _writeMsbNext;
    private byte _writeLsb;

    public int Mode => _modeBits > 5 ? _modeBits - 4 : _modeBits; // M2 is "don't care" for modes 2, 3

    private int Modulus => _bcd ? 10_000 : 65_536;

    public void Reset()
    {
        _access = AccessLsb;
        _modeBits = 0;
        _bcd = false;
        _counting = _hasCount = _frozen = _pending = false;
        _countRegister = _initial = _idleCount = 0;
        _nullCount = true;
        _countLatched = _statusLatched = _readMsbNext = _writeMsbNext = false;
    }

    /// <summary>A control word with RW != 00 for this counter (datasheet, "Write Operations").</summary>
    public void Program(int access, int modeBits, bool bcd, ulong now)
    {
        _idleCount = Count(now);
        _access = access;
        _modeBits = modeBits;
        _bcd = bcd;
        _counting = _hasCount = _frozen = _pending = false;
        _nullCount = true;
        _readMsbNext = _writeMsbNext = false;
    }

    /// <summary>Counter Latch Command (RW = 00): a second latch before the count is read is ignored.</summary>
    public void LatchCount(ulong now)
    {
        if (!_countLatched)
        {
            _latchedCount = Encode(Count(now));
            _countLatched = true;
        }
    }

    /// <summary>Read-Back Command with STATUS = 0 (datasheet figure 10, status byte).</summary>
    public void LatchStatus(ulong now)
    {
        if (!_statusLatched)
        {
            _status = (byte)((Out(now) ? 0x80 : 0) | (_nullCount ? 0x40 : 0) | (_access << 4) | (_modeBits << 1) | (_bcd ? 1 : 0));
            _statusLatched = true;
        }
    }

    public byte Read(ulong now)
    {
        Normalize(now);
        if (_statusLatched)
        {
            _statusLatched = false;
            return _status;
        }

        int value = _countLatched ? _latchedCount : Encode(Count(now));
        bool msb = _access switch
        {
            AccessMsb => true,
            AccessLsbMsb => _readMsbNext,
            _ => false,
        };
        if (_access == AccessLsbMsb)
        {
            _readMsbNext = !_readMsbNext;
        }

        if (_countLatched && (_access != AccessLsbMsb || msb))
        {
            _countLatched = false;
        }

        return (byte)(msb ? value >> 8 : value);
    }

    public void Write(byte value, ulong now)
    {
        Normalize(now);
        switch (_access)
        {
            case AccessMsb:
                Load(value << 8, now);
                break;
            case AccessLsbMsb when !_writeMsbNext:
                _writeLsb = value;
                _writeMsbNext = true;
                break;
            case AccessLsbMsb:
                _writeMsbNext = false;
                Load(_writeLsb | (value << 8), now);
                break;
            default:
                Load(value, now);
                break;
        }
    }

    /// <summary>The GATE input (datasheet table "Gate Pin Operations Summary").</summary>
    public void SetGate(bool level, ulong now)
    {
        Normalize(now);
        bool rising = level && !_gate;
        _gate = level;
        switch (Mode)
        {
            case 0 or 4 when _counting:
                if (!level && !_frozen)
                {
                    _frozenElapsed = now - _loadTick;
                    _frozen = true;
                }
                else if (level && _frozen)
                {
                    _loadTick = now - _frozenElapsed;
                    _frozen = false;
                }

                break;
            case 2 or 3 when _hasCount:
                if (!level && _counting && !_frozen)
                {
                    // Counting stops and OUT goes high at once; the CE keeps its value.
                    _idleCount = Count(now);
                    _frozen = true;
                }
                else if (rising)
                {
                    Start(now);
                }

                break;
            case 1 or 5 when rising && _hasCount:
                Start(now);
                break;
        }
    }

    public bool Out(ulong now)
    {
        Normalize(now);
        if (!_counting)
        {
            return Mode != 0;
        }

        if (_frozen && Mode is 2 or 3)
        {
            return true;
        }

        ulong d = Elapsed(now);
        ulong n = (ulong)_initial;
        return Mode switch
        {
            0 or 1 => d >= n,
            2 => d % n != n - 1,
            3 => d % n < (n + 1) / 2,
            _ => d != n,
        };
    }

    /// <summary>The first tick after <paramref name="now"/> at which OUT changes, or null when it never will on its own.</summary>
    public ulong? NextOutEdge(ulong now)
    {
        Normalize(now);
        if (!_counting || _frozen)
        {
            return null;
        }

        ulong d = Elapsed(now);
        ulong n = (ulong)_initial;
        ulong r = d % n;
        ulong? next = Mode switch
        {
            0 or 1 => d < n ? n : null,
            2 => r < n - 1 ? d - r + n - 1 : d - r + n,
            3 => r < (n + 1) / 2 ? d - r + (n + 1) / 2 : d - r + n,
            _ => d < n ? n : d == n ? n + 1 : null,
        };
        return next is { } edge ? _loadTick + edge : null;
    }

    private ulong Elapsed(ulong now) => _frozen ? _frozenElapsed : now - _loadTick;

    // The CE as a binary number 0..Modulus-1 (a CE holding 0 stands for 2^16 or 10^4 clocks).
    private int Count(ulong now)
    {
        Normalize(now);
        if (!_counting || _frozen && Mode is 2 or 3)
        {
            return _idleCount;
        }

        ulong d = Elapsed(now);
        ulong n = (ulong)_initial;
        ulong m = (ulong)Modulus;
        ulong value = Mode switch
        {
            2 => n - d % n,
            3 => n - 2 * d % n, // mode 3 decrements by two (datasheet, mode 3)
            _ => (n + m - d % m) % m,
        };
        return (int)(value % m);
    }

    private void Load(int count, ulong now)
    {
        _countRegister = count;
        _hasCount = true;
        _nullCount = true;
        switch (Mode)
        {
            case 0 or 4:
                Start(now);
                if (!_gate)
                {
                    _frozenElapsed = 0;
                    _frozen = true;
                }

                break;
            case 2 or 3 when _counting && !_frozen:
                // The new count is used from the end of the current period (datasheet, modes 2, 3).
                ulong n = (ulong)_initial;
                _pending = true;
                _pendingInitial = Clocks(count);
                _pendingTick = _loadTick + ((now - _loadTick) / n + 1) * n;
                break;
            case 2 or 3 when _gate:
                Start(now);
                break;
        }
    }

    private void Start(ulong now)
    {
        _initial = Clocks(_countRegister);
        _loadTick = now;
        _counting = true;
        _frozen = false;
        _pending = false;
        _nullCount = false;
    }

    private void Normalize(ulong now)
    {
        if (_pending && now >= _pendingTick)
        {
            _pending = false;
            _initial = _pendingInitial;
            _loadTick = _pendingTick;
            _nullCount = false;
        }
    }

    // The number of clocks an initial count stands for.
    private int Clocks(int count)
    {
        int value = count;
        if (_bcd)
        {
            value = (count & 0xF) + ((count >> 4) & 0xF) * 10 + ((count >> 8) & 0xF) * 100 + ((count >> 12) & 0xF) * 1000;
            value %= Modulus;
        }

        if (value == 0)
        {
            value = Modulus;
        }

        return Mode is 2 or 3 && value < 2 ? 2 : value;
    }

    private int Encode(int value) => _bcd
        ? value % 10 | value / 10 % 10 << 4 | value / 100 % 10 << 8 | value / 1000 % 10 << 12
        : value & 0xFFFF;
}
