using System.Runtime;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Emulator.Cpu.Decode;
using Emulator.Cpu.Exceptions;
using Emulator.Cpu.Instructions;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu;

/// <summary>
/// Tier 0: the interpreter. Takes pending interrupts at block boundaries, fetches the block at
/// CS:RIP and runs its pre-decoded instructions through the handler table indexed by Iced
/// <see cref="Code"/>. An instruction that faults leaves RIP at itself and the exception is
/// delivered before the next one starts.
/// </summary>
public sealed unsafe partial class X86Cpu
{
    /// <summary>Values of <see cref="CpuState.InterruptShadow"/>: after STI, and after MOV SS or POP SS.</summary>
    public const int ShadowSti = 1, ShadowMovSs = 2;

    private bool _endBlock;
    private int _setShadow;
    private volatile bool _nmiLatched;

    /// <summary>Instruction handlers call this after changing something that decoding or dispatch depends on.</summary>
    public void EndBlock()
    {
        _endBlock = true;
        S.ExitRequest = 1;
    }

    /// <summary>STI: inhibit maskable interrupts (and NMI) until after the next instruction (SDM Vol. 3A 6.8.3).</summary>
    public void SetInterruptShadow()
    {
        _setShadow = ShadowSti;
        S.ExitRequest = 1;
    }

    /// <summary>
    /// MOV SS and POP SS: inhibit interrupts, NMI and debug traps until after the next instruction,
    /// so that a stack switch by MOV SS then MOV ESP is never interrupted (SDM Vol. 3A 6.8.3).
    /// </summary>
    public void SetStackShadow()
    {
        _setShadow = ShadowMovSs;
        S.ExitRequest = 1;
    }

    /// <summary>
    /// Signals a non-maskable interrupt (the NMI pin's edge). Thread-safe; the CPU takes it at the
    /// next instruction boundary unless NMIs are blocked (SDM Vol. 3A 6.7.1).
    /// </summary>
    public void RaiseNmi()
    {
        _nmiLatched = true;
        NotifyInterrupt();
    }

    /// <summary>
    /// From any thread: an interrupt may have become pending (an interrupt line rose, an APIC
    /// accepted a vector). A compiled loop running on the vCPU leaves at its next iteration so the
    /// run loop looks at the interrupt source (<see cref="CpuState.InterruptPoll"/>).
    /// </summary>
    public void NotifyInterrupt() => Volatile.Write(ref S.InterruptPoll, 1);

    /// <summary>The linear address of the next instruction.</summary>
    public ulong CodeLinear => S.LongModeActive && S.Cs.Long ? S.Rip : (uint)(S.Cs.Base + S.Rip);

    /// <summary>Runs up to <paramref name="budget"/> instructions.</summary>
    public StopReason Run(long budget) => RunCore(budget, stepping: false);

    /// <summary>
    /// Executes exactly one instruction, or enters one interrupt or exception handler, and returns
    /// <see cref="StopReason.Stepped"/> (or why it could not: HLT, a triple fault). A breakpoint at
    /// the current instruction does not stop it: stepping is how a debugger leaves a breakpoint.
    /// </summary>
    public StopReason Step() => RunCore(1, stepping: true);

