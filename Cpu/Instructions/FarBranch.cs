using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// Far control transfers (SDM Vol. 2A JMP and CALL, Vol. 2B RET and IRET, Vol. 3A 5.8): direct
/// to a code segment, through 16-, 32- and 64-bit call gates with the privilege change and stack
/// switch of 5.8.5 (parameters copied for 16/32-bit gates), far RET and IRET to the same or an
/// outer privilege with the data-segment nulling of 5.8.6. Every check happens before any state
/// is committed; a fault restores the state saved at entry. A TSS descriptor or a task gate as
/// the target switches tasks (SDM Vol. 3A 8.3, X86Cpu.Tasks.cs); IRET with NT = 1 returns to
/// the previous task, and IRET to or in virtual-8086 mode is in Virtual8086.cs.
/// </summary>
public static class FarBranch
{
    private const int CallGate16 = 0x4, TaskGate = 0x5, CallGate32 = 0xC;

    /// <summary>JMP far and CALL far through an immediate pointer or a memory operand (m16:16/32/64).</summary>
    private static bool FarPointer(X86Cpu c, in Instruction i, out ushort selector, out ulong offset, out int size)
    {
        switch (i.Op0Kind)
        {
            case OpKind.FarBranch16:
                selector = i.FarBranchSelector;
                offset = i.FarBranch16;
                size = 2;
                return true;
            case OpKind.FarBranch32:
                selector = i.FarBranchSelector;
                offset = i.FarBranch32;
                size = 4;
                return true;
        }

        size = i.MemorySize switch { MemorySize.SegPtr16 => 2, MemorySize.SegPtr32 => 4, _ => 8 };
        selector = 0;
        Seg seg = X86Cpu.MemorySegment(i);
        ulong ea = c.EffectiveAddress(i);
        if (!c.Read(seg, ea, size, out offset) || !c.Read(seg, ea + (ulong)size, 2, out ulong sel))
        {
            return false;
        }

        selector = (ushort)sel;
        return true;
    }

    private static bool Protected(in CpuState s) => s.ProtectedMode && (s.Rflags & Flags.VM) == 0;

    public static void JmpFar(X86Cpu c, in Instruction i)
    {
        if (FarPointer(c, i, out ushort selector, out ulong offset, out int size) && Transfer(c, selector, offset, size, call: false))
        {
            c.EndBlock();
        }
    }

    public static void CallFar(X86Cpu c, in Instruction i)
    {
        if (FarPointer(c, i, out ushort selector, out ulong offset, out int size) && Transfer(c, selector, offset, size, call: true))
        {
            c.EndBlock();
        }
    }

    /// <summary>The common path of far JMP and CALL; on a fault the state is as before the instruction.</summary>
    private static bool Transfer(X86Cpu c, ushort selector, ulong offset, int size, bool call)
    {
        ref CpuState s = ref c.S;
        CpuState saved = s;
        ulong returnRip = s.Rip;
        if (!Protected(s))
        {
            // Real and virtual-8086 mode: CS = selector * 16, the offset checked against the CS limit.
            if (call && (!c.Push(s.Cs.Selector, size) || !c.Push(returnRip, size)))
            {
                s = saved;
                return false;
            }

            if (!c.CheckBranchTarget(s.Cs, offset) || !c.LoadCodeSegment(selector, isReturn: false))
            {
                s = saved;
                return false;
            }

            s.Rip = offset;
            return true;
        }

        if ((selector & ~3) == 0)
        {
            return c.RaiseFault(Vector.GP, 0);
        }

        if (!c.ReadDescriptor(selector, out ulong d, out ulong address))
        {
            return false;
        }

        if ((d & (1UL << 44)) == 0)
        {
            return ThroughGate(c, selector, d, address, call);
        }

        // SDM 5.8.3: a direct transfer to a code segment keeps the CPL (5.8.1-5.8.2 checks).
        if (!c.CheckCodeSegment(selector, d, isReturn: false, out var target) || !c.CheckBranchTarget(target, offset))
        {
            return false;
        }

        if (call && (!c.Push(s.Cs.Selector, size) || !c.Push(returnRip, size)))
        {
            s = saved;
            return false;
        }

        if (!SetAccessed(c, address, d))
        {
            s = saved;
            return false;
        }

        s.Cs = target;
        s.Rip = offset;
        return true;
    }

