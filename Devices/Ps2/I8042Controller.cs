using Emulator.Devices.Interrupts;
using Emulator.Mmu;

namespace Emulator.Devices.Ps2;

/// <summary>
/// The 8042 keyboard controller of PC/AT-compatible machines (IBM PS/2 Technical Reference, "Keyboard
/// and auxiliary device controller"): data port 0x60, status/command port 0x64, a one-byte output
/// buffer fed from the keyboard (<see cref="Ps2Keyboard"/>) with IRQ 1, the command byte (interrupt
/// enables, system flag, interface disables, translation) and the output port (bit 0 resets the CPU
/// when driven low, bit 1 is the A20 gate, driven out through the board's callback). The auxiliary
/// port has a PS/2 mouse (<see cref="Ps2Mouse"/>): 0xD4 sends it a byte, its answers and packets
/// arrive with the status register's AUX bit and IRQ 12, and 0xA7/0xA8 hold and release its
/// interface. Host threads may call <see cref="KeyDown"/>/<see cref="SendScancode"/>/
/// <see cref="MouseMove"/>; everything runs under one lock.
/// </summary>
public sealed class I8042Controller
{
    public const ushort DataPortNumber = 0x60, CommandPortNumber = 0x64;
    public const int KeyboardIrq = 1, AuxIrq = 12;

    // Status register bits.
    public const byte StatusOutputFull = 0x01, StatusInputFull = 0x02, StatusSystem = 0x04, StatusCommand = 0x08;
    public const byte StatusNotInhibited = 0x10, StatusAuxData = 0x20, StatusTimeout = 0x40, StatusParity = 0x80;

    // Command byte bits.
    public const byte ConfigKeyboardInterrupt = 0x01, ConfigAuxInterrupt = 0x02, ConfigSystem = 0x04;
    public const byte ConfigKeyboardDisabled = 0x10, ConfigAuxDisabled = 0x20, ConfigTranslate = 0x40;

    // Output port bits.
    public const byte OutputResetHigh = 0x01, OutputA20 = 0x02, OutputKeyboardFull = 0x10, OutputAuxFull = 0x20;

    // Controller commands.
    public const byte ReadConfig = 0x20, WriteConfig = 0x60, DisableAux = 0xA7, EnableAux = 0xA8, TestAux = 0xA9;
    public const byte SelfTest = 0xAA, TestKeyboard = 0xAB, DisableKeyboard = 0xAD, EnableKeyboard = 0xAE;
    public const byte ReadInputPort = 0xC0, ReadOutputPort = 0xD0, WriteOutputPort = 0xD1, WriteKeyboardBuffer = 0xD2;
    public const byte WriteAuxBuffer = 0xD3, WriteAux = 0xD4, DisableA20 = 0xDD, EnableA20 = 0xDF, ReadTestInputs = 0xE0;
    public const byte PulseReset = 0xFE;

    public const byte SelfTestPassed = 0x55, InterfaceTestPassed = 0x00;

    /// <summary>The command byte after power-on: keyboard interrupt, system flag, translation.</summary>
    public const byte DefaultConfig = ConfigKeyboardInterrupt | ConfigSystem | ConfigTranslate;

    private readonly object _lock = new();
    private readonly Queue<(byte Value, bool Aux)> _controllerOutput = new();
    private readonly byte[] _ram = new byte[32];
    private readonly Action _resetCpu;
    private readonly Action<bool>? _setA20;
    private byte _status;
    private byte _outputPort;
    private byte _outputBuffer;
    private byte _pendingCommand;
    private bool _breakPending;

    /// <param name="setA20">Receives the output port's A20 bit whenever the guest writes it (and true at reset).</param>
    public I8042Controller(InterruptLine keyboardIrq, InterruptLine auxIrq, Action resetCpu, Action<bool>? setA20 = null)
    {
        KeyboardIrqLine = keyboardIrq;
        AuxIrqLine = auxIrq;
        _resetCpu = resetCpu;
        _setA20 = setA20;
        DataPort = new Port("i8042-data", this, data: true);
        CommandPort = new Port("i8042-cmd", this, data: false);
        PowerOn();
    }

    public IBusDevice DataPort { get; }

    public IBusDevice CommandPort { get; }

    public InterruptLine KeyboardIrqLine { get; }

    public InterruptLine AuxIrqLine { get; }

    public Ps2Keyboard Keyboard { get; } = new();

    public Ps2Mouse Mouse { get; } = new();

    /// <summary>The output port's A20 bit.</summary>
    public bool A20Enabled
    {
        get
        {
            lock (_lock)
            {
                return (_outputPort & OutputA20) != 0;
            }
        }
    }

