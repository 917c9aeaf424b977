namespace Emulator.Devices.Ps2;

/// <summary>
/// A PS/2 mouse on the 8042's auxiliary port (IBM PS/2 Technical Reference, "Pointing device";
/// the IntelliMouse and IntelliMouse Explorer extensions as Microsoft documents them): it answers
/// the commands the controller passes on with 0xD4, keeps stream or remote mode, sample rate,
/// resolution and scaling, and queues three-byte movement packets (four bytes once the guest has
/// switched it to the wheel protocol, device ID 3, or the five-button protocol, ID 4, with the
/// sample-rate knock sequences 200-100-80 and 200-200-80). Called under the controller's lock.
/// </summary>
public sealed class Ps2Mouse
{
    // Commands (Technical Reference, pointing device command table).
    public const byte SetScaling11 = 0xE6, SetScaling21 = 0xE7, SetResolution = 0xE8, StatusRequest = 0xE9;
    public const byte SetStreamMode = 0xEA, ReadData = 0xEB, ResetWrapMode = 0xEC, SetWrapMode = 0xEE;
    public const byte SetRemoteMode = 0xF0, GetDeviceId = 0xF2, SetSampleRate = 0xF3, EnableReporting = 0xF4;
    public const byte DisableReporting = 0xF5, SetDefaults = 0xF6, Resend = 0xFE, ResetCommand = 0xFF;

    // Responses.
    public const byte Ack = 0xFA, SelfTestPassed = 0xAA, ResendResponse = 0xFE;

    /// <summary>Device IDs: a standard mouse, a wheel mouse (IntelliMouse), a five-button wheel mouse (Explorer).</summary>
    public const byte IdStandard = 0, IdWheel = 3, IdExplorer = 4;

    // Packet byte 0 (Technical Reference, "Data report"): buttons, the always-one bit, signs, overflows.
    public const byte PacketLeft = 0x01, PacketRight = 0x02, PacketMiddle = 0x04, PacketAlwaysOne = 0x08;
    public const byte PacketXSign = 0x10, PacketYSign = 0x20, PacketXOverflow = 0x40, PacketYOverflow = 0x80;

    // Status byte 0 of the status request: right, middle, left buttons (bits 0-2), scaling 2:1 (4), reporting (5), remote (6).
    public const byte StatusScaling21 = 0x10, StatusReporting = 0x20, StatusRemote = 0x40;

    /// <summary>Bytes the mouse buffers; movement beyond it is accumulated, never a partial packet.</summary>
    public const int QueueCapacity = 256;

    private readonly Queue<byte> _queue = new();
    private readonly byte[] _lastPacket = new byte[4];
    private readonly byte[] _rates = new byte[3];
    private byte _pendingCommand;
    private int _lastPacketLength;
    private int _dx, _dy, _dz;

    public Ps2Mouse()
    {
        Reset();
    }

    public byte DeviceId { get; private set; }

    public bool Reporting { get; private set; }

    public bool RemoteMode { get; private set; }

    public bool WrapMode { get; private set; }

    public bool Scaling21 { get; private set; }

    /// <summary>Reports per second (default 100).</summary>
    public byte SampleRate { get; private set; }

    /// <summary>0-3: 1, 2, 4, 8 counts per millimetre (default 2).</summary>
    public byte Resolution { get; private set; }

    /// <summary>Buttons held: bit 0 left, bit 1 right, bit 2 middle, bit 3 fourth, bit 4 fifth.</summary>
    public byte Buttons { get; private set; }

    public bool HasData => _queue.Count > 0;

    public byte Dequeue() => _queue.Dequeue();

    /// <summary>Power-on and the reset command's state: stream mode, reporting off, 100 reports/s, 4 counts/mm, 1:1, ID 0.</summary>
    public void Reset()
    {
        _queue.Clear();
        _pendingCommand = 0;
        DeviceId = IdStandard;
        WrapMode = false;
        SetDefaultState();
        Buttons = 0;
        _lastPacketLength = 0;
        Array.Clear(_rates);
    }

    private void SetDefaultState()
    {
        Reporting = false;
        RemoteMode = false;
        Scaling21 = false;
        SampleRate = 100;
        Resolution = 2;
        ClearCounters();
    }

    private void ClearCounters() => _dx = _dy = _dz = 0;