    private static bool SetAccessed(X86Cpu c, ulong address, ulong d) => (d & (1UL << 40)) != 0 || c.WriteSystem(address + 5, 1, (d >> 40) | 1);

    /// <summary>
    /// A far JMP or CALL whose selector names a system descriptor: a call gate (SDM 5.8.3-5.8.6),
    /// or a task gate or TSS (a task switch, 8.3). In IA-32e mode only the 16-byte 64-bit call
    /// gate (type 0Ch) is valid (5.8.3.1): task switches there are #GP(selector) (8.7).
    /// </summary>
    private static bool ThroughGate(X86Cpu c, ushort gateSelector, ulong gate, ulong gateAddress, bool call)
    {
        ref CpuState s = ref c.S;
        uint gateError = (uint)(gateSelector & ~3);
        int type = (int)(gate >> 40) & 0xF;
        bool longMode = s.LongModeActive;
        int cpl = s.Cpl;
        int gateDpl = (int)(gate >> 45) & 3;
        if (!longMode && (type is TaskGate or 0x1 or 0x9))
        {
            return ToTask(c, gateSelector, gate, gateAddress, call);
        }

        if (longMode ? type != CallGate32 : type is not (CallGate16 or CallGate32))
        {
            return c.RaiseFault(Vector.GP, gateError);
        }

        // SDM 5.8.4: the gate must be reachable: DPL >= CPL and DPL >= RPL.
        if (gateDpl < cpl || gateDpl < (gateSelector & 3))
        {
            return c.RaiseFault(Vector.GP, gateError);
        }

        if ((gate & (1UL << 47)) == 0)
        {
            return c.RaiseFault(Vector.NP, gateError);
        }

        ulong offset = (gate & 0xFFFF) | (type == CallGate16 ? 0 : (gate >> 32) & 0xFFFF_0000);
        if (longMode)
        {
            // The upper half of a 64-bit gate: offset 63:32, and a type field (bits 12:8) that must be 0.
            if (!c.ReadSystem(gateAddress + 8, 8, out ulong high))
            {
                return false;
            }

            if (((high >> 40) & 0x1F) != 0)
            {
                return c.RaiseFault(Vector.GP, gateError);
            }

            offset |= (high & 0xFFFF_FFFF) << 32;
        }

        var codeSelector = (ushort)(gate >> 16);
        uint codeError = (uint)(codeSelector & ~3);
        if ((codeSelector & ~3) == 0)
        {
            return c.RaiseFault(Vector.GP, 0);
        }

        if (!c.ReadDescriptor(codeSelector, out ulong d, out ulong codeAddress))
        {
            return false;
        }

        var target = X86Cpu.FromDescriptor(codeSelector, d);
        bool isCode = (target.Attributes & (SegmentRegister.AttrS | SegmentRegister.AttrCode)) == (SegmentRegister.AttrS | SegmentRegister.AttrCode);
        bool conforming = (target.Attributes & SegmentRegister.AttrConforming) != 0;
        // CALL may go to a more privileged nonconforming segment; JMP only to DPL = CPL (or conforming DPL <= CPL).
        if (!isCode || target.Dpl > cpl || (!call && !conforming && target.Dpl != cpl))
        {
            return c.RaiseFault(Vector.GP, codeError);
        }

        if (!target.Present)
        {
            return c.RaiseFault(Vector.NP, codeError);
        }

        // SDM 5.8.3.1: a 64-bit call gate must lead to 64-bit code (L = 1, D = 0).
        if (longMode && (!target.Long || target.DefaultBig))
        {
            return c.RaiseFault(Vector.GP, codeError);
        }

        if (type == CallGate16)
        {
            offset &= 0xFFFF;
        }

        if (!c.CheckBranchTarget(target, offset))
        {
            return false;
        }

        int newCpl = call && !conforming && target.Dpl < cpl ? target.Dpl : cpl;
        int width = longMode ? 8 : type == CallGate16 ? 2 : 4;
        ushort oldCs = s.Cs.Selector;
        ulong returnRip = s.Rip;
        target.Selector = (ushort)((codeSelector & ~3) | newCpl);
        target.Attributes = (ushort)((target.Attributes & ~(3 << 5)) | (newCpl << 5) | SegmentRegister.AttrAccessed);
        CpuState saved = s;
        if (newCpl < cpl)
        {
            if (!CallToInnerLevel(c, gate, width, target, oldCs, returnRip))
            {
                s = saved;
                return false;
            }
        }
        else
        {
            // The return address goes on the current stack, addressed as the target's mode does.
            s.Cs = target;
            if (call && (!c.Push(oldCs, width) || !c.Push(returnRip, width)))
            {
                s = saved;
                return false;
            }
        }

        if (!SetAccessed(c, codeAddress, d))
        {
            s = saved;
            return false;
        }

        s.Rip = offset;
        return true;
    }