    public byte Config => _ram[0];

    /// <summary>Host side: a key pressed, as its set-2 make code (above 0xFF: 0xE0-prefixed, e.g. 0xE075 = up arrow).</summary>
    public void KeyDown(ushort set2Code) => SendScancode(Set2Bytes(set2Code, release: false));

    /// <summary>Host side: a key released (the same code as <see cref="KeyDown"/>).</summary>
    public void KeyUp(ushort set2Code) => SendScancode(Set2Bytes(set2Code, release: true));

    /// <summary>
    /// Host side: the pointer moved by (<paramref name="dx"/>, <paramref name="dy"/>) counts (y up),
    /// the wheel by <paramref name="dz"/>, with <paramref name="buttons"/> held (bit 0 left, 1 right,
    /// 2 middle, 3 and 4 the side buttons).
    /// </summary>
    public void MouseMove(int dx, int dy, int dz, byte buttons)
    {
        lock (_lock)
        {
            Mouse.Move(dx, dy, dz, buttons);
            Pump();
        }
    }

    /// <summary>Host side: raw set-2 bytes from the keyboard (translated to set 1 when the command byte says so).</summary>
    public void SendScancode(params ReadOnlySpan<byte> set2Bytes)
    {
        lock (_lock)
        {
            Keyboard.Send(set2Bytes);
            Pump();
        }
    }

    private static byte[] Set2Bytes(ushort code, bool release)
    {
        var bytes = new List<byte>(3);
        if (code > 0xFF)
        {
            bytes.Add((byte)(code >> 8));
        }

        if (release)
        {
            bytes.Add(ScancodeTranslation.BreakPrefix);
        }

        bytes.Add((byte)code);
        return [.. bytes];
    }

    private void PowerOn()
    {
        _ram.AsSpan().Clear();
        _ram[0] = DefaultConfig;
        _status = StatusNotInhibited;
        _outputPort = OutputResetHigh | OutputA20;
        _pendingCommand = 0;
        _breakPending = false;
        _controllerOutput.Clear();
        Keyboard.Reset();
        Mouse.Reset();
        KeyboardIrqLine.Set(false);
        AuxIrqLine.Set(false);
        _setA20?.Invoke(true);
    }

    private byte ReadData()
    {
        lock (_lock)
        {
            byte value = _outputBuffer;
            if ((_status & StatusOutputFull) != 0)
            {
                _status &= unchecked((byte)~(StatusOutputFull | StatusAuxData));
                UpdateIrqs();
                Pump();
            }

            return value;
        }
    }

    private byte ReadStatus()
    {
        lock (_lock)
        {
            return _status;
        }
    }

    private void WriteData(byte value)
    {
        lock (_lock)
        {
            _status &= unchecked((byte)~StatusCommand);
            byte command = _pendingCommand;
            _pendingCommand = 0;
            switch (command)
            {
                case >= WriteConfig and <= 0x7F:
                    _ram[command - WriteConfig] = value;
                    if (command == WriteConfig)
                    {
                        _status = (byte)((_status & ~StatusSystem) | (value & ConfigSystem));
                    }

                    UpdateIrqs();
                    break;
                case WriteOutputPort:
                    WriteOutput(value);
                    break;
                case WriteKeyboardBuffer:
                    _controllerOutput.Enqueue((value, false));
                    break;
                case WriteAuxBuffer:
                    _controllerOutput.Enqueue((value, true));
                    break;
                case WriteAux:
                    Mouse.Receive(value);
                    break;
                default:
                    // A byte for the keyboard; sending to it enables its interface (Technical Reference).
                    _ram[0] &= unchecked((byte)~ConfigKeyboardDisabled);
                    Keyboard.Receive(value);
                    break;
            }

            Pump();
        }
    }

