using System.Collections.Concurrent;
using Emulator.Machine.Debugging;

namespace Emulator.Frontend.Tests.Gdb;

/// <summary>
/// An in-memory stand-in for the VM: a register file, 16 KiB of memory at address 0 with an unmapped
/// hole at [<see cref="HoleStart"/>, <see cref="HoleEnd"/>), and a scripted Continue. Step advances
/// RIP by <see cref="StepLength"/>; Continue returns the next scripted stop, or blocks until Interrupt.
/// </summary>
public sealed class FakeDebugTarget : IDebugTarget, IDisposable
{
    public const int MemorySize = 0x4000;
    public const ulong HoleStart = 0x2000;
    public const ulong HoleEnd = 0x3000;
    public const ulong StepLength = 3;

    private readonly Lock _lock = new();
    private readonly Dictionary<DebugRegister, ulong> _registers = [];
    private readonly SemaphoreSlim _interrupt = new(0);

    public FakeDebugTarget()
    {
        foreach (var register in Enum.GetValues<DebugRegister>())
        {
            // Distinct, recognisable values: 0x1111_0000_0000_0000 + index for the general registers.
            _registers[register] = 0x1111_0000_0000_0000UL + (ulong)register;
        }

        _registers[DebugRegister.Rip] = 0x1000;
        _registers[DebugRegister.Rflags] = 0x246;
        _registers[DebugRegister.Cs] = 0x10;
        _registers[DebugRegister.Ss] = 0x18;
        _registers[DebugRegister.Ds] = 0x18;
        _registers[DebugRegister.Es] = 0x18;
        _registers[DebugRegister.Fs] = 0;
        _registers[DebugRegister.Gs] = 0;
        _registers[DebugRegister.Cr0] = 0x8000_0011;
        _registers[DebugRegister.Cr3] = 0x9000;
        _registers[DebugRegister.Efer] = 0x500;
        for (int i = 0; i < MemorySize; i++)
        {
            Memory[i] = (byte)(i * 7);
        }
    }

    public byte[] Memory { get; } = new byte[MemorySize];

    /// <summary>What Continue returns, in order; when empty it blocks until Interrupt.</summary>
    public ConcurrentQueue<DebugStop> ContinueScript { get; } = new();

    public ConcurrentQueue<string> Calls { get; } = new();

    public HashSet<(BreakpointKind Kind, ulong Address, int Length)> Breakpoints { get; } = [];

    /// <summary>Set while a Continue blocks waiting for Interrupt.</summary>
    public ManualResetEventSlim Running { get; } = new();

    public Func<string, string> MonitorHandler { get; set; } = command => $"monitor: {command}\n";

    public int Bitness => 64;

    public ulong this[DebugRegister register]
    {
        get
        {
            lock (_lock)
            {
                return _registers[register];
            }
        }

        set
        {
            lock (_lock)
            {
                _registers[register] = value;
            }
        }
    }

    public ulong GetRegister(DebugRegister register) => this[register];

    public bool SetRegister(DebugRegister register, ulong value)
    {
        Calls.Enqueue($"set {register}");
        if (register == DebugRegister.Rip && (ulong)((long)value >> 47) + 1 > 1)
        {
            return false; // non-canonical
        }

        this[register] = value;
        return true;
    }

    public int ReadMemory(ulong address, Span<byte> buffer)
    {
        int count = 0;
        while (count < buffer.Length && IsMapped(address + (ulong)count))
        {
            buffer[count] = Memory[address + (ulong)count];
            count++;
        }

        return count;
    }

    public int WriteMemory(ulong address, ReadOnlySpan<byte> data)
    {
        int count = 0;
        while (count < data.Length && IsMapped(address + (ulong)count))
        {
            Memory[address + (ulong)count] = data[count];
            count++;
        }

        return count;
    }

    public bool InsertBreakpoint(BreakpointKind kind, ulong address, int length)
    {
        if (kind >= BreakpointKind.WriteWatch && length is not (1 or 2 or 4 or 8))
        {
            return false;
        }

        lock (_lock)
        {
            return Breakpoints.Add((kind, address, length));
        }
    }

    public bool RemoveBreakpoint(BreakpointKind kind, ulong address, int length)
    {
        lock (_lock)
        {
            return Breakpoints.Remove((kind, address, length));
        }
    }

    public DebugStop Continue()
    {
        Calls.Enqueue("continue");
        if (ContinueScript.TryDequeue(out var stop))
        {
            return stop;
        }

        Running.Set();
        _interrupt.Wait();
        Running.Reset();
        return DebugStop.Interrupted;
    }

    public DebugStop Step()
    {
        Calls.Enqueue("step");
        this[DebugRegister.Rip] += StepLength;
        return DebugStop.Stepped;
    }

    public void Interrupt()
    {
        Calls.Enqueue("interrupt");
        if (Running.IsSet)
        {
            _interrupt.Release();
        }
    }

    public string Monitor(string command) => MonitorHandler(command);

    /// <summary>Releases any Continue still blocked (a detach leaves one running).</summary>
    public void Dispose()
    {
        _interrupt.Release(100);
    }

    private static bool IsMapped(ulong address) => address < MemorySize && (address < HoleStart || address >= HoleEnd);
}
