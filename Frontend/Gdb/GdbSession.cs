using System.Text;
using Emulator.Machine.Debugging;

namespace Emulator.Frontend.Gdb;

/// <summary>
/// Serves one client's packets until it detaches, kills, disconnects or the guest exits. Commands
/// and replies are those of the GDB manual's "Remote Protocol" appendix ("Packets", "Stop Reply
/// Packets", "General Query Packets"), in all-stop mode with one thread (id 1), as QEMU's gdbstub
/// serves a one-CPU guest. A malformed packet gets an error reply, an unknown one the empty reply;
/// nothing a client sends ends the session except <c>D</c>, <c>k</c> or closing the connection.
/// </summary>
public sealed class GdbSession
{
    /// <summary>Largest packet we accept and announce in qSupported (hex, as the manual asks).</summary>
    public const int PacketSize = 0x4000;

    // Error numbers as QEMU's gdbstub uses them: errno values EINVAL and EFAULT, and a generic one.
    private const string ErrorGeneric = "E01";
    private const string ErrorBadAddress = "E14";
    private const string ErrorInvalid = "E22";

    private const string ThreadId = "01";

    private readonly IDebugTarget _target;
    private readonly GdbConnection _connection;
    private readonly GdbServer _server;
    private readonly Action<string>? _trace;
    private readonly Queue<byte[]> _deferred = new();

    /// <summary>What this client inserted, to tell software from hardware breakpoint stops and to clean up.</summary>
    private readonly List<(BreakpointKind Kind, ulong Address, int Length)> _breakpoints = [];

    public GdbSession(IDebugTarget target, GdbConnection connection, GdbServer server, Action<string>? trace)
    {
        _target = target;
        _connection = connection;
        _server = server;
        _trace = trace;
    }

    public GdbSessionEnd Run()
    {
        while (true)
        {
            GdbEvent e = _deferred.TryDequeue(out byte[]? deferred)
                ? new GdbEvent(GdbEventKind.Packet, deferred)
                : _connection.Take();
            switch (e.Kind)
            {
                case GdbEventKind.Packet:
                    if (Dispatch(e.Payload!) is { } end)
                    {
                        return end;
                    }

                    break;
                case GdbEventKind.Nak:
                    _connection.Retransmit();
                    break;
                case GdbEventKind.Disconnected:
                    RemoveAllBreakpoints();
                    return GdbSessionEnd.Disconnected;
                default:
                    // Acks, bad packets (already answered) and a Ctrl-C while stopped need nothing.
                    break;
            }
        }
    }

    private GdbSessionEnd? Dispatch(byte[] payload)
    {
        string packet = Encoding.Latin1.GetString(payload);
        try
        {
            return Handle(packet, payload);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A target that throws answers this packet with an error; the session goes on.
            _trace?.Invoke($"!! {packet}: {ex.GetType().Name}: {ex.Message}");
            Reply(ErrorGeneric);
            return null;
        }
    }