    private void WriteCommand(byte command)
    {
        bool reset = false;
        lock (_lock)
        {
            _status |= StatusCommand;
            _pendingCommand = 0;
            switch (command)
            {
                case >= ReadConfig and <= 0x3F:
                    Answer(_ram[command - ReadConfig]);
                    break;
                case >= WriteConfig and <= 0x7F:
                case WriteOutputPort:
                case WriteKeyboardBuffer:
                case WriteAuxBuffer:
                case WriteAux:
                    _pendingCommand = command;
                    break;
                case DisableAux:
                    _ram[0] |= ConfigAuxDisabled;
                    break;
                case EnableAux:
                    _ram[0] &= unchecked((byte)~ConfigAuxDisabled);
                    break;
                case TestAux:
                case TestKeyboard:
                    Answer(InterfaceTestPassed);
                    break;
                case SelfTest:
                    _status |= StatusSystem;
                    Answer(SelfTestPassed);
                    break;
                case DisableKeyboard:
                    _ram[0] |= ConfigKeyboardDisabled;
                    break;
                case EnableKeyboard:
                    _ram[0] &= unchecked((byte)~ConfigKeyboardDisabled);
                    break;
                case ReadInputPort:
                    Answer(0x80); // bit 7: keyboard not inhibited by the key lock
                    break;
                case ReadOutputPort:
                    Answer(OutputPortValue());
                    break;
                case DisableA20:
                    _outputPort &= unchecked((byte)~OutputA20);
                    _setA20?.Invoke(false);
                    break;
                case EnableA20:
                    _outputPort |= OutputA20;
                    _setA20?.Invoke(true);
                    break;
                case ReadTestInputs:
                    Answer(0x00);
                    break;
                case >= 0xF0:
                    // Pulse output port bits 3-0 low where the command's bit is 0; bit 0 is the CPU reset.
                    reset = (command & OutputResetHigh) == 0;
                    break;
            }

            Pump();
        }

        if (reset)
        {
            _resetCpu();
        }
    }

    private void WriteOutput(byte value)
    {
        _outputPort = (byte)(value | OutputResetHigh);
        _setA20?.Invoke((value & OutputA20) != 0);
        if ((value & OutputResetHigh) == 0)
        {
            // Driving the reset line low resets the CPU (the callback only flags a request to the run loop).
            _resetCpu();
        }
    }

    private byte OutputPortValue()
    {
        byte value = (byte)(_outputPort & 0x0F);
        if ((_status & StatusOutputFull) != 0)
        {
            value |= (_status & StatusAuxData) != 0 ? OutputAuxFull : OutputKeyboardFull;
        }

        return value;
    }

    private void Answer(byte value) => _controllerOutput.Enqueue((value, false));

    // Moves the next byte into the output buffer when it is empty: controller answers first, then the
    // keyboard (while its interface is enabled), translating set 2 to set 1 when asked, then the
    // mouse (while the auxiliary interface is enabled).
    private void Pump()
    {
        while ((_status & StatusOutputFull) == 0)
        {
            if (_controllerOutput.TryDequeue(out var answer))
            {
                Fill(answer.Value, answer.Aux);
                return;
            }

            if ((_ram[0] & ConfigKeyboardDisabled) != 0 || !Keyboard.HasData)
            {
                if ((_ram[0] & ConfigAuxDisabled) == 0 && Mouse.HasData)
                {
                    Fill(Mouse.Dequeue(), aux: true);
                }

                return;
            }

            byte b = Keyboard.Dequeue();
            if ((_ram[0] & ConfigTranslate) != 0)
            {
                if (b == ScancodeTranslation.BreakPrefix)
                {
                    _breakPending = true;
                    continue;
                }

                b = (byte)(ScancodeTranslation.ToSet1(b) | (_breakPending ? 0x80 : 0));
                _breakPending = false;
            }

            Fill(b, aux: false);
        }
    }

    private void Fill(byte value, bool aux)
    {
        _outputBuffer = value;
        _status = (byte)((_status | StatusOutputFull) & ~StatusAuxData);
        if (aux)
        {
            _status |= StatusAuxData;
        }

        UpdateIrqs();
    }

    private void UpdateIrqs()
    {
        bool full = (_status & StatusOutputFull) != 0;
        bool aux = (_status & StatusAuxData) != 0;
        KeyboardIrqLine.Set(full && !aux && (_ram[0] & ConfigKeyboardInterrupt) != 0);
        AuxIrqLine.Set(full && aux && (_ram[0] & ConfigAuxInterrupt) != 0);
    }

    private void Reset()
    {
        lock (_lock)
        {
            PowerOn();
        }
    }

    /// <summary>One of the two ports; the data port's <see cref="Reset"/> resets the controller.</summary>
    private sealed class Port(string name, I8042Controller controller, bool data) : IBusDevice
    {
        public string Name => name;

        public ulong Read(ulong offset, int size) => data ? controller.ReadData() : controller.ReadStatus();

        public void Write(ulong offset, int size, ulong value)
        {
            if (data)
            {
                controller.WriteData((byte)value);
            }
            else
            {
                controller.WriteCommand((byte)value);
            }
        }

        public void Reset()
        {
            if (data)
            {
                controller.Reset();
            }
        }
    }
}