    /// <summary>A byte from the controller (the guest's 0xD4 then port 0x60 write).</summary>
    public void Receive(byte value)
    {
        if (_pendingCommand != 0)
        {
            byte command = _pendingCommand;
            _pendingCommand = 0;
            if (command == SetSampleRate)
            {
                SampleRate = value;
                NoteSampleRate(value);
                Respond(Ack);
                return;
            }

            if (command == SetResolution)
            {
                Resolution = (byte)(value & 3);
                Respond(Ack);
                return;
            }
        }

        if (WrapMode && value is not (ResetWrapMode or ResetCommand))
        {
            Respond(value); // wrap (echo) mode: every other byte comes straight back
            return;
        }

        switch (value)
        {
            case SetScaling11:
                Scaling21 = false;
                Respond(Ack);
                break;
            case SetScaling21:
                Scaling21 = true;
                Respond(Ack);
                break;
            case SetResolution:
            case SetSampleRate:
                _pendingCommand = value;
                Respond(Ack);
                break;
            case StatusRequest:
                Respond(Ack, StatusByte(), Resolution, SampleRate);
                break;
            case SetStreamMode:
                RemoteMode = false;
                ClearCounters();
                Respond(Ack);
                break;
            case ReadData:
                Respond(Ack);
                QueuePacket();
                break;
            case ResetWrapMode:
                WrapMode = false;
                Respond(Ack);
                break;
            case SetWrapMode:
                WrapMode = true;
                Respond(Ack);
                break;
            case SetRemoteMode:
                RemoteMode = true;
                ClearCounters();
                Respond(Ack);
                break;
            case GetDeviceId:
                Respond(Ack, DeviceId);
                break;
            case EnableReporting:
                // Enabling, disabling and the mode changes also clear the movement counters.
                Reporting = true;
                ClearCounters();
                Respond(Ack);
                break;
            case DisableReporting:
                Reporting = false;
                ClearCounters();
                Respond(Ack);
                break;
            case SetDefaults:
                SetDefaultState();
                Respond(Ack);
                break;
            case Resend:
                Respond(_lastPacket.AsSpan(0, Math.Max(_lastPacketLength, 1)));
                break;
            case ResetCommand:
                Reset();
                Respond(Ack, SelfTestPassed, DeviceId);
                break;
            default:
                Respond(ResendResponse);
                break;
        }
    }

    /// <summary>
    /// Host side: relative motion (x right, y up, as PS/2 counts it; z wheel, positive towards the
    /// user) and the buttons now held. In stream mode with reporting on it queues packets at once;
    /// otherwise the motion waits for a Read Data command.
    /// </summary>
    public void Move(int dx, int dy, int dz, byte buttons)
    {
        _dx = Math.Clamp(_dx + dx, -4096, 4096);
        _dy = Math.Clamp(_dy + dy, -4096, 4096);
        _dz = Math.Clamp(_dz + dz, -4096, 4096);
        bool buttonsChanged = buttons != Buttons;
        Buttons = buttons;
        if (!Reporting || RemoteMode || WrapMode)
        {
            return;
        }

        // One packet per call carries up to +-255 counts per axis; larger moves are split.
        while ((_dx != 0 || _dy != 0 || _dz != 0 || buttonsChanged) && QueuePacket())
        {
            buttonsChanged = false;
        }
    }

    private int PacketLength => DeviceId == IdStandard ? 3 : 4;

    // Builds one packet from the accumulated motion; false when the buffer has no room.
    private bool QueuePacket()
    {
        int length = PacketLength;
        if (_queue.Count + length > QueueCapacity)
        {
            return false;
        }

        int dx = Math.Clamp(_dx, -255, 255), dy = Math.Clamp(_dy, -255, 255);
        int dz = DeviceId == IdExplorer ? Math.Clamp(_dz, -8, 7) : Math.Clamp(_dz, -128, 127);
        if (DeviceId == IdStandard)
        {
            dz = 0;
            _dz = 0;
        }

        _dx -= dx;
        _dy -= dy;
        _dz -= dz;

        byte b0 = (byte)(PacketAlwaysOne | (Buttons & 7));
        if (dx < 0)
        {
            b0 |= PacketXSign;
        }

        if (dy < 0)
        {
            b0 |= PacketYSign;
        }

        _lastPacket[0] = b0;
        _lastPacket[1] = (byte)dx;
        _lastPacket[2] = (byte)dy;
        _lastPacket[3] = DeviceId == IdExplorer
            ? (byte)((dz & 0x0F) | ((Buttons & 0x18) << 1)) // Z in bits 3:0, buttons 4 and 5 in bits 4 and 5
            : (byte)dz;
        _lastPacketLength = length;
        Respond(_lastPacket.AsSpan(0, length));
        return true;
    }

    private byte StatusByte()
    {
        // Status byte 0 lists the buttons as left in bit 2, middle in bit 1, right in bit 0.
        byte b = (byte)(((Buttons & PacketLeft) != 0 ? 4 : 0) | ((Buttons & PacketMiddle) != 0 ? 2 : 0) | ((Buttons & PacketRight) != 0 ? 1 : 0));
        if (Scaling21)
        {
            b |= StatusScaling21;
        }

        if (Reporting)
        {
            b |= StatusReporting;
        }

        if (RemoteMode)
        {
            b |= StatusRemote;
        }

        return b;
    }

    // The knock sequences: sample rates 200, 100, 80 switch a standard mouse to the wheel protocol;
    // 200, 200, 80 switch a wheel mouse to the five-button protocol.
    private void NoteSampleRate(byte rate)
    {
        _rates[0] = _rates[1];
        _rates[1] = _rates[2];
        _rates[2] = rate;
        if (_rates[0] == 200 && _rates[1] == 100 && _rates[2] == 80 && DeviceId == IdStandard)
        {
            DeviceId = IdWheel;
        }
        else if (_rates[0] == 200 && _rates[1] == 200 && _rates[2] == 80 && DeviceId == IdWheel)
        {
            DeviceId = IdExplorer;
        }
    }

    private void Respond(params ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            _queue.Enqueue(b);
        }
    }
}