    private GdbSessionEnd? Handle(string packet, byte[] payload)
    {
        if (packet.Length == 0)
        {
            Reply("");
            return null;
        }

        string args = packet[1..];
        switch (packet[0])
        {
            case '?':
                Reply(StopReply(_server.LastStop));
                return null;
            case 'q':
                Query(args);
                return null;
            case 'Q':
                SetQuery(args);
                return null;
            case 'H':
                // "Hg"/"Hc" select the thread for later operations; there is only thread 1.
                Reply(args.Length >= 1 && args[0] is 'g' or 'c' && IsOurThread(args[1..]) ? "OK" : ErrorInvalid);
                return null;
            case 'T':
                Reply(IsOurThread(args) ? "OK" : ErrorInvalid);
                return null;
            case 'g':
                Reply(ReadAllRegisters());
                return null;
            case 'G':
                Reply(WriteAllRegisters(args));
                return null;
            case 'p':
                Reply(ReadRegister(args));
                return null;
            case 'P':
                Reply(WriteRegister(args));
                return null;
            case 'm':
                Reply(ReadMemory(args));
                return null;
            case 'M':
                Reply(WriteMemoryHex(args));
                return null;
            case 'X':
                Reply(WriteMemoryBinary(payload));
                return null;
            case 'c':
            case 's':
                return ResumeWithAddress(args, packet[0] == 's');
            case 'C':
            case 'S':
                // "C sig[;addr]": the guest has no signals to deliver; the signal is dropped, as QEMU does.
                int semicolon = args.IndexOf(';', StringComparison.Ordinal);
                return ResumeWithAddress(semicolon < 0 ? "" : args[(semicolon + 1)..], packet[0] == 'S');
            case 'v':
                return VerbosePacket(packet);
            case 'Z':
            case 'z':
                Reply(Breakpoint(args, insert: packet[0] == 'Z'));
                return null;
            case 'D':
                RemoveAllBreakpoints();
                Reply("OK");
                _server.RunUnattended();
                return GdbSessionEnd.Detached;
            case 'k':
                // "k": no reply; the manual lets the stub close the connection.
                return GdbSessionEnd.Killed;
            default:
                Reply("");
                return null;
        }
    }

    private void Query(string query)
    {
        string name = query.Split([':', ','], 2)[0];
        switch (name)
        {
            case "Supported":
                Reply($"PacketSize={PacketSize:x};qXfer:features:read+;QStartNoAckMode+;vContSupported+;swbreak+;hwbreak+");
                break;
            case "Xfer":
                ReadFeatures(query);
                break;
            case "Attached":
                // We did not start a process for GDB: on quit it detaches rather than kills.
                Reply("1");
                break;
            case "C":
                Reply("QC" + ThreadId);
                break;
            case "fThreadInfo":
                Reply("m" + ThreadId);
                break;
            case "sThreadInfo":
                Reply("l");
                break;
            case "ThreadExtraInfo":
                Reply(GdbHex.EncodeText("CPU#0"));
                break;
            case "Offsets":
                Reply("Text=0;Data=0;Bss=0");
                break;
            case "Symbol":
                Reply("OK");
                break;
            case "Rcmd":
                Monitor(query);
                break;
            default:
                Reply("");
                break;
        }
    }

    private void SetQuery(string query)
    {
        if (query == "StartNoAckMode")
        {
            // "QStartNoAckMode": this packet and its reply are still acknowledged; later ones are not.
            Reply("OK");
            _connection.NoAck = true;
        }
        else
        {
            Reply("");
        }
    }

    /// <summary><c>qXfer:features:read:annex:offset,length</c>, answered <c>m</c>+data (more follows) or <c>l</c>+data (last).</summary>
    private void ReadFeatures(string query)
    {
        string[] parts = query.Split(':');
        if (parts.Length != 5 || parts[1] != "features" || parts[2] != "read")
        {
            Reply("");
            return;
        }

        if (parts[3] != GdbTargetDescription.Annex)
        {
            Reply("E00");
            return;
        }

        if (!TryParseAddressLength(parts[4], out ulong offset, out ulong length))
        {
            Reply(ErrorInvalid);
            return;
        }

        byte[] document = GdbTargetDescription.Bytes;
        int start = (int)Math.Min(offset, (ulong)document.Length);
        int count = (int)Math.Min(Math.Min(length, (ulong)(PacketSize / 2)), (ulong)(document.Length - start));
        byte[] reply = new byte[count + 1];
        reply[0] = (byte)(start + count < document.Length ? 'm' : 'l');
        document.AsSpan(start, count).CopyTo(reply.AsSpan(1));
        _connection.Send(reply);
    }