    // The run loop's methods stay out of the ReadyToRun image, to be jitted with a profile (BypassReadyToRunAttribute).
    [BypassReadyToRun]
    private StopReason RunCore(long budget, bool stepping)
    {
        long executed = 0;
        bool first = true;
        Block? previous = null;
        var table = InstructionTable.Handlers;
        _watchHit = false;
        RefreshDebugRegisters();

        // A block RunChain found and left for this loop to enter (see ChainExit.Found).
        Block? handoff = null;
        while (executed < budget)
        {
            ref CpuState s = ref S;
            int bitness;
            ulong codeBase;
            Block? block;
            if (handoff is not null)
            {
                block = handoff;
                handoff = null;
                bitness = block.Key.Bitness;
                codeBase = block.Key.Linear - block.Key.Rip;
                goto Found;
            }

            if (_stopRequested)
            {
                _stopRequested = false;
                return StopReason.Stopped;
            }


            // Cleared before the interrupt source is asked: a notification after this point stays set.
            Volatile.Write(ref s.InterruptPoll, 0);
            if (s.InterruptShadow == 0 && s.NmiBlocked == 0 && (_nmiLatched || (Interrupts is { } nmiSource && nmiSource.TakeNmi())))
            {
                // SDM Vol. 3A 6.7.1: NMI goes through vector 2 with no DPL check and blocks further
                // NMIs until the next IRET.
                _nmiLatched = false;
                InterruptObserver?.Invoke(Vector.NMI, InterruptKind.External, s.Rip);
                bool delivered = DeliverInterrupt(Vector.NMI, false, 0, s.Rip, InterruptKind.External);
                s.NmiBlocked = 1;
                DiscardDebugTraps();
                if (!delivered && !DeliverPendingFault(s.Rip))
                {
                    return TripleFault();
                }

                if (stepping)
                {
                    return StopReason.Stepped;
                }

                first = false;
            }

            if (s.InterruptShadow == 0 && (s.Rflags & Flags.IF) != 0 && Interrupts is { HasInterrupt: true } source)
            {
                byte vector = source.Acknowledge();
                InterruptObserver?.Invoke(vector, InterruptKind.External, s.Rip);
                bool delivered = DeliverInterrupt(vector, false, 0, s.Rip, InterruptKind.External);
                DiscardDebugTraps();
                if (!delivered && !DeliverPendingFault(s.Rip))
                {
                    return TripleFault();
                }

                if (stepping)
                {
                    return StopReason.Stepped;
                }

                first = false;
            }

            if (s.Halted != 0)
            {
                return StopReason.Halted;
            }

            bitness = s.Bitness;
            ulong codeLinear = CodeLinear;
            codeBase = codeLinear - s.Rip;
            block = previous is null ? null : Chained(previous, s.Rip, codeLinear, bitness);
            if (block is null)
            {
                block = Blocks.Get(s.Rip, codeLinear, bitness);
                if (block is not null && previous is not null)
                {
                    previous.Successor1 = previous.Successor0;
                    previous.Successor0 = block;
                }
            }

            previous = block;
            if (block is null)
            {
                if (!DeliverPendingFault(s.Rip))
                {
                    return TripleFault();
                }

                if (stepping)
                {
                    return StopReason.Stepped;
                }

                first = false;
                continue;
            }

        Found:
            previous = block;
            BlockObserver?.Invoke(block);

            long executions = ++block.Executions;
            if (Compiler is { } compiler)
            {
                if (!block.CompileRequested)
                {
                    if (executions >= compiler.Threshold)
                    {
                        block.CompileRequested = true;
                        compiler.BlockIsHot(this, block);
                    }
                }
                else if (executions >= block.NextHotCheck)
                {
                    block.NextHotCheck = long.MaxValue;
                    compiler.BlockStaysHot(this, block);
                }
            }

            ulong ipMask = IpMask(bitness);

            // SDM Vol. 3A 5.3: an instruction fetched past the CS limit is #GP(0) (protected mode;
            // a 4 GiB limit and 64-bit mode never hit it).
            ulong csLimit = bitness == 64 || !s.ProtectedMode || (s.Rflags & Flags.VM) != 0 || s.Cs.Limit == uint.MaxValue ? ulong.MaxValue : s.Cs.Limit;
            var instructions = block.Instructions;
            int start = 0;
            bool compiledRan = false;
            CompiledRegion? region = block.Region;
            CompiledBlock? compiled = region is not null ? null : block.Compiled;
            if (region is not null && !CanRunTranslation(stepping, csLimit, budget - executed, region.Limit, region.TotalLength, region.NeedsFlatStack))
            {
                region = null;
                compiled = block.Compiled;
            }

            if (region is not null || (compiled is not null && CanRunTranslation(stepping, csLimit, budget - executed, block.CompiledLimit, instructions.Length, block.CompiledNeedsFlatStack)))
            {
                start = RunCompiled(ref block, region, compiled!, ipMask, csLimit, budget - executed, out long looped);

                // A region may have left in another member: the run loop goes on from there.
                previous = block;
                instructions = block.Instructions;
                executed += start + looped;
                compiledRan = true;
                first = false;
                if (start == instructions.Length - 1 && _faultVector < 0 && !_endBlock && _setShadow == 0 && !_debugTrapPending && !_watchHit)
                {
                    // The common case, as the loop below would finish it: the translation ran to
                    // its end with no fault, shadow, debug trap or watchpoint to report.
                    s.InterruptShadow = 0;
                    executed++;
                    s.InstructionsRetired++;
                    continue;
                }
            }

            bool interpretedAhead = false;
            if (!compiledRan && CanInterpretFast(stepping, csLimit))
            {
                int attention, retired;
                try
                {
                    attention = InterpretFast(_state, block, ipMask, budget - executed, out retired);
                }
                catch (Exception e) when (e is IndexOutOfRangeException or ArgumentException or InvalidOperationException or OverflowException or NotSupportedException)
                {
                    // As below: a bug in a handler gives the guest #UD, not the host a crash.
                    attention = retired = InternalErrorInFastPath(block, ipMask, e);
                }

                executed += retired;
                first = false;
                if (attention < 0)
                {
                    // The block ran to its end: go on through its chained successors in RunChain's
                    // small loop for as long as they need nothing from this one.
                    ChainExit exit = RunChain(block, budget - executed, out block, out attention, out long chained);
                    executed += chained;
                    previous = block;
                    if (exit == ChainExit.Top)
                    {
                        continue;
                    }

                    if (exit == ChainExit.Found)
                    {
                        handoff = block;
                        continue;
                    }

                    // The last block RunChain entered asked for attention at instruction `attention`:
                    // the loop below finishes it as it would a block entered here. It was entered
                    // with CanInterpretFast true, so with no CS limit to check.
                    instructions = block.Instructions;
                    bitness = block.Key.Bitness;
                    codeBase = block.Key.Linear - block.Key.Rip;
                    ipMask = IpMask(bitness);
                    csLimit = ulong.MaxValue;
                }

                // The handler of instruction `attention` ran and asked for the checks below.
                start = attention;
                interpretedAhead = true;
            }

            for (int k = start; k < instructions.Length; k++)
            {
                ref readonly Instruction instruction = ref instructions[k];
                ulong startFlags;
                ulong rip;
                if ((compiledRan || interpretedAhead) && k == start)
                {
                    // The translation ran this instruction's semantics; what follows is the
                    // interpreter's bookkeeping after a handler. TF and RF were clear on entry and
                    // only block-ending instructions set them, so no single-step trap is due.
                    rip = instruction.IP & ipMask;
                    startFlags = 0;
                    goto AfterHandler;
                }

                rip = s.Rip;
                if (_debugHooks)
                {
                    ulong linear = bitness == 64 ? rip : (uint)(codeBase + rip);
                    if (!first && _breakpoints.Count > 0 && _breakpoints.Contains(linear))
                    {
                        return StopReason.Breakpoint;
                    }

                    _tracer?.OnInstruction(this, linear, instruction);
                }

                // Guest instruction breakpoints: a #DB fault before the instruction, suppressed by RF (SDM 17.3.1.1).
                if (_codeBreakpoints != 0 && (s.Rflags & Flags.RF) == 0 && CodeBreakpointHit(bitness == 64 ? rip : (uint)(codeBase + rip)))
                {
                    if (!DeliverPendingFault(rip))
                    {
                        return TripleFault();
                    }

                    if (stepping)
                    {
                        return StopReason.Stepped;
                    }

                    first = false;
                    break;
                }

                first = false;
                startFlags = s.Rflags;
                s.Rip = instruction.NextIP & ipMask;
                _endBlock = false;
                _setShadow = 0;
                try
                {
                    if (rip + (ulong)instruction.Length - 1 > csLimit)
                    {
                        RaiseFault(Exceptions.Vector.GP, 0);
                    }
                    else
                    {
                        table[(int)instruction.Code](this, in instruction);
                    }
                }
                catch (Exception e) when (e is IndexOutOfRangeException or ArgumentException or InvalidOperationException or OverflowException or NotSupportedException)
                {
                    // A bug in a handler must not take the host down: report it and give the guest #UD.
                    Log?.Invoke($"internal error in {instruction.Code} ({instruction}) at {rip:x}: {e.GetType().Name}: {e.Message}; raising #UD");
                    ClearFault();
                    RaiseFault(Exceptions.Vector.UD);
                }

            AfterHandler:
                if (_faultVector >= 0)
                {
                    _watchHit = false;
                    DiscardDebugTraps();
                    if (!DeliverPendingFault(rip))
                    {
                        return TripleFault();
                    }

                    if (stepping)
                    {
                        return StopReason.Stepped;
                    }

                    break;
                }

                s.InterruptShadow = _setShadow;
                executed++;
                s.InstructionsRetired++;
                if (((startFlags & (Flags.TF | Flags.RF)) != 0 || _debugTrapPending) && AfterInstructionDebug(startFlags, in instruction) is int debug && debug != 0)
                {
                    if (debug < 0)
                    {
                        return TripleFault();
                    }

                    if (_watchHit)
                    {
                        return StopReason.Watchpoint;
                    }

                    if (stepping)
                    {
                        return StopReason.Stepped;
                    }

                    break;
                }

                if (_watchHit)
                {
                    return StopReason.Watchpoint;
                }

                if (_endBlock || !block.Valid || executed >= budget)
                {
                    break;
                }
            }
        }

        return stepping ? StopReason.Stepped : StopReason.Budget;
    }

