using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// Near control transfers: JMP, Jcc, JCXZ, LOOP, CALL, RET, and INT n, INTO, INT3, BOUND
/// (SDM Vol. 2A/2B); far transfers are in FarBranch.cs. Near targets are wrapped to the operand
/// size by Iced; a target past the CS limit (or non-canonical in 64-bit mode) raises #GP(0) at
/// the branch.
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
        if (!c.CheckBranchTarget(c.S.Cs, target))
        {
            return false;
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
        if (!c.CheckBranchTarget(c.S.Cs, target))
        {
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
}