    /// <summary><c>qRcmd,hex</c>: the output goes back as <c>O</c> packets (hex), then <c>OK</c>.</summary>
    private void Monitor(string query)
    {
        int comma = query.IndexOf(',', StringComparison.Ordinal);
        if (comma < 0 || !GdbHex.TryDecode(query.AsSpan(comma + 1), out byte[] command))
        {
            Reply(ErrorInvalid);
            return;
        }

        string output = _target.Monitor(Encoding.UTF8.GetString(command));
        byte[] bytes = Encoding.UTF8.GetBytes(output);
        int chunk = (PacketSize / 2) - 1;
        for (int i = 0; i < bytes.Length; i += chunk)
        {
            Reply("O" + GdbHex.Encode(bytes.AsSpan(i, Math.Min(chunk, bytes.Length - i))));
        }

        Reply("OK");
    }

    private string ReadAllRegisters()
    {
        var bytes = new byte[GdbRegisterLayout.TotalSize];
        for (int i = 0; i < GdbRegisterLayout.Registers.Count; i++)
        {
            GdbRegisterLayout.Read(_target, i, bytes.AsSpan(GdbRegisterLayout.Offsets[i]));
        }

        return GdbHex.Encode(bytes);
    }

    /// <summary>
    /// <c>G</c>: writes only the registers whose value changes, so GDB writing back the whole file after
    /// changing one register does not reload CR3 or the selectors.
    /// </summary>
    private string WriteAllRegisters(string hex)
    {
        if (!GdbHex.TryDecode(hex, out byte[] bytes) || bytes.Length < GdbRegisterLayout.TotalSize)
        {
            return ErrorInvalid;
        }

        bool refused = false;
        Span<byte> current = stackalloc byte[16];
        for (int i = 0; i < GdbRegisterLayout.Registers.Count; i++)
        {
            var value = bytes.AsSpan(GdbRegisterLayout.Offsets[i], GdbRegisterLayout.Registers[i].Size);
            GdbRegisterLayout.Read(_target, i, current);
            if (!value.SequenceEqual(current[..value.Length]) && !GdbRegisterLayout.Write(_target, i, value))
            {
                refused = true;
            }
        }

        return refused ? ErrorInvalid : "OK";
    }

    private string ReadRegister(string args)
    {
        if (!GdbHex.TryParseNumber(args, out ulong number) || number >= (ulong)GdbRegisterLayout.Registers.Count)
        {
            return ErrorBadAddress;
        }

        Span<byte> value = stackalloc byte[16];
        GdbRegisterLayout.Read(_target, (int)number, value);
        return GdbHex.Encode(value[..GdbRegisterLayout.Registers[(int)number].Size]);
    }

    private string WriteRegister(string args)
    {
        int equals = args.IndexOf('=', StringComparison.Ordinal);
        if (equals < 0
            || !GdbHex.TryParseNumber(args.AsSpan(0, equals), out ulong number)
            || number >= (ulong)GdbRegisterLayout.Registers.Count
            || !GdbHex.TryDecode(args.AsSpan(equals + 1), out byte[] value)
            || value.Length != GdbRegisterLayout.Registers[(int)number].Size)
        {
            return ErrorInvalid;
        }

        return GdbRegisterLayout.Write(_target, (int)number, value) ? "OK" : ErrorInvalid;
    }

    /// <summary><c>m addr,length</c>: a partial read answers with the bytes read; none at all is E14 (EFAULT).</summary>
    private string ReadMemory(string args)
    {
        if (!TryParseAddressLength(args, out ulong address, out ulong length))
        {
            return ErrorInvalid;
        }

        var buffer = new byte[(int)Math.Min(length, (PacketSize / 2) - 1)];
        int read = _target.ReadMemory(address, buffer);
        return read > 0 || buffer.Length == 0 ? GdbHex.Encode(buffer.AsSpan(0, Math.Max(read, 0))) : ErrorBadAddress;
    }

    private string WriteMemoryHex(string args)
    {
        int colon = args.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0
            || !TryParseAddressLength(args[..colon], out ulong address, out ulong length)
            || !GdbHex.TryDecode(args.AsSpan(colon + 1), out byte[] data)
            || (ulong)data.Length != length)
        {
            return ErrorInvalid;
        }

