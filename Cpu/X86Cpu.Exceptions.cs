using System.Runtime.CompilerServices;
using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;

namespace Emulator.Cpu;

/// <summary>
/// Faults are recorded, not thrown: an accessor that fails calls <see cref="RaiseFault(int, uint)"/>
/// and returns false, the instruction returns, and the run loop rolls RIP back to the faulting
/// instruction and delivers the exception (DESIGN.md, "precise faults"). Delivery follows SDM
/// Vol. 3A chapter 6: the real-mode IVT (20.1.4), 32-bit IDT gates (6.12) and 64-bit gates (6.14),
/// with the double-fault and triple-fault rules of 6.15 (interrupt 8).
/// </summary>
public sealed unsafe partial class X86Cpu
{
    private int _faultVector = -1;
    private uint _faultError;

    public bool Faulted => _faultVector >= 0;

    public int FaultVector => _faultVector;

    public uint FaultErrorCode => _faultError;

    /// <summary>Records a fault (the first one wins) and returns false, so callers can <c>return RaiseFault(...)</c>.</summary>
    public bool RaiseFault(int vector, uint errorCode = 0)
    {
        if (_faultVector < 0)
        {
            _faultVector = vector;
            _faultError = errorCode;
        }

        S.ExitRequest = 1;

        return false;
    }

    public void ClearFault()
    {
        _faultVector = -1;
        _faultError = 0;
    }

    /// <summary>Called by tests and the debugger when a guest exception is taken.</summary>
    public Action<int, uint, ulong>? ExceptionObserver { get; set; }

    /// <summary>
    /// Delivers the pending fault for the instruction at <paramref name="faultRip"/>, applying the
    /// double-fault rules. Returns false when the result is a triple fault.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // rare: kept out of the run loop's code
    internal bool DeliverPendingFault(ulong faultRip)
    {
        int first = _faultVector;
        uint error = _faultError;
        faultRip = FaultRipAfterTaskSwitch(faultRip);
        ClearFault();
        S.Rip = faultRip;
        ExceptionObserver?.Invoke(first, error, faultRip);

        // SDM Vol. 3A 17.3.1.1: the EFLAGS image of a fault has RF = 1, so that the faulting
        // instruction restarts past its instruction breakpoint; a #DB for an instruction breakpoint
        // and traps push RF as it is. A general-detect #DB is a fault and sets it.
        _faultPushesRf = Vector.IsFault(first) || (first == Vector.DB && _faultPushesRf);
        if (DeliverInterrupt(first, Vector.HasErrorCode(first), error, faultRip, InterruptKind.Exception))
        {
            return true;
        }

        int second = _faultVector;
        uint secondError = _faultError;
        faultRip = FaultRipAfterTaskSwitch(faultRip);
        ClearFault();
        if (first == Vector.DF)
        {
            return false;
        }

        // SDM table 6-5: contributory after contributory, or anything but benign after #PF, is #DF.
        bool doubleFault = (Vector.IsContributory(first) && Vector.IsContributory(second))
            || (first == Vector.PF && (second == Vector.PF || Vector.IsContributory(second)));
        if (!doubleFault)
        {
            // Benign combinations are handled serially: the second exception is delivered instead.
            ExceptionObserver?.Invoke(second, secondError, faultRip);
            _faultPushesRf = Vector.IsFault(second);
            if (DeliverInterrupt(second, Vector.HasErrorCode(second), secondError, faultRip, InterruptKind.Exception))
            {
                return true;
            }

            faultRip = FaultRipAfterTaskSwitch(faultRip);
            ClearFault();
        }

        ExceptionObserver?.Invoke(Vector.DF, 0, faultRip);
        if (DeliverInterrupt(Vector.DF, true, 0, faultRip, InterruptKind.Exception))
        {
            return true;
        }

        ClearFault();
        return false;
    }

