using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// Control transfers: JMP, Jcc, JCXZ, LOOP, CALL, RET near and far, INT n, INTO, INT3, IRET
/// (SDM Vol. 2A/2B). Near targets are wrapped to the operand size by Iced; in 64-bit mode a
/// non-canonical target raises #GP(0) at the branch.
/// </summary>
public static class Branch
{
    private static readonly Register[] s_counter = BuildCounterTable();

    /// <summary>LOOP and JCXZ count in CX, ECX or RCX by address size, which Iced spells in the Code name.</summary>
    private static Register[] BuildCounterTable()
    {
        var table = new Register[Enum.GetValues<Code>().Length];
        foreach (Code code in Enum.GetValues<Code>())
        {
            string name = code.ToString();
            table[(int)code] = name.EndsWith("_RCX", StringComparison.Ordinal) || name.StartsWith("Jrcxz", StringComparison.Ordinal) ? Register.RCX
                : name.EndsWith("_ECX", StringComparison.Ordinal) || name.StartsWith("Jecxz", StringComparison.Ordinal) ? Register.ECX
                : Register.CX;
        }

        return table;
    }

    private static bool SetTarget(X86Cpu c, ulong target)
    {
        if (c.S.Bitness == 64 && !X86Cpu.IsCanonical(target))
        {
            return c.RaiseFault(Vector.GP, 0);
        }

        c.S.Rip = target;
        return true;
    }

    private static ulong OperandMask(int size) => X86Cpu.SizeMask(size);

    public static void JmpNear(X86Cpu c, in Instruction i)
    {
        if (i.Op0Kind is OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64)
        {
            SetTarget(c, i.NearBranchTarget);
            return;
        }

        int size = X86Cpu.OperandSize(i, 0);
        if (c.ReadOperand(i, 0, size, out ulong target))
        {
            SetTarget(c, target);
        }
    }

    public static void Jcc(X86Cpu c, in Instruction i)
    {
        if (Arith.Condition(i.ConditionCode, c.S.Rflags))
        {
            SetTarget(c, i.NearBranchTarget);
        }
    }

    public static void Jcxz(X86Cpu c, in Instruction i)
    {
        if (c.GetReg(s_counter[(int)i.Code]) == 0)
        {
            SetTarget(c, i.NearBranchTarget);
        }
    }

    public static void Loop(X86Cpu c, in Instruction i)
    {
        Register counter = s_counter[(int)i.Code];
        ulong count = (c.GetReg(counter) - 1) & X86Cpu.SizeMask(X86Cpu.RegisterSize(counter));
        bool zf = (c.S.Rflags & Flags.ZF) != 0;
        bool taken = count != 0 && i.Mnemonic switch
        {
            Mnemonic.Loope => zf,
            Mnemonic.Loopne => !zf,
            _ => true,
        };
        if (taken && !SetTarget(c, i.NearBranchTarget))
        {
            return;
        }

        c.SetReg(counter, count);
    }

    public static void CallNear(X86Cpu c, in Instruction i)
    {
        int size = -i.StackPointerIncrement;
        ulong target;
        if (i.Op0Kind is OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64)
        {
            target = i.NearBranchTarget;
        }
        else if (!c.ReadOperand(i, 0, size, out target))
        {
            return;
        }

        ulong returnRip = c.S.Rip;
        if (c.S.Bitness == 64 && !X86Cpu.IsCanonical(target))
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        if (c.Push(returnRip & OperandMask(size), size))
        {
            c.S.Rip = target;
        }
    }

    public static void RetNear(X86Cpu c, in Instruction i)
    {
        int release = i.OpCount > 0 ? i.Immediate16 : 0;
        int size = i.StackPointerIncrement - release;
        if (!c.PeekStack(0, size, out ulong target) || !SetTarget(c, target))
        {
            return;
        }

        c.AdjustStack(size + release);
    }

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

    public static void JmpFar(X86Cpu c, in Instruction i)
    {
        if (!FarPointer(c, i, out ushort selector, out ulong offset, out _))
        {
            return;
        }

        ref CpuState s = ref c.S;
        var savedCs = s.Cs;
        if (!c.LoadCodeSegment(selector, s.Cpl, allowOuter: false))
        {
            return;
        }

        if (!SetTarget(c, offset))
        {
            s.Cs = savedCs;
            return;
        }

        c.EndBlock();
    }

    public static void CallFar(X86Cpu c, in Instruction i)
    {
        if (!FarPointer(c, i, out ushort selector, out ulong offset, out int size))
        {
            return;
        }

        ref CpuState s = ref c.S;
        ulong rsp = s.Gpr[CpuState.RSP];
        var savedCs = s.Cs;
        ulong returnRip = s.Rip;
        if (!c.Push(savedCs.Selector, size) || !c.Push(returnRip, size))
        {
            s.Gpr[CpuState.RSP] = rsp;
            return;
        }

        if (!c.LoadCodeSegment(selector, s.Cpl, allowOuter: false) || !SetTarget(c, offset))
        {
            s.Cs = savedCs;
            s.Gpr[CpuState.RSP] = rsp;
            return;
        }

        c.EndBlock();
    }

