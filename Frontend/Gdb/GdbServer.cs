using System.Net;
using System.Net.Sockets;
using Emulator.Machine.Debugging;

namespace Emulator.Frontend.Gdb;

/// <summary>
/// The GDB remote stub: listens on a TCP endpoint and serves one client at a time on its own thread,
/// then waits for the next. Like QEMU's gdbstub, a client that connects finds the guest stopped (a
/// guest left running by a detach or a dropped connection is interrupted first), and a detach leaves
/// the guest running.
/// </summary>
public sealed class GdbServer : IDisposable
{
    private readonly IDebugTarget _target;
    private readonly GdbEndpoint _endpoint;
    private readonly Lock _lock = new();
    private Socket? _listener;
    private Thread? _thread;
    private GdbConnection? _connection;
    private Task<DebugStop>? _unattended;
    private DebugStop _lastStop = DebugStop.Stepped;
    private volatile bool _disposed;

    public GdbServer(IDebugTarget target, GdbEndpoint endpoint)
    {
        _target = target;
        _endpoint = endpoint;
    }

    /// <summary>Called on the server thread when a client sends <c>k</c>: the emulator should exit.</summary>
    public Action? KillRequested { get; init; }

    /// <summary>Called with the exit status when the guest ends while being debugged or running unattended.</summary>
    public Action<int>? GuestExited { get; init; }

    /// <summary>Receives one line per packet in and out, for <c>--gdb-trace</c> style logging and tests.</summary>
    public Action<string>? Trace { get; init; }

    /// <summary>The bound address (with the real port when the endpoint asked for port 0); set by <see cref="Start"/>.</summary>
    public IPEndPoint? LocalEndPoint { get; private set; }

    /// <summary>Why the guest last stopped, answered to <c>?</c>; a guest that never ran reports SIGTRAP as QEMU does.</summary>
    internal DebugStop LastStop
    {
        get
        {
            lock (_lock)
            {
                return _lastStop;
            }
        }

        set
        {
            lock (_lock)
            {
                _lastStop = value;
            }
        }
    }

    /// <summary>
    /// Binds and starts serving. With <paramref name="guestRunning"/> the guest starts running now
    /// (QEMU's <c>-s</c>); without, it waits stopped for a client (<c>-s -S</c>).
    /// </summary>
    public void Start(bool guestRunning = false)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var listener = new Socket(_endpoint.Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(_endpoint.ToIPEndPoint());
            listener.Listen(1);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        _listener = listener;
        LocalEndPoint = (IPEndPoint)listener.LocalEndPoint!;
        if (guestRunning)
        {
            RunUnattended();
        }

        _thread = new Thread(AcceptLoop) { IsBackground = true, Name = "gdb-server" };
        _thread.Start();
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _listener?.Dispose();
        GdbConnection? connection;
        lock (_lock)
        {
            connection = _connection;
        }

        connection?.Dispose();
        if (_thread is not null && Thread.CurrentThread != _thread)
        {
            _thread.Join(TimeSpan.FromSeconds(5));
        }
    }

    /// <summary>
    /// Lets the guest run with no client: a fresh Continue after a detach, or the one a dropped client
    /// left running. A guest that exits meanwhile is reported through <see cref="GuestExited"/>.
    /// </summary>
    internal void RunUnattended(Task<DebugStop>? running = null)
    {
        running ??= Task.Factory.StartNew(_target.Continue, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        lock (_lock)
        {
            _unattended = running;
        }

        running.ContinueWith(
            run =>
            {
                if (run.IsCompletedSuccessfully)
                {
                    LastStop = run.Result;
                    if (run.Result.Kind == DebugStopKind.Exited)
                    {
                        GuestExited?.Invoke(run.Result.ExitStatus);
                    }
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private void AcceptLoop()
    {
        while (!_disposed)
        {
            Socket client;
            try
            {
                client = _listener!.Accept();
            }
            catch (SocketException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }

            Trace?.Invoke($"-- client {client.RemoteEndPoint}");
            StopUnattended();
            using var connection = new GdbConnection(client, GdbSession.PacketSize * 2, Trace);
            lock (_lock)
            {
                _connection = connection;
            }

            if (_disposed)
            {
                return;
            }

            connection.Start();
            var end = new GdbSession(_target, connection, this, Trace).Run();
            Trace?.Invoke($"-- session ended: {end}");
            lock (_lock)
            {
                _connection = null;
            }

            switch (end)
            {
                case GdbSessionEnd.Killed:
                    KillRequested?.Invoke();
                    break;
                case GdbSessionEnd.Exited:
                    GuestExited?.Invoke(LastStop.ExitStatus);
                    break;
            }
        }
    }

    /// <summary>A new client finds the guest stopped, as QEMU stops the VM when a debugger connects.</summary>
    private void StopUnattended()
    {
        Task<DebugStop>? running;
        lock (_lock)
        {
            running = _unattended;
            _unattended = null;
        }

        if (running is null)
        {
            return;
        }

        if (!running.IsCompleted)
        {
            _target.Interrupt();
        }

        try
        {
            LastStop = running.Result;
        }
        catch (AggregateException)
        {
            // The target failed while nobody watched; report the stop as an interrupt.
            LastStop = DebugStop.Interrupted;
        }
    }
}