    /// <summary>
    /// Vectors through the IVT or IDT. On a fault during delivery the state is restored and the
    /// fault left pending, so the caller can apply the double-fault rules; a fault after a task
    /// switch through a task gate committed keeps the new task's state (SDM Vol. 3A 8.3).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // rare, with a copy of the whole state: kept out of the run loop's code
    public bool DeliverInterrupt(int vector, bool hasError, uint error, ulong returnRip, InterruptKind kind)
    {
        CpuState saved = S;
        bool ok = !S.ProtectedMode ? DeliverReal(vector, returnRip)
            : S.LongModeActive ? DeliverLong(vector, hasError, error, returnRip, kind)
            : DeliverProtected(vector, hasError, error, returnRip, kind);
        _faultPushesRf = false;
        if (!ok && _faultInNewTask)
        {
            return false;
        }

        if (!ok)
        {
            int pending = _faultVector;
            uint pendingError = _faultError;
            S = saved;
            _faultVector = pending;

            // SDM Vol. 3A 6.13: EXT (bit 0 of a selector error code) is set when the fault occurred
            // while delivering an event external to the program: a hardware interrupt, NMI, INT1 or
            // an earlier exception; it stays clear for INT n, INT3 and INTO.
            if (kind != InterruptKind.Software && pending is Vector.TS or Vector.NP or Vector.SS or Vector.GP)
            {
                pendingError |= 1;
            }

            _faultError = pendingError;
            return false;
        }

        S.Halted = 0;
        S.InterruptShadow = 0;
        if (vector == Vector.DB && kind != InterruptKind.Software)
        {
            // SDM Vol. 3A 17.2.4: entering the debug-exception handler clears DR7.GD, so the
            // handler can use the debug registers.
            S.Dr[7] &= ~Dr7GD;
        }

        return true;
    }

    private bool DeliverReal(int vector, ulong returnRip)
    {
        ref CpuState s = ref S;
        ulong entry = (ulong)vector * 4;
        if (entry + 3 > s.Idtr.Limit)
        {
            return RaiseFault(Vector.GP, 0);
        }

        if (!ReadSystem(s.Idtr.Base + entry, 4, out ulong ivt))
        {
            return false;
        }

        if (!Push(s.Rflags & 0xFFFF, 2) || !Push(s.Cs.Selector, 2) || !Push(returnRip & 0xFFFF, 2))
        {
            return false;
        }

        s.Rflags &= ~(Flags.IF | Flags.TF | Flags.AC | Flags.RF);
        s.Cs.Selector = (ushort)(ivt >> 16);
        s.Cs.Base = (ivt >> 16) << 4;
        s.Rip = ivt & 0xFFFF;
        return true;
    }

    /// <summary>The error code naming an IDT entry (SDM Vol. 3A 6.13): IDT bit 1; EXT is added by <see cref="DeliverInterrupt"/>.</summary>
    private static uint IdtError(int vector) => (uint)((vector * 8) + 2);

    private bool DeliverProtected(int vector, bool hasError, uint error, ulong returnRip, InterruptKind kind)
    {
        ref CpuState s = ref S;
        ulong entry = (ulong)vector * 8;
        if (entry + 7 > s.Idtr.Limit)
        {
            return RaiseFault(Vector.GP, IdtError(vector));
        }

        if (!ReadSystem(s.Idtr.Base + entry, 8, out ulong gate))
        {
            return false;
        }

        int type = (int)(gate >> 40) & 0xF;
        int gateDpl = (int)(gate >> 45) & 3;
        bool is32 = type is 0xE or 0xF;
        if (type is not (0x5 or 0x6 or 0x7 or 0xE or 0xF))
        {
            return RaiseFault(Vector.GP, IdtError(vector));
        }

        if (kind == InterruptKind.Software && gateDpl < s.Cpl)
        {
            return RaiseFault(Vector.GP, IdtError(vector));
        }

        if ((gate & (1UL << 47)) == 0)
        {
            return RaiseFault(Vector.NP, IdtError(vector));
        }

        var selector = (ushort)(gate >> 16);
        if (type == 0x5)
        {
            // SDM 6.12.2: a task gate switches to the interrupt task named by its TSS selector.
            return InterruptTask(selector, hasError, error, returnRip, kind);
        }

        ulong offset = (gate & 0xFFFF) | ((gate >> 32) & 0xFFFF0000);
        return EnterHandler(selector, offset, is32 ? 4 : 2, interruptGate: (type & 1) == 0, hasError, error, returnRip, ist: 0);
    }

    private bool DeliverLong(int vector, bool hasError, uint error, ulong returnRip, InterruptKind kind)
    {
        ref CpuState s = ref S;
        ulong entry = (ulong)vector * 16;
        if (entry + 15 > s.Idtr.Limit)
        {
            return RaiseFault(Vector.GP, IdtError(vector));
        }

        if (!ReadSystem(s.Idtr.Base + entry, 8, out ulong lo) || !ReadSystem(s.Idtr.Base + entry + 8, 8, out ulong hi))
        {
            return false;
        }

        int type = (int)(lo >> 40) & 0xF;
        int gateDpl = (int)(lo >> 45) & 3;
        if (type is not (0xE or 0xF))
        {
            return RaiseFault(Vector.GP, IdtError(vector));
        }

        if (kind == InterruptKind.Software && gateDpl < s.Cpl)
        {
            return RaiseFault(Vector.GP, IdtError(vector));
        }

        if ((lo & (1UL << 47)) == 0)
        {
            return RaiseFault(Vector.NP, IdtError(vector));
        }

        var selector = (ushort)(lo >> 16);
        ulong offset = (lo & 0xFFFF) | ((lo >> 32) & 0xFFFF0000) | ((hi & 0xFFFFFFFF) << 32);
        return EnterHandler(selector, offset, 8, interruptGate: type == 0xE, hasError, error, returnRip, ist: (int)(lo >> 32) & 7);
    }