    public static void RetFar(X86Cpu c, in Instruction i)
    {
        ref CpuState s = ref c.S;
        int release = i.OpCount > 0 ? i.Immediate16 : 0;
        int size = i.Code switch { Code.Retfw or Code.Retfw_imm16 => 2, Code.Retfd or Code.Retfd_imm16 => 4, _ => 8 };
        if (!c.PeekStack(0, size, out ulong offset) || !c.PeekStack(size, 2, out ulong selector))
        {
            return;
        }

        CpuState saved = s;
        int rpl = (int)(selector & 3);
        bool outer = s.ProtectedMode && (s.Rflags & Flags.VM) == 0 && rpl > s.Cpl;
        ulong newSp = 0, newSs = 0;
        if (outer && (!c.PeekStack((2 * size) + release, size, out newSp) || !c.PeekStack((3 * size) + release, 2, out newSs)))
        {
            return;
        }

        if (!c.LoadCodeSegment((ushort)selector, outer ? rpl : s.Cpl, allowOuter: outer) || !SetTarget(c, offset))
        {
            s = saved;
            return;
        }

        if (outer)
        {
            if (!c.LoadSegment(Seg.SS, (ushort)newSs))
            {
                s = saved;
                return;
            }

            s.Gpr[CpuState.RSP] = newSp;
            c.AdjustStack(release);
        }
        else
        {
            c.AdjustStack((2 * size) + release);
        }

        c.EndBlock();
    }

    public static void Int(X86Cpu c, in Instruction i)
    {
        ref CpuState s = ref c.S;
        int vector = i.Code switch
        {
            Code.Int3 => Vector.BP,
            Code.Into => Vector.OF,
            Code.Int1 => Vector.DB,
            _ => i.Immediate8,
        };
        if (i.Code == Code.Into && (s.Rflags & Flags.OF) == 0)
        {
            return;
        }

        // In virtual-8086 mode INT n needs IOPL 3 (SDM Vol. 3A 20.3.3); INT1 is not a software interrupt.
        if (i.Code == Code.Int_imm8 && (s.Rflags & Flags.VM) != 0 && (s.Rflags & Flags.IOPL) != Flags.IOPL)
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        var kind = i.Code == Code.Int1 ? InterruptKind.External : InterruptKind.Software;
        c.InterruptObserver?.Invoke(vector, kind, s.Rip);
        c.DeliverInterrupt(vector, false, 0, s.Rip, kind);
        c.EndBlock();
    }

    /// <summary>BOUND: #BR when the signed index lies outside [lower, upper] read from memory (SDM Vol. 2A, BOUND).</summary>
    public static void Bound(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.RegisterSize(i.Op0Register);
        Seg seg = X86Cpu.MemorySegment(i);
        ulong ea = c.EffectiveAddress(i);
        if (!c.Read(seg, ea, size, out ulong lower) || !c.Read(seg, ea + (ulong)size, size, out ulong upper))
        {
            return;
        }

        long index = (long)X86Cpu.SignExtend(c.GetReg(i.Op0Register), size);
        if (index < (long)X86Cpu.SignExtend(lower, size) || index > (long)X86Cpu.SignExtend(upper, size))
        {
            c.RaiseFault(Vector.BR);
        }
    }

    public static void Iret(X86Cpu c, in Instruction i)
    {
        ref CpuState s = ref c.S;
        int size = i.Code switch { Code.Iretw => 2, Code.Iretd => 4, _ => 8 };
        if (!c.PeekStack(0, size, out ulong rip) || !c.PeekStack(size, size, out ulong cs) || !c.PeekStack(2 * size, size, out ulong flags))
        {
            return;
        }

        CpuState saved = s;
        c.EndBlock();
        if (!s.ProtectedMode)
        {
            c.LoadCodeSegment((ushort)cs, 0, false);
            s.Rip = rip & X86Cpu.SizeMask(size);
            ulong writable = size == 2 ? 0x7FD5UL : 0x257FD5UL;
            s.Rflags = (s.Rflags & ~writable) | (flags & writable) | Flags.Reserved1;
            c.AdjustStack(3 * size);
            return;
        }

        if ((s.Rflags & (Flags.NT | Flags.VM)) != 0 || (s.Cpl == 0 && !s.LongModeActive && (flags & Flags.VM) != 0))
        {
            // Task returns and virtual-8086 entry and exit come with the system-architecture issue.
            c.ReportUnimplemented(i);
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        int cpl = s.Cpl;
        int rpl = (int)(cs & 3);
        if (rpl < cpl)
        {
            c.RaiseFault(Vector.GP, (uint)(cs & ~3UL));
            return;
        }

        bool outer = rpl > cpl;
        bool popStack = outer || size == 8;
        ulong newSp = 0, newSs = 0;
        if (popStack && (!c.PeekStack(3 * size, size, out newSp) || !c.PeekStack(4 * size, size, out newSs)))
        {
            return;
        }

        if (!c.LoadCodeSegment((ushort)cs, rpl, allowOuter: outer) || !SetTarget(c, rip & X86Cpu.SizeMask(size)))
        {
            s = saved;
            return;
        }

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
            if (outer || (newSs & ~3UL) != 0)
            {
                if (!c.LoadSegment(Seg.SS, (ushort)newSs))
                {
                    s = saved;
                    return;
                }
            }
            else
            {
                s.Ss = default;
                s.Ss.Selector = (ushort)newSs;
                s.Ss.Attributes = (ushort)(SegmentRegister.AttrS | SegmentRegister.AttrWritable | SegmentRegister.AttrPresent | (rpl << 5));
            }

            s.Gpr[CpuState.RSP] = size == 8 ? newSp : (s.Gpr[CpuState.RSP] & ~X86Cpu.SizeMask(size)) | newSp;
        }
        else
        {
            c.AdjustStack(3 * size);
        }

        if (outer)
        {
            // SDM: data segments the new privilege may not use are nulled.
            foreach (Seg seg in (ReadOnlySpan<Seg>)[Seg.ES, Seg.DS, Seg.FS, Seg.GS])
            {
                ref SegmentRegister r = ref s.Segment(seg);
                bool conformingCode = (r.Attributes & (SegmentRegister.AttrCode | 4)) == (SegmentRegister.AttrCode | 4);
                if (!conformingCode && r.Dpl < rpl)
                {
                    r = default;
                }
            }
        }
    }
}