    private static ulong IpMask(int bitness) => bitness == 64 ? ulong.MaxValue : bitness == 32 ? 0xFFFFFFFFUL : 0xFFFFUL;

    /// <summary>
    /// At a block boundary inside a chain (<see cref="RunChain"/>, <see cref="NextTranslation"/>):
    /// an NMI or a deliverable interrupt waits, for the run loop's top to deliver (an NMI the
    /// interrupt source hands over is latched for it), as the top itself checks.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool InterruptWaiting(ref CpuState s)
    {
        if (s.NmiBlocked == 0 && (_nmiLatched || (Interrupts is { } source && source.TakeNmi())))
        {
            _nmiLatched = true;
            return true;
        }

        return (s.Rflags & Flags.IF) != 0 && Interrupts is { HasInterrupt: true };
    }

    /// <summary><see cref="RunChain"/>'s compile threshold: the compiler's as the chain started, or long.MaxValue without one.</summary>
    private long _chainThreshold;

    /// <summary>How <see cref="RunChain"/> left: see there.</summary>
    private enum ChainExit
    {
        Top,
        Found,
        Attention,
    }

    /// <summary>
    /// The run loop's common case in a loop of its own, small enough for the JIT to keep it in
    /// registers: <paramref name="block"/> just ran to its end in <see cref="InterpretFast"/> with
    /// nothing to report, and while the next block is its chained successor, no interrupt, NMI or
    /// stop is pending, and the successor may run in <see cref="InterpretFast"/> with no
    /// translation, observer or tiering event to attend to, it runs it. The checks are the run
    /// loop's, in the same order, so it leaves with the state the run loop would have. Returns
    /// <see cref="ChainExit.Top"/> when the run loop must start over at its top (an interrupt, a
    /// miss, the budget); <see cref="ChainExit.Found"/> when <paramref name="last"/> is the next
    /// block, found (and counted as a chained entry) but not entered; <see cref="ChainExit.Attention"/>
    /// when <paramref name="last"/> ran up to instruction <paramref name="attention"/>, which asked for
    /// attention (as <see cref="InterpretFast"/> returns it). <paramref name="retired"/> receives the
    /// instructions retired here. A handler's bug (an exception) is reported as
    /// <see cref="InterpretFast"/>'s caller in the run loop reports it.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    [BypassReadyToRun]
    private ChainExit RunChain(Block block, long budgetLeft, out Block last, out int attention, out long retired)
    {
        long done = 0;

        // Read once here rather than through the interface at every block (a compiler's threshold
        // only rises as blocks get hot, JitOptions.RampStart: a chain sees the new one next time),
        // and kept in a field, as the interrupt source is: values that live in registers across
        // the chain take the callee-saved registers InterpretFast's loop needs across its handler
        // calls, which then spilled its handler, instruction and end pointers at every instruction.
        _chainThreshold = Compiler?.Threshold ?? long.MaxValue;
        CpuState* s = _state;
        attention = -1;
        _fastHandler = null;
        try
        {
            while (done < budgetLeft)
            {
                if (_stopRequested || s->InterruptShadow != 0 || s->Halted != 0)
                {
                    break;
                }

                // As at the run loop's top (a latched NMI is delivered there).
                Volatile.Write(ref s->InterruptPoll, 0);
                if (InterruptWaiting(ref *s))
                {
                    break;
                }

                int bitness = s->Bitness;
                var next = Chained(block, s->Rip, CodeLinear, bitness);
                if (next is null)
                {
                    break;
                }

                block = next;
                long executions = next.Executions + 1;
                if (BlockObserver is not null || next.Region is not null || next.Compiled is not null
                    || executions >= (next.CompileRequested ? next.NextHotCheck : _chainThreshold)
                    || !CanInterpretFast(false, bitness == 64 || !s->ProtectedMode || (s->Rflags & Flags.VM) != 0 || s->Cs.Limit == uint.MaxValue ? ulong.MaxValue : s->Cs.Limit))
                {
                    last = block;
                    retired = done;
                    return ChainExit.Found;
                }

                next.Executions = executions;
                int a = InterpretFast(s, next, IpMask(bitness), budgetLeft - done, out int r);
                done += r;
                if (a >= 0)
                {
                    last = block;
                    attention = a;
                    retired = done;
                    return ChainExit.Attention;
                }
            }
        }
        catch (Exception e) when (_fastHandler != null && e is IndexOutOfRangeException or ArgumentException or InvalidOperationException or OverflowException or NotSupportedException)
        {
            // Only a handler's bug (_fastHandler is set while InterpretFast runs one): anything
            // else, from the interrupt source say, leaves as it would leave the run loop.
            attention = InternalErrorInFastPath(block, IpMask(block.Key.Bitness), e);
            last = block;
            retired = done + attention;
            return ChainExit.Attention;
        }

        last = block;
        retired = done;
        return ChainExit.Top;
    }