    /// <summary>
    /// The common tail of IDT delivery: load the handler's CS, switch stacks when the privilege
    /// rises (from the TSS; SDM 6.12.1 and 6.14.4-5), push the frame, clear flags, jump.
    /// </summary>
    private bool EnterHandler(ushort selector, ulong offset, int width, bool interruptGate, bool hasError, uint error, ulong returnRip, int ist)
    {
        ref CpuState s = ref S;
        bool longMode = s.LongModeActive;
        if ((selector & ~3) == 0)
        {
            return RaiseFault(Vector.GP, 0);
        }

        if (!ReadDescriptor(selector, out ulong d, out _))
        {
            return false;
        }

        var target = FromDescriptor(selector, d);
        if ((target.Attributes & (SegmentRegister.AttrS | SegmentRegister.AttrCode)) != (SegmentRegister.AttrS | SegmentRegister.AttrCode) || target.Dpl > s.Cpl
            || (longMode && !target.Long))
        {
            return RaiseFault(Vector.GP, (uint)(selector & ~3));
        }

        if (!target.Present)
        {
            return RaiseFault(Vector.NP, (uint)(selector & ~3));
        }

        CpuState before = s;
        bool fromVirtual8086 = (s.Rflags & Flags.VM) != 0;
        if (fromVirtual8086 && !CheckVirtual8086Handler(target, selector))
        {
            return false;
        }

        int oldCpl = s.Cpl;
        bool conforming = (target.Attributes & 4) != 0;
        int newCpl = conforming ? oldCpl : target.Dpl;
        ulong oldFlags = s.Rflags;
        var oldCs = s.Cs;
        var oldSs = s.Ss;
        ulong oldRsp = s.Gpr[CpuState.RSP];
        bool switchStack = newCpl < oldCpl || (longMode && ist != 0);

        if (switchStack)
        {
            if (!ReadInnerStack(newCpl, longMode ? ist : 0, out var newSs, out ulong newSp, out ulong ssAddress, out ulong ssDescriptor)
                || (!longMode && !SetAccessed(ssAddress, ssDescriptor)))
            {
                return false;
            }

            // SDM 6.12.1: the new stack must hold the whole frame, else #SS(new SS selector).
            int slots = (hasError ? 6 : 5) + (fromVirtual8086 ? 4 : 0);
            if (!longMode && !StackFits(newSs, newSp, slots * width))
            {
                return RaiseFault(Vector.SS, (uint)(newSs.Selector & ~3));
            }

            s.Ss = newSs;
            s.Gpr[CpuState.RSP] = newSp;
        }

        target.Selector = (ushort)((selector & ~3) | newCpl);
        target.Attributes = (ushort)((target.Attributes & ~(3 << 5)) | (newCpl << 5) | SegmentRegister.AttrAccessed);
        s.Cs = target;
        if (longMode)
        {
            // SDM 6.14.2: the 64-bit frame is aligned to 16 bytes and always holds SS:RSP.
            s.Gpr[CpuState.RSP] &= ~0xFUL;
        }

        if (fromVirtual8086)
        {
            // SDM 20.3.1.1: the handler's stack takes the 8086 data segments first (figure 20-2);
            // from here on accesses are protected-mode ring-0 accesses.
            s.Rflags &= ~Flags.VM;
            if (!PushVirtual8086Segments(before, width))
            {
                return false;
            }

            ClearVirtual8086DataSegments();
        }

        if (longMode || switchStack)
        {
            if (!Push(oldSs.Selector, width) || !Push(oldRsp, width))
            {
                return false;
            }
        }

        if (!Push(_faultPushesRf ? oldFlags | Flags.RF : oldFlags, width) || !Push(oldCs.Selector, width) || !Push(returnRip, width))
        {
            return false;
        }

        if (hasError && !Push(error, width))
        {
            return false;
        }

        s.Rflags &= ~(Flags.TF | Flags.NT | Flags.RF | Flags.VM);
        if (interruptGate)
        {
            s.Rflags &= ~Flags.IF;
        }

        s.Rip = width == 2 ? offset & 0xFFFF : offset;
        return true;
    }
}
