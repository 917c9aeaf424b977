namespace Emulator.Machine.Debugging;

/// <summary>
/// The hand-over between the vCPU thread and a controller (the GDB stub, the monitor). The vCPU
/// publishes each stop and blocks until told to continue or step; the controller posts a command
/// and blocks until the next stop. Pause requests from any thread make the vCPU stop at the next
/// instruction boundary it looks at. Once the guest has exited every wait returns at once.
/// </summary>
public sealed class ExecutionGate
{
    private readonly object _lock = new();
    private DebugStop? _stop;
    private RunCommand? _command;
    private long _stopSerial;
    private bool _pauseRequested;

    public ExecutionGate(bool startPaused)
    {
        _pauseRequested = startPaused;
    }

    /// <summary>True while the vCPU is parked in <see cref="WaitForCommand"/> (or the guest has exited).</summary>
    public bool IsPaused
    {
        get
        {
            lock (_lock)
            {
                return _stop is not null;
            }
        }
    }

    public bool PauseRequested => Volatile.Read(ref _pauseRequested);

    /// <summary>The exit, once the guest has ended.</summary>
    public DebugStop? Exit { get; private set; }

    /// <summary>
    /// Controller side: asks the vCPU to stop; the caller also interrupts the CPU's run. A request
    /// made while the vCPU is already parked is satisfied and dropped, so it cannot stop the next run.
    /// </summary>
    public void RequestPause()
    {
        lock (_lock)
        {
            if (_stop is null)
            {
                Volatile.Write(ref _pauseRequested, true);
            }
        }
    }

    /// <summary>vCPU side: publishes <paramref name="stop"/> and waits for the next command.</summary>
    public RunCommand WaitForCommand(DebugStop stop)
    {
        lock (_lock)
        {
            _pauseRequested = false;
            _stop = stop;
            _stopSerial++;
            Monitor.PulseAll(_lock);
            while (_command is null)
            {
                Monitor.Wait(_lock);
            }

            var command = _command.Value;
            _command = null;
            _stop = null;
            return command;
        }
    }

    /// <summary>vCPU side: the guest ended; wakes every controller waiting for a stop.</summary>
    public void PublishExit(int status)
    {
        lock (_lock)
        {
            Exit = new DebugStop(DebugStopKind.Exited, ExitStatus: status);
            _stop = Exit;
            _stopSerial++;
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>Controller side: waits until the vCPU is paused (after a pause request) and returns why it stopped.</summary>
    public DebugStop WaitUntilPaused()
    {
        lock (_lock)
        {
            while (_stop is null)
            {
                Monitor.Wait(_lock);
            }

            return _stop;
        }
    }

    /// <summary>Controller side: lets a paused vCPU run (or step) and waits for the stop that follows.</summary>
    public DebugStop Resume(RunCommand command)
    {
        lock (_lock)
        {
            while (_stop is null)
            {
                Monitor.Wait(_lock);
            }

            if (Exit is not null)
            {
                return Exit;
            }

            long serial = _stopSerial;
            _command = command;
            Monitor.PulseAll(_lock);
            while (_stopSerial == serial)
            {
                Monitor.Wait(_lock);
            }

            return _stop!;
        }
    }

    /// <summary>Controller side: lets a paused vCPU run without waiting (detach, the monitor's cont).</summary>
    public void Release()
    {
        lock (_lock)
        {
            if (_stop is not null && Exit is null)
            {
                _command = RunCommand.Continue;
                Monitor.PulseAll(_lock);
            }
        }
    }
}
