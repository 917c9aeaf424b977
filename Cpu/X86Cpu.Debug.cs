using Emulator.Cpu.Decode;
using Emulator.Cpu.Diagnostics;
using Emulator.Mmu.Paging;

namespace Emulator.Cpu;

/// <summary>
/// Debugger and tracing hooks. Breakpoints are linear addresses checked before each instruction,
/// so guest memory is never patched. Watchpoints turn the TLB's fast path off (every access then
/// takes the checked path) and stop the CPU after the instruction that touched a watched byte.
/// The observers are called only while set; with none set the interpreter pays one branch.
/// </summary>
public sealed partial class X86Cpu
{
    private readonly HashSet<ulong> _breakpoints = [];
    private readonly List<(ulong Address, ulong Length, AccessKind Kind, bool Any)> _watchpoints = [];
    private bool _debugHooks;
    private bool _watchHit;
    private InstructionTracer? _tracer;

    /// <summary>Sees each instruction, with its linear address, before it executes (instruction tracing).</summary>
    public InstructionTracer? Tracer
    {
        get => _tracer;
        set
        {
            _tracer = value;
            UpdateHooks();
        }
    }

    /// <summary>Called when a block is entered (per-block state tracing).</summary>
    public Action<Block>? BlockObserver { get; set; }

    /// <summary>Called for external and software interrupts: (vector, kind, return RIP).</summary>
    public Action<int, InterruptKind, ulong>? InterruptObserver { get; set; }

    /// <summary>The linear address of the access that hit a watchpoint, after <see cref="StopReason.Watchpoint"/>.</summary>
    public ulong WatchHitAddress { get; private set; }

    /// <summary>The kind of the access that hit (read or write).</summary>
    public AccessKind WatchHitKind { get; private set; }

    public bool AddBreakpoint(ulong linear)
    {
        bool added = _breakpoints.Add(linear);
        UpdateHooks();
        return added;
    }

    public bool RemoveBreakpoint(ulong linear)
    {
        bool removed = _breakpoints.Remove(linear);
        UpdateHooks();
        return removed;
    }

    /// <summary>Watches [linear, linear+length) for writes (<paramref name="kind"/> Write), reads (Read), or any access (<paramref name="any"/>).</summary>
    public void AddWatchpoint(ulong linear, ulong length, AccessKind kind, bool any)
    {
        _watchpoints.Add((linear, length, kind, any));
        UpdateAccessChecks();
    }

    public bool RemoveWatchpoint(ulong linear, ulong length, AccessKind kind, bool any)
    {
        bool removed = _watchpoints.Remove((linear, length, kind, any));
        UpdateAccessChecks();
        return removed;
    }

    private void UpdateHooks() => _debugHooks = _breakpoints.Count > 0 || _tracer is not null;

    /// <summary>Called on the checked access path while watchpoints or guest data breakpoints exist.</summary>
    private void CheckAccess(ulong linear, int size, AccessKind kind)
    {
        if (_watchpoints.Count > 0)
        {
            CheckWatch(linear, size, kind);
        }

        if (_dataBreakpoints != 0)
        {
            CheckDataBreakpoints(linear, size, kind);
        }
    }

    private void CheckWatch(ulong linear, int size, AccessKind kind)
    {
        foreach (var (address, length, watchKind, any) in _watchpoints)
        {
            if (linear < address + length && address < linear + (ulong)size && (any || watchKind == kind))
            {
                _watchHit = true;
                S.ExitRequest = 1;
                WatchHitAddress = Math.Max(linear, address);
                WatchHitKind = kind;
                return;
            }
        }
    }
}
