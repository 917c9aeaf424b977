using Emulator.Devices.Interrupts;
using Emulator.Mmu;

namespace Emulator.Devices.Uart16550;

/// <summary>
/// A 16550A UART (TI/National PC16550D datasheet; register names as there). The transmitter is
/// always ready: a byte written to THR goes straight to <see cref="Output"/>, and LSR reports THRE
/// and TEMT at once, so polling guests never spin. Received bytes queue in a 16-byte-deep FIFO
/// (deeper here, so pasted input is not lost). Interrupts follow the datasheet's priority order
/// (table 4: line status, received data, THR empty, modem status), gated by MCR.OUT2 as on a PC.
/// </summary>
public sealed class Uart16550 : IBusDevice
{
    // Register offsets (datasheet table 2).
    public const int Rbr = 0, Thr = 0, Dll = 0, Ier = 1, Dlm = 1, Iir = 2, Fcr = 2, Lcr = 3, Mcr = 4, Lsr = 5, Msr = 6, Scr = 7;

    // LSR bits (datasheet 8.6.3).
    public const byte LsrDataReady = 0x01;
    public const byte LsrOverrun = 0x02;
    public const byte LsrThrEmpty = 0x20;
    public const byte LsrTransmitterEmpty = 0x40;

    // IER bits.
    public const byte IerReceivedData = 0x01;
    public const byte IerThrEmpty = 0x02;
    public const byte IerLineStatus = 0x04;
    public const byte IerModemStatus = 0x08;

    // MCR bits.
    public const byte McrDtr = 0x01, McrRts = 0x02, McrOut1 = 0x04, McrOut2 = 0x08, McrLoop = 0x10;

    public const int ReceiveCapacity = 4096;

    private readonly object _lock = new();
    private readonly Queue<byte> _receive = new();
    private byte _ier, _lcr, _mcr, _scr, _fcr, _dll = 12, _dlm;
    private bool _thrInterrupt;
    private bool _overrun;

    public Uart16550(string name, InterruptLine irq)
    {
        Name = name;
        Irq = irq;
    }

    public string Name { get; }

    public InterruptLine Irq { get; }

    /// <summary>Where transmitted bytes go (console, file, or nowhere).</summary>
    public Action<byte>? Output { get; set; }

    /// <summary>The divisor latch: the baud rate is 115200 / divisor.</summary>
    public int Divisor
    {
        get
        {
            lock (_lock)
            {
                return _dll | (_dlm << 8);
            }
        }
    }

    private bool Dlab => (_lcr & 0x80) != 0;

    /// <summary>A byte arriving on the serial line (from the host console). Thread-safe.</summary>
    public void Receive(byte value)
    {
        lock (_lock)
        {
            if (_receive.Count >= ReceiveCapacity)
            {
                _overrun = true;
            }
            else
            {
                _receive.Enqueue(value);
            }

            UpdateIrq();
        }
    }

    public ulong Read(ulong offset, int size)
    {
        lock (_lock)
        {
            switch ((int)offset)
            {
                case Rbr when Dlab:
                    return _dll;
                case Rbr:
                    {
                        byte value = _receive.Count > 0 ? _receive.Dequeue() : (byte)0;
                        UpdateIrq();
                        return value;
                    }

                case Ier when Dlab:
                    return _dlm;
                case Ier:
                    return _ier;
                case Iir:
                    {
                        byte id = InterruptId();
                        // Reading IIR when it reports THR empty clears that source (datasheet table 4).
                        if (id == 0x02)
                        {
                            _thrInterrupt = false;
                            UpdateIrq();
                        }

                        return (byte)(id | ((_fcr & 1) != 0 ? 0xC0 : 0));
                    }

                case Lcr:
                    return _lcr;
                case Mcr:
                    return _mcr;
                case Lsr:
                    {
                        byte lsr = (byte)(LsrThrEmpty | LsrTransmitterEmpty | (_receive.Count > 0 ? LsrDataReady : 0) | (_overrun ? LsrOverrun : 0));
                        _overrun = false;
                        UpdateIrq();
                        return lsr;
                    }

                case Msr:
                    // In loopback the modem inputs follow the outputs (datasheet 8.6.5); otherwise report
                    // CTS, DSR and DCD asserted, a cable with a terminal on the other end.
                    return (_mcr & McrLoop) != 0
                        ? (byte)((((_mcr & McrRts) != 0) ? 0x10 : 0) | (((_mcr & McrDtr) != 0) ? 0x20 : 0) | (((_mcr & McrOut1) != 0) ? 0x40 : 0) | (((_mcr & McrOut2) != 0) ? 0x80 : 0))
                        : (byte)0xB0;
                default:
                    return _scr;
            }
        }
    }

    public void Write(ulong offset, int size, ulong value)
    {
        var b = (byte)value;
        Action<byte>? output = null;
        lock (_lock)
        {
            switch ((int)offset)
            {
                case Thr when Dlab:
                    _dll = b;
                    break;
                case Thr:
                    if ((_mcr & McrLoop) != 0)
                    {
                        if (_receive.Count < ReceiveCapacity)
                        {
                            _receive.Enqueue(b);
                        }
                    }
                    else
                    {
                        output = Output;
                    }

                    // The byte leaves at once, so THR is empty again: raise THRE if enabled.
                    _thrInterrupt = true;
                    break;
                case Ier when Dlab:
                    _dlm = b;
                    break;
                case Ier:
                    {
                        bool enablingThre = (b & IerThrEmpty) != 0 && (_ier & IerThrEmpty) == 0;
                        _ier = (byte)(b & 0x0F);
                        if (enablingThre)
                        {
                            _thrInterrupt = true;
                        }

                        break;
                    }

                case Fcr:
                    _fcr = (byte)(b & 0xC9);
                    if ((b & 0x02) != 0)
                    {
                        _receive.Clear();
                    }

                    break;
                case Lcr:
                    _lcr = b;
                    break;
                case Mcr:
                    _mcr = (byte)(b & 0x1F);
                    break;
                case Lsr:
                case Msr:
                    break; // read-only (factory test use only)
                default:
                    _scr = b;
                    break;
            }

            UpdateIrq();
        }

        output?.Invoke(b);
    }

    /// <summary>IIR bits 3..0: the highest-priority pending source, or 1 for none.</summary>
    private byte InterruptId()
    {
        if ((_ier & IerLineStatus) != 0 && _overrun)
        {
            return 0x06;
        }

        if ((_ier & IerReceivedData) != 0 && _receive.Count > 0)
        {
            return 0x04;
        }

        if ((_ier & IerThrEmpty) != 0 && _thrInterrupt)
        {
            return 0x02;
        }

        return 0x01;
    }

    private void UpdateIrq()
    {
        Irq.Set((_mcr & McrOut2) != 0 && InterruptId() != 0x01);
    }

    public void Reset()
    {
        lock (_lock)
        {
            _receive.Clear();
            _ier = _lcr = _mcr = _scr = _fcr = _dlm = 0;
            _dll = 12;
            _thrInterrupt = false;
            _overrun = false;
            UpdateIrq();
        }
    }
}