    /// <summary>
    /// JMP or CALL to a TSS descriptor or through a task gate (SDM Vol. 2A JMP and CALL,
    /// "TASK-GATE" and "TASK-STATE-SEGMENT"). The gate or TSS descriptor must have DPL &gt;= CPL
    /// and &gt;= RPL (a TSS reached through a gate is not checked against CPL), else
    /// #GP(selector); a busy TSS or a TSS in an LDT is #GP(TSS selector); not present is #NP.
    /// </summary>
    private static bool ToTask(X86Cpu c, ushort selector, ulong d, ulong address, bool call)
    {
        ref CpuState s = ref c.S;
        uint error = (uint)(selector & ~3);
        int dpl = (int)(d >> 45) & 3;
        if (dpl < s.Cpl || dpl < (selector & 3))
        {
            return c.RaiseFault(Vector.GP, error);
        }

        var source = call ? TaskSwitchSource.Call : TaskSwitchSource.Jump;
        if (((d >> 40) & 0xF) == TaskGate)
        {
            if ((d & (1UL << 47)) == 0)
            {
                return c.RaiseFault(Vector.NP, error);
            }

            var tssSelector = (ushort)(d >> 16);
            return c.ReadTaskGateTss(tssSelector, 0, out ulong tss, out ulong tssAddress)
                && c.SwitchTask(tssSelector, tss, tssAddress, source, s.Rip);
        }

        // TSS descriptors live only in the GDT (SDM 8.2.2).
        if ((selector & 4) != 0)
        {
            return c.RaiseFault(Vector.GP, error);
        }

        if ((d & (1UL << 47)) == 0)
        {
            return c.RaiseFault(Vector.NP, error);
        }

        return c.SwitchTask(selector, d, address, source, s.Rip);
    }

    /// <summary>
    /// CALL through a gate to a more privileged level (SDM 5.8.5, figure 5-13): switch to the
    /// stack for the new CPL from the TSS, push the caller's SS and ESP, copy the gate's parameter
    /// count of words or doublewords from the caller's stack (16/32-bit gates; 64-bit gates copy
    /// none), then push the caller's CS and EIP. The new stack must hold the whole frame, else
    /// #SS(new SS selector). Loads CS with <paramref name="target"/> (whose DPL is the new CPL).
    /// </summary>
    private static bool CallToInnerLevel(X86Cpu c, ulong gate, int width, in SegmentRegister target, ushort oldCs, ulong returnRip)
    {
        ref CpuState s = ref c.S;
        int newCpl = target.Dpl;
        bool longMode = s.LongModeActive;
        if (!c.ReadInnerStack(newCpl, 0, out var newSs, out ulong newSp, out ulong ssAddress, out ulong ssDescriptor))
        {
            return false;
        }

        int count = longMode ? 0 : (int)(gate >> 32) & 0x1F;
        if (!longMode && !X86Cpu.StackFits(newSs, newSp, (4 + count) * width))
        {
            return c.RaiseFault(Vector.SS, (uint)(newSs.Selector & ~3));
        }

        // Read the parameters from the caller's stack before leaving it.
        Span<ulong> parameters = stackalloc ulong[32];
        for (int k = 0; k < count; k++)
        {
            if (!c.PeekStack(k * width, width, out parameters[k]))
            {
                return false;
            }
        }

        var oldSs = s.Ss;
        ulong oldSp = s.Gpr[CpuState.RSP];

        // From here on the pushes are accesses at the new CPL, on the new stack, in the target's mode.
        s.Cs = target;
        s.Ss = newSs;
        s.Gpr[CpuState.RSP] = newSp;
        if (!c.Push(oldSs.Selector, width) || !c.Push(oldSp, width))
        {
            return false;
        }

        for (int k = count - 1; k >= 0; k--)
        {
            if (!c.Push(parameters[k], width))
            {
                return false;
            }
        }

        if (!c.Push(oldCs, width) || !c.Push(returnRip, width))
        {
            return false;
        }

        return longMode || SetAccessed(c, ssAddress, ssDescriptor);
    }