    /// <summary>
    /// A block may run in <see cref="InterpretFast"/> when nothing needs a check before each
    /// instruction: no stepping, debugger breakpoints, tracer or guest code breakpoints, no debug
    /// trap pending, TF and RF clear, and no CS limit short of 4 GiB. Only POPF and the control
    /// transfers change TF or RF, and they end the block, so this holds for the whole block.
    /// </summary>
    private bool CanInterpretFast(bool stepping, ulong csLimit)
    {
        return !stepping && !_debugHooks && _codeBreakpoints == 0 && !_debugTrapPending
            && (S.Rflags & (Flags.TF | Flags.RF)) == 0 && csLimit == ulong.MaxValue;
    }

    /// <summary>
    /// The interpreter's inner loop for a block that needs no per-instruction checks (see
    /// <see cref="CanInterpretFast"/>): each instruction sets RIP past itself and runs its
    /// handler (the specialised one of <see cref="FastInteger"/> where there is one). Every
    /// event that needs the run loop's attention (a fault, an end of block, an interrupt shadow,
    /// a watchpoint or data breakpoint hit, a write to translated code) sets
    /// <see cref="CpuState.ExitRequest"/>; a recorded fault is checked too, since a handler that
    /// restores the state after a failed far transfer also restores ExitRequest. Returns the
    /// index of the instruction that asked for attention, whose handler ran but whose retirement
    /// is left to the caller, or -1 when the block ran to its end (or the budget ran out) with
    /// nothing to report. <paramref name="retired"/> receives the instructions retired here. It has
    /// no exception handler of its own (the caller's catches a handler's bug), so that the JIT
    /// keeps its loop in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int InterpretFast(CpuState* s, Block block, ulong ipMask, long budgetLeft, out int retired)
    {
        var handlers = block.Handlers ?? BuildHandlers(block);
        var instructions = block.Instructions;
        int end = budgetLeft < instructions.Length ? (int)budgetLeft : instructions.Length;
        _endBlock = false;
        _setShadow = 0;
        s->ExitRequest = 0;
        ref Instruction instruction = ref MemoryMarshal.GetArrayDataReference(instructions);

        // Few values live across the handler call, so that the JIT keeps them all in registers:
        // the handler and instruction pointers, the end, the state; the IP mask and the first
        // handler's address are read back from fields.
        _fastIpMask = ipMask;
        fixed (delegate*<X86Cpu, in Instruction, void>* first = handlers)
        {
            _fastFirst = first;
            // SAFETY (handler and instruction): they advance together from the first of each array,
            // while handler < last, and last = first + end with end <= instructions.Length == handlers.Length.
            var last = first + end;
            for (var handler = first; handler < last; handler++)
            {
                _fastHandler = handler;
                s->Rip = instruction.NextIP & _fastIpMask;
                (*handler)(this, in instruction);
                if ((s->ExitRequest | (_faultVector + 1)) != 0)
                {
                    int k = (int)(handler - (delegate*<X86Cpu, in Instruction, void>*)_fastFirst);
                    RetireFast(s, k);
                    retired = k;
                    return k;
                }

                instruction = ref Unsafe.Add(ref instruction, 1);
            }
        }

        RetireFast(s, end);
        retired = end;
        return -1;
    }

