namespace Emulator.Devices.Ps2;

/// <summary>
/// A PS/2 keyboard (IBM PS/2 Technical Reference, "Keyboard commands"): it answers the commands the
/// controller passes on and queues scan codes for the controller to fetch. Its native set is set 2;
/// the host side (<see cref="I8042Controller.KeyDown"/>) sends set-2 codes, converted to set 1 here
/// when the guest selected set 1. Set 3 is accepted and reported but sends set-2 codes. Called under
/// the controller's lock.
/// </summary>
public sealed class Ps2Keyboard
{
    // Commands (Technical Reference, keyboard command table).
    public const byte SetLeds = 0xED, Echo = 0xEE, ScancodeSet = 0xF0, Identify = 0xF2, Typematic = 0xF3;
    public const byte Enable = 0xF4, DisableAndDefaults = 0xF5, SetDefaults = 0xF6, Resend = 0xFE, ResetCommand = 0xFF;

    // Responses.
    public const byte Ack = 0xFA, SelfTestPassed = 0xAA, ResendResponse = 0xFE, IdFirst = 0xAB, IdSecond = 0x83, IdSecondTranslated = 0x41;

    /// <summary>The keyboard's own buffer (16 keystrokes on the original; deeper here so pasted input is kept).</summary>
    public const int QueueCapacity = 256;

    private readonly Queue<byte> _queue = new();
    private byte _pendingCommand;
    private byte _lastSent;

    public int ScancodeSetNumber { get; private set; } = 2;

    public bool Scanning { get; private set; } = true;

    /// <summary>Scroll lock (bit 0), num lock (bit 1), caps lock (bit 2).</summary>
    public byte Leds { get; private set; }

    /// <summary>Typematic rate and delay byte (default 0x2B: 10.9 characters/s, 500 ms).</summary>
    public byte TypematicByte { get; private set; } = 0x2B;

    public bool HasData => _queue.Count > 0;

    public byte Dequeue()
    {
        _lastSent = _queue.Dequeue();
        return _lastSent;
    }

    public void Reset()
    {
        _queue.Clear();
        _pendingCommand = 0;
        SetDefaultState();
        Scanning = true;
        Leds = 0;
    }

    /// <summary>A byte from the controller (the guest's write to port 0x60).</summary>
    public void Receive(byte value)
    {
        if (_pendingCommand != 0)
        {
            byte command = _pendingCommand;
            _pendingCommand = 0;
            switch (command)
            {
                case SetLeds:
                    Leds = (byte)(value & 7);
                    Respond(Ack);
                    return;
                case Typematic:
                    TypematicByte = (byte)(value & 0x7F);
                    Respond(Ack);
                    return;
                case ScancodeSet when value == 0:
                    // A translating controller turns 1, 2, 3 into 0x43, 0x41, 0x3F on the way.
                    Respond(Ack, (byte)ScancodeSetNumber);
                    return;
                case ScancodeSet when value is >= 1 and <= 3:
                    ScancodeSetNumber = value;
                    Respond(Ack);
                    return;
                case ScancodeSet:
                    Respond(ResendResponse);
                    return;
            }
        }

        switch (value)
        {
            case SetLeds:
            case Typematic:
            case ScancodeSet:
                _pendingCommand = value;
                Respond(Ack);
                break;
            case Echo:
                Respond(Echo);
                break;
            case Identify:
                // An MF2 keyboard; through a translating controller the second byte arrives as 0x41.
                Respond(Ack, IdFirst, IdSecond);
                break;
            case Enable:
                _queue.Clear();
                Scanning = true;
                Respond(Ack);
                break;
            case DisableAndDefaults:
                SetDefaultState();
                Scanning = false;
                Respond(Ack);
                break;
            case SetDefaults:
                SetDefaultState();
                Respond(Ack);
                break;
            case Resend:
                Respond(_lastSent);
                break;
            case ResetCommand:
                _queue.Clear();
                SetDefaultState();
                Scanning = true;
                Leds = 0;
                Respond(Ack, SelfTestPassed);
                break;
            case >= 0xF7 and <= 0xFD:
                Respond(Ack); // the set-3 key type commands: acknowledged, no effect
                break;
            default:
                Respond(ResendResponse);
                break;
        }
    }

    /// <summary>Queues one key's set-2 bytes (a make or a break), as the current scan code set.</summary>
    public void Send(ReadOnlySpan<byte> set2)
    {
        if (!Scanning || _queue.Count + set2.Length + 1 > QueueCapacity)
        {
            return;
        }

        bool release = false;
        foreach (byte b in set2)
        {
            if (ScancodeSetNumber != 1)
            {
                _queue.Enqueue(b);
            }
            else if (b == ScancodeTranslation.BreakPrefix)
            {
                release = true;
            }
            else
            {
                _queue.Enqueue(b == 0xE0 || b == 0xE1 ? b : (byte)(ScancodeTranslation.ToSet1(b) | (release ? 0x80 : 0)));
                release = false;
            }
        }
    }

    private void SetDefaultState()
    {
        ScancodeSetNumber = 2;
        TypematicByte = 0x2B;
    }

    private void Respond(params ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            _queue.Enqueue(b);
        }
    }
}