    /// <summary>
    /// RET far (SDM Vol. 2B, RET): pops EIP and CS; to an outer level (RPL &gt; CPL) it then
    /// releases the immediate count of parameter bytes, pops ESP and SS, checks SS against the
    /// new CPL and nulls data segments the outer level may not use (SDM 5.8.6).
    /// </summary>
    public static void RetFar(X86Cpu c, in Instruction i)
    {
        ref CpuState s = ref c.S;
        int release = i.OpCount > 0 ? i.Immediate16 : 0;
        int size = i.Code switch { Code.Retfw or Code.Retfw_imm16 => 2, Code.Retfd or Code.Retfd_imm16 => 4, _ => 8 };
        if (!c.PeekStack(0, size, out ulong offset) || !c.PeekStack(size, 2, out ulong selectorValue))
        {
            return;
        }

        var selector = (ushort)selectorValue;
        CpuState saved = s;
        if (!Protected(s))
        {
            if (!c.CheckBranchTarget(s.Cs, offset & X86Cpu.SizeMask(size)) || !c.LoadCodeSegment(selector, isReturn: true))
            {
                s = saved;
                return;
            }

            s.Rip = offset & X86Cpu.SizeMask(size);
            c.AdjustStack((2 * size) + release);
            c.EndBlock();
            return;
        }

        int cpl = s.Cpl;
        int rpl = selector & 3;
        bool outer = rpl > cpl;
        ulong newSp = 0, newSs = 0;
        if (outer && (!c.PeekStack((2 * size) + release, size, out newSp) || !c.PeekStack((3 * size) + release, 2, out newSs)))
        {
            return;
        }

        if ((selector & ~3) == 0)
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        if (!c.ReadDescriptor(selector, out ulong d, out ulong address) || !c.CheckCodeSegment(selector, d, isReturn: true, out var target)
            || !c.CheckBranchTarget(target, offset & X86Cpu.SizeMask(size)))
        {
            return;
        }

        if (!SetAccessed(c, address, d))
        {
            return;
        }

        s.Cs = target;
        s.Rip = offset & X86Cpu.SizeMask(size);
        if (outer)
        {
            // The new SS is checked at the new CPL (RPL of the return CS), as LoadSegment does.
            if (!c.LoadSegment(Seg.SS, (ushort)newSs))
            {
                s = saved;
                return;
            }

            SetStackPointer(c, newSp, size);
            c.AdjustStack(release);
            c.NullInaccessibleDataSegments(rpl);
        }
        else
        {
            c.AdjustStack((2 * size) + release);
        }

        c.EndBlock();
    }

    /// <summary>Loads the popped stack pointer: all of RSP for a 64-bit pop, else as wide as the new SS.</summary>
    private static void SetStackPointer(X86Cpu c, ulong sp, int size)
    {
        ref CpuState s = ref c.S;
        s.Gpr[CpuState.RSP] = size == 8 || c.StackAddressSize == 8 ? sp
            : s.Ss.DefaultBig ? sp & 0xFFFF_FFFF
            : (s.Gpr[CpuState.RSP] & ~0xFFFFUL) | (sp & 0xFFFF);
    }