    /// <summary>
    /// <see cref="InterpretFast"/> counts the <paramref name="count"/> instructions it retired
    /// once, as it leaves (<see cref="RetiredNow"/> adds those of a block still running), and
    /// clears the interrupt shadow once one has retired: only the first instruction of a block can
    /// run in a shadow, and an instruction that sets one asks for attention.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void RetireFast(CpuState* s, int count)
    {
        _fastHandler = null;
        s->InstructionsRetired += (ulong)count;
        if (count > 0)
        {
            s->InterruptShadow = 0;
        }
    }

    /// <summary>
    /// <see cref="InterpretFast"/>'s block: the IP mask, the address of its first handler while
    /// the array is pinned, and the handler it is running (for the internal-error report: the
    /// difference of the two is the instruction's index, whatever the array's address after).
    /// </summary>
    private ulong _fastIpMask;
    private void* _fastFirst;
    private void* _fastHandler;

    /// <summary>The index in its block of the instruction <see cref="InterpretFast"/> is running (while <see cref="_fastHandler"/> is set).</summary>
    private int FastIndex => (int)(((nint)_fastHandler - (nint)_fastFirst) / sizeof(nint));

    /// <summary>A handler run by <see cref="InterpretFast"/> threw: log it, raise #UD, and return the instruction's index.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int InternalErrorInFastPath(Block block, ulong ipMask, Exception e)
    {
        int k = FastIndex;
        RetireFast(_state, k);
        ref readonly Instruction instruction = ref block.Instructions[k];
        Log?.Invoke($"internal error in {instruction.Code} ({instruction}) at {instruction.IP & ipMask:x}: {e.GetType().Name}: {e.Message}; raising #UD");
        ClearFault();
        RaiseFault(Exceptions.Vector.UD);
        return k;
    }