        return WriteMemory(address, data);
    }

    /// <summary><c>X addr,length:data</c>: the data is binary, already unescaped by the framing layer.</summary>
    private string WriteMemoryBinary(byte[] payload)
    {
        int colon = Array.IndexOf(payload, (byte)':');
        if (colon < 0
            || !TryParseAddressLength(Encoding.Latin1.GetString(payload, 1, colon - 1), out ulong address, out ulong length)
            || (ulong)(payload.Length - colon - 1) != length)
        {
            return ErrorInvalid;
        }

        // GDB probes for X support with a zero-length write.
        return WriteMemory(address, payload.AsSpan(colon + 1));
    }

    private string WriteMemory(ulong address, ReadOnlySpan<byte> data) =>
        data.IsEmpty || _target.WriteMemory(address, data) == data.Length ? "OK" : ErrorBadAddress;

    /// <summary><c>Z type,addr,kind</c> / <c>z…</c>: kind is the length for watchpoints and 1 for x86 breakpoints.</summary>
    private string Breakpoint(string args, bool insert)
    {
        string[] parts = args.Split(';')[0].Split(',');
        if (parts.Length != 3 || parts[0].Length != 1 || parts[0][0] is < '0' or > '9')
        {
            return ErrorInvalid;
        }

        int type = parts[0][0] - '0';
        if (type > (int)BreakpointKind.AccessWatch)
        {
            return "";
        }

        if (!GdbHex.TryParseNumber(parts[1], out ulong address) || !GdbHex.TryParseNumber(parts[2], out ulong length) || length > int.MaxValue)
        {
            return ErrorInvalid;
        }

        var kind = (BreakpointKind)type;
        var entry = (kind, address, (int)length);
        if (insert)
        {
            if (!_target.InsertBreakpoint(kind, address, (int)length))
            {
                return ErrorGeneric;
            }

            _breakpoints.Add(entry);
            return "OK";
        }

        _breakpoints.Remove(entry);
        return _target.RemoveBreakpoint(kind, address, (int)length) ? "OK" : ErrorGeneric;
    }

    private GdbSessionEnd? VerbosePacket(string packet)
    {
        if (packet == "vCont?")
        {
            Reply("vCont;c;C;s;S");
            return null;
        }

        if (packet.StartsWith("vCont;", StringComparison.Ordinal))
        {
            // The first action that applies to thread 1 wins ("vCont": "the leftmost action with a
            // matching thread-id is applied"), so "vCont;s:1;c" steps.
            foreach (string action in packet[6..].Split(';'))
            {
                int colon = action.IndexOf(':', StringComparison.Ordinal);
                if (colon >= 0 && !IsOurThread(action[(colon + 1)..]))
                {
                    continue;
                }

                switch (action.Length > 0 ? action[0] : ' ')
                {
                    case 'c':
                    case 'C':
                        return Resume(step: false);
                    case 's':
                    case 'S':
                        return Resume(step: true);
                    default:
                        Reply(ErrorInvalid);
                        return null;
                }
            }

            Reply(ErrorInvalid);
            return null;
        }

        if (packet.StartsWith("vKill", StringComparison.Ordinal))
        {
            Reply("OK");
            return GdbSessionEnd.Killed;
        }

        // vMustReplyEmpty and everything else not offered.
        Reply("");
        return null;
    }

    private GdbSessionEnd? ResumeWithAddress(string address, bool step)
    {
        if (address.Length > 0)
        {
            if (!GdbHex.TryParseNumber(address, out ulong rip))
            {
                Reply(ErrorInvalid);
                return null;
            }

            if (!_target.SetRegister(DebugRegister.Rip, rip))
            {
                Reply(ErrorInvalid);
                return null;
            }
        }

        return Resume(step);
    }

    /// <summary>
    /// Runs Continue or Step on a worker while this thread keeps reading the connection, so a Ctrl-C
    /// (0x03) reaches <see cref="IDebugTarget.Interrupt"/>; the stop reply goes out when it returns.
    /// </summary>
    private GdbSessionEnd? Resume(bool step)
    {
        Func<DebugStop> body = step ? _target.Step : _target.Continue;
        var run = Task.Factory.StartNew(body, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        run.ContinueWith(_ => _connection.Post(GdbEvent.TargetStopped), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        while (true)
        {
            var e = _connection.Take();
            switch (e.Kind)
            {
                case GdbEventKind.TargetStopped:
                    return Stopped(run);
                case GdbEventKind.Interrupt:
                    _target.Interrupt();
                    break;
                case GdbEventKind.Packet:
                    // All-stop clients send nothing but Ctrl-C while the target runs; keep the rest for later.
                    _deferred.Enqueue(e.Payload!);
                    break;
                case GdbEventKind.Disconnected:
                    // As in QEMU, the guest runs on when the debugger goes away.
                    _server.RunUnattended(run);
                    return GdbSessionEnd.Disconnected;
                default:
                    break;
            }
        }
    }

    private GdbSessionEnd? Stopped(Task<DebugStop> run)
    {
        if (run.IsFaulted)
        {
            _trace?.Invoke($"!! target: {run.Exception?.InnerException?.Message}");
            Reply(ErrorGeneric);
            return null;
        }

        var stop = run.Result;
        _server.LastStop = stop;
        Reply(StopReply(stop));
        return stop.Kind == DebugStopKind.Exited ? GdbSessionEnd.Exited : null;
    }

    /// <summary>"Stop Reply Packets": <c>T</c>+signal+<c>n:r;</c> pairs, or <c>W</c>+exit status.</summary>
    private string StopReply(DebugStop stop)
    {
        const string Thread = "thread:" + ThreadId + ";";
        switch (stop.Kind)
        {
            case DebugStopKind.Interrupted:
                return "T02" + Thread;
            case DebugStopKind.Exited:
                return $"W{stop.ExitStatus & 0xFF:x2}";
            case DebugStopKind.Watchpoint:
                string watch = stop.WatchKind switch
                {
                    BreakpointKind.ReadWatch => "rwatch",
                    BreakpointKind.AccessWatch => "awatch",
                    _ => "watch",
                };
                return $"T05{watch}:{stop.WatchAddress:x};{Thread}";
            case DebugStopKind.Breakpoint:
                // swbreak/hwbreak (announced in qSupported) tell GDB the PC is at the breakpoint.
                ulong rip = _target.GetRegister(DebugRegister.Rip);
                string reason = HasBreakpoint(BreakpointKind.Hardware, rip) ? "hwbreak:;"
                    : HasBreakpoint(BreakpointKind.Software, rip) ? "swbreak:;"
                    : "";
                return "T05" + Thread + reason;
            default:
                return "T05" + Thread;
        }
    }

    private bool HasBreakpoint(BreakpointKind kind, ulong address) =>
        _breakpoints.Exists(b => b.Kind == kind && b.Address == address);

    private void RemoveAllBreakpoints()
    {
        foreach (var (kind, address, length) in _breakpoints)
        {
            _target.RemoveBreakpoint(kind, address, length);
        }

        _breakpoints.Clear();
    }

    private void Reply(string payload) => _connection.Send(payload);

    /// <summary>Thread ids as GDB writes them: 0 (any), -1 (all), or ours, 1.</summary>
    private static bool IsOurThread(string id) =>
        id is "0" or "-1" || (GdbHex.TryParseNumber(id, out ulong value) && value == 1);

    private static bool TryParseAddressLength(string text, out ulong address, out ulong length)
    {
        length = 0;
        int comma = text.IndexOf(',', StringComparison.Ordinal);
        address = 0;
        return comma >= 0
            && GdbHex.TryParseNumber(text.AsSpan(0, comma), out address)
            && GdbHex.TryParseNumber(text.AsSpan(comma + 1), out length);
    }
}