    /// <summary>
    /// IRET, IRETD, IRETQ (SDM Vol. 2A, IRET): real mode, and protected or IA-32e mode returns to
    /// the same or an outer privilege. In 64-bit mode SS:RSP is always popped. With NT = 1
    /// (outside IA-32e mode) it returns to the previous task; in virtual-8086 mode, and from CPL 0
    /// with VM = 1 in the popped EFLAGS, it goes through Virtual8086.cs.
    /// </summary>
    public static void Iret(X86Cpu c, in Instruction i)
    {
        ref CpuState s = ref c.S;
        int size = i.Code switch { Code.Iretw => 2, Code.Iretd => 4, _ => 8 };

        // SDM Vol. 3A 6.7.1: executing IRET ends NMI blocking; it does so even when the IRET then
        // faults (SDM Vol. 3C 28.2.3, "NMI unblocking due to IRET").
        s.NmiBlocked = 0;
        if (!c.PeekStack(0, size, out ulong rip) || !c.PeekStack(size, size, out ulong cs) || !c.PeekStack(2 * size, size, out ulong flags))
        {
            return;
        }

        CpuState saved = s;
        c.EndBlock();
        if (!s.ProtectedMode)
        {
            rip &= X86Cpu.SizeMask(size);
            if (!c.CheckBranchTarget(s.Cs, rip))
            {
                return;
            }

            c.LoadCodeSegment((ushort)cs, isReturn: true);
            s.Rip = rip;
            ulong writable = size == 2 ? 0x7FD5UL : 0x257FD5UL;
            s.Rflags = (s.Rflags & ~writable) | (flags & writable) | Flags.Reserved1;
            c.AdjustStack(3 * size);
            return;
        }

        if ((s.Rflags & Flags.VM) != 0)
        {
            Virtual8086.IretInVirtual8086(c, size, rip, (ushort)cs, flags);
            return;
        }

        if (s.LongModeActive && (s.Rflags & Flags.NT) != 0)
        {
            // SDM: IRET in IA-32e mode with NT = 1 is #GP(0); there are no task returns.
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        if ((s.Rflags & Flags.NT) != 0)
        {
            // SDM Vol. 2A IRET, "TASK-RETURN": back through the link of the current TSS.
            c.ReturnFromNestedTask(s.Rip);
            return;
        }

        if (s.Cpl == 0 && !s.LongModeActive && (flags & Flags.VM) != 0 && size == 4)
        {
            Virtual8086.IretToVirtual8086(c);
            return;
        }

        int cpl = s.Cpl;
        int rpl = (int)(cs & 3);
        bool outer = rpl > cpl;
        bool popStack = outer || s.Bitness == 64;
        ulong newSp = 0, newSs = 0;
        if (popStack && (!c.PeekStack(3 * size, size, out newSp) || !c.PeekStack(4 * size, size, out newSs)))
        {
            return;
        }

        rip &= X86Cpu.SizeMask(size);
        if ((cs & ~3UL) == 0)
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        if (!c.ReadDescriptor((ushort)cs, out ulong d, out ulong address) || !c.CheckCodeSegment((ushort)cs, d, isReturn: true, out var target)
            || !c.CheckBranchTarget(target, rip) || !SetAccessed(c, address, d))
        {
            return;
        }

        s.Cs = target;
        s.Rip = rip;

        // Flags: IOPL only at CPL 0, IF only when CPL <= IOPL (SDM Vol. 2A, IRET, "RETURN-TO-SAME/OUTER-PRIVILEGE").
        ulong writableFlags = Flags.Arith | Flags.TF | Flags.DF | Flags.NT | Flags.AC | Flags.ID | Flags.RF;
        if (cpl == 0)
        {
            writableFlags |= Flags.IOPL | Flags.VIF | Flags.VIP;
        }

        if (cpl <= (int)((saved.Rflags & Flags.IOPL) >> 12))
        {
            writableFlags |= Flags.IF;
        }

        if (size == 2)
        {
            writableFlags &= 0xFFFF;
        }

        s.Rflags = (s.Rflags & ~writableFlags) | (flags & writableFlags) | Flags.Reserved1;
        if (popStack)
        {
            if (!c.LoadSegment(Seg.SS, (ushort)newSs))
            {
                s = saved;
                return;
            }

            SetStackPointer(c, newSp, size);
        }
        else
        {
            c.AdjustStack(3 * size);
        }

        if (outer)
        {
            c.NullInaccessibleDataSegments(rpl);
        }
    }
}