    /// <summary>The interpreter's handler for each instruction of a block, chosen once per block.</summary>
    private static delegate*<X86Cpu, in Instruction, void>[] BuildHandlers(Block block)
    {
        var table = InstructionTable.Handlers;
        var instructions = block.Instructions;
        var handlers = new delegate*<X86Cpu, in Instruction, void>[instructions.Length];
        for (int k = 0; k < instructions.Length; k++)
        {
            var fast = FastInteger.Select(in instructions[k]);
            handlers[k] = fast != null ? fast : table[(int)instructions[k].Code];
        }

        block.Handlers = handlers;
        return handlers;
    }

    /// <summary>The translator that compiles hot blocks; null runs everything in the interpreter.</summary>
    public IBlockCompiler? Compiler { get; set; }

    /// <summary>Instructions run by compiled blocks (the rest of <see cref="CpuState.InstructionsRetired"/> was interpreted).</summary>
    public long CompiledInstructions { get; private set; }

    /// <summary>Entries into compiled blocks; and block lookups (either engine) served by a chained successor.</summary>
    public long CompiledEntries { get; private set; }

    public long ChainedEntries { get; private set; }

    /// <summary>Translations entered straight from the previous one's end (<see cref="RunCompiled"/>), not from the run loop.</summary>
    public long TranslationsChained { get; private set; }

    /// <summary>Compiled blocks that left before their last instruction (a fault, a mode change, invalidated code...).</summary>
    public long CompiledEarlyExits { get; private set; }

    /// <summary>Compiled region entries (tier 2), and branches between region members taken inside the region's method.</summary>
    public long RegionEntries { get; private set; }

    public long RegionTransitions { get; private set; }

    /// <summary>
    /// A block entry may run the translation when nothing needs per-instruction attention: no
    /// stepping, debugger breakpoints, tracer, guest breakpoints or watched memory; TF, RF and the
    /// interrupt shadow clear; the CS limit covering the translation (<paramref name="limit"/>);
    /// budget for one pass through its longest block (<paramref name="length"/>); and a flat
    /// 32-bit stack where it assumes one.
    /// </summary>
    [BypassReadyToRun]
    private bool CanRunTranslation(bool stepping, ulong csLimit, long budgetLeft, ulong limit, int length, bool needsFlatStack)
    {
        ref CpuState s = ref S;
        return !stepping && !_debugHooks && _codeBreakpoints == 0 && !_checkAccesses && !_debugTrapPending
            && (s.Rflags & (Flags.TF | Flags.RF)) == 0 && s.InterruptShadow == 0
            && limit <= csLimit && budgetLeft >= length
            && (!needsFlatStack || (s.Ss.DefaultBig && csLimit == ulong.MaxValue));
    }

    private int _loopBudgetAtEntry;
    private bool _inTranslation;

    /// <summary>
    /// Instructions retired so far, including the whole blocks a running translation completed
    /// since it was entered (<see cref="RunCompiled"/> adds those to
    /// <see cref="CpuState.InstructionsRetired"/> only when it returns, and a region may loop
    /// through many blocks), and the instructions of the block <see cref="InterpretFast"/> is
    /// running that it retired so far (it adds them when it leaves the block): what an
    /// instruction-counting clock (icount) reads during a port or MMIO access. Exact to the block
    /// from compiled code, to the instruction from the interpreter.
    /// </summary>
    public ulong RetiredNow => _inTranslation ? S.InstructionsRetired + (ulong)Math.Max(0, _loopBudgetAtEntry - S.LoopBudget)
        : _fastHandler is null ? S.InstructionsRetired : S.InstructionsRetired + (ulong)FastIndex;

    /// <summary>Iterations of its longest block a translation runs per entry at most (the rest of the budget bounds it too).</summary>
    public const int MaxLoopIterations = 4096;

    /// <summary>
    /// Runs a translation, a block's (<paramref name="compiled"/>) or a region's, and returns the
    /// index of the last instruction it ran (see <see cref="CompiledBlock"/>) in the block it ran
    /// it in, which <paramref name="block"/> receives (a region may leave in any member); the
    /// instructions before it are counted as retired here. A translation that branches back to
    /// its own start (a one-block loop) or between region members runs whole blocks while
    /// <see cref="CpuState.LoopBudget"/> lasts (each such branch takes the instructions of the
    /// block it leaves): <paramref name="looped"/> receives the instructions of those blocks,
    /// which are retired here too.
    /// <para>
    /// A translation that ran to its end with nothing to report goes on into the next block's
    /// translation here when the block's chained successor has one (<see cref="NextTranslation"/>),
    /// rather than through the run loop's top: the blocks it ran through whole are retired here
    /// and are in <paramref name="looped"/>, and the returned index is in the last one.
    /// </para>
    /// </summary>
    [BypassReadyToRun]
    private int RunCompiled(ref Block block, CompiledRegion? region, CompiledBlock compiled, ulong ipMask, ulong csLimit, long budgetLeft, out long looped)
    {
        ref CpuState s = ref S;
        s.ExitRequest = 0;
        s.TlbSet = block.Key.Bitness == 64 || (IsFlatData(ref s.Ds) && IsFlatData(ref s.Es) && IsFlatData(ref s.Ss)) ? Tlb.SetAddress(s.Cpl == 3) : Mmu.Paging.Tlb.MissSetAddress;
        _endBlock = false;
        _setShadow = 0;
        long chained = 0;
        int last;
        int loopBudget = 0;
        _inTranslation = true;
        try
        {
            while (true)
            {
                int n = region?.MaxMemberLength ?? block.Instructions.Length;
                int reserve = region?.TotalLength ?? n;

                // Whole blocks may retire up to this much, and the final pass (a region: a chain of
                // branches forward, each member once at most) up to the reserve more.
                loopBudget = (int)Math.Min((long)MaxLoopIterations * n, budgetLeft - reserve);
                s.LoopBudget = loopBudget;
                _loopBudgetAtEntry = loopBudget;
                last = (region?.Code ?? compiled)(this, StatePointer);
                CompiledEntries++;
                if (region is not null)
                {
                    int m = region.MemberOf(last);
                    last -= region.Starts[m];
                    block = region.Members[m];
                    RegionEntries++;
                    RegionTransitions += s.RegionTransitions;
                    s.RegionTransitions = 0;
                }

                int length = block.Instructions.Length;
                if (last != length - 1 || (s.ExitRequest | (_faultVector + 1) | s.InterruptPoll) != 0 || _debugTrapPending || _watchHit)
                {
                    break;
                }

                // The block ran through: retire it whole and go on into its successor's translation
                // if it has one that may run now.
                long done = length + (loopBudget - s.LoopBudget);
                var next = NextTranslation(block, csLimit, budgetLeft - done, out var nextRegion, out var nextCompiled);
                if (next is null)
                {
                    break;
                }

                s.InstructionsRetired += (ulong)done;
                CompiledInstructions += done;
                TranslationsChained++;
                chained += done;
                budgetLeft -= done;
                block = next;
                region = nextRegion;
                compiled = nextCompiled!;
            }
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentException or InvalidOperationException or OverflowException or NotSupportedException or MemberAccessException or NullReferenceException)
        {
            // A handler called from the translation threw. Registers were stored before the call
            // and RIP points after the instruction, which identifies it within the block. (A
            // MemberAccessException is a translator bug, generated code calling a non-public
            // method, and so is a NullReferenceException from inline code reading through a null
            // host pointer, as the TLB probe once did for an empty entry: either must cost the
            // guest a #UD, not the host its process; RIP may then name an earlier instruction.)
            (block, last) = FaultingIndex(region?.Members ?? [block], s.Rip, ipMask);
            Log?.Invoke($"internal error in {block.Instructions[last].Code} ({block.Instructions[last]}) at {block.Instructions[last].IP:x}: {e.GetType().Name}: {e.Message}; raising #UD");
            ClearFault();
            RaiseFault(Exceptions.Vector.UD);
        }
        finally
        {
            _inTranslation = false;
        }

        long loopedHere = loopBudget - s.LoopBudget;
        s.InstructionsRetired += (ulong)(last + loopedHere);
        CompiledInstructions += last + 1 + loopedHere;
        if (last < block.Instructions.Length - 1)
        {
            CompiledEarlyExits++;
        }

        looped = chained + loopedHere;
        return last;
    }

    /// <summary>
    /// For <see cref="RunCompiled"/>, after <paramref name="block"/>'s translation ran to its end
    /// with nothing to report (no exit request, fault, interrupt poll or debug event, so the mode,
    /// the segments, CPL and paging are as they were when the first translation was entered): the
    /// block to go on with and its translation, or null to leave it to the run loop. That is its
    /// chained successor (as <see cref="Chained"/> finds it, mapping checked), when no NMI or
    /// deliverable interrupt is pending, its translation may run (as <see cref="CanRunTranslation"/>
    /// decides for the run loop) and entering it is no tiering event; the entry is then counted in
    /// <see cref="Block.Executions"/> as the run loop counts it.
    /// </summary>
    [BypassReadyToRun]
    private Block? NextTranslation(Block block, ulong csLimit, long budgetLeft, out CompiledRegion? region, out CompiledBlock? compiled)
    {
        ref CpuState s = ref S;
        region = null;
        compiled = null;
        if (InterruptWaiting(ref s))
        {
            return null;
        }

        var next = Chained(block, s.Rip, CodeLinear, block.Key.Bitness, count: false);
        if (next is null || BlockObserver is not null)
        {
            return null;
        }

        long executions = next.Executions + 1;
        if (executions >= next.NextHotCheck)
        {
            return null;
        }

        // As the run loop chooses: the region, else the block's own translation.
        region = next.Region;
        if (region is not null && !CanRunTranslation(false, csLimit, budgetLeft, region.Limit, region.TotalLength, region.NeedsFlatStack))
        {
            region = null;
        }

        if (region is null)
        {
            compiled = next.Compiled;
            if (compiled is null || !CanRunTranslation(false, csLimit, budgetLeft, next.CompiledLimit, next.Instructions.Length, next.CompiledNeedsFlatStack))
            {
                return null;
            }
        }

        next.Executions = executions;
        ChainedEntries++;
        return next;
    }

    /// <summary>A segment whose offsets are linear addresses with no check to make: base 0, 4 GiB limit, writable data.</summary>
    private static bool IsFlatData(ref SegmentRegister r) => r.Base == 0 && r.Limit == uint.MaxValue && (r.Attributes & FlatDataMask) == FlatDataValue;

    private static (Block Block, int Index) FaultingIndex(Block[] blocks, ulong next, ulong ipMask)
    {
        foreach (var block in blocks)
        {
            var instructions = block.Instructions;
            for (int k = 0; k < instructions.Length; k++)
            {
                if ((instructions[k].NextIP & ipMask) == next)
                {
                    return (block, k);
                }
            }
        }

        return (blocks[0], 0);
    }

    /// <summary>
    /// The cached successor of <paramref name="previous"/> if it is still the block at this
    /// address, counted in <see cref="ChainedEntries"/> unless <paramref name="count"/> is false
    /// (<see cref="NextTranslation"/> counts it only when it enters it: else the run loop finds it
    /// again and counts it then).
    /// </summary>
    [BypassReadyToRun]
    private Block? Chained(Block previous, ulong rip, ulong linear, int bitness, bool count = true)
    {
        var candidate = previous.Successor0;
        if (candidate is null || candidate.Key.Rip != rip)
        {
            candidate = previous.Successor1;
            if (candidate is null || candidate.Key.Rip != rip)
            {
                return null;
            }
        }

        if (!candidate.Valid || candidate.Key.Linear != linear || candidate.Key.Bitness != bitness
            || !Tlb.TryTranslateExecute(linear, S.Cpl == 3, out ulong physical) || physical != candidate.Key.Physical)
        {
            return null;
        }

        if (count)
        {
            ChainedEntries++;
        }

        return candidate;
    }

    private StopReason TripleFault()
    {
        Log?.Invoke($"triple fault at {S.Cs.Selector:x4}:{S.Rip:x} (CR0={S.Cr0:x} CR3={S.Cr3:x} CR4={S.Cr4:x} EFER={S.Efer:x})");
        return StopReason.TripleFault;
    }
}
