using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>PUSH, POP, PUSHF, POPF, PUSHA, POPA, LEAVE, ENTER (SDM Vol. 2B). Operand sizes come from Iced's stack increment.</summary>
public static class Stack
{
    public static void Push(X86Cpu c, in Instruction i)
    {
        int size = -i.StackPointerIncrement;
        ulong value;
        switch (i.Op0Kind)
        {
            case OpKind.Register when i.Op0Register.IsSegmentRegister():
                value = c.S.Segment((Seg)(i.Op0Register - Register.ES)).Selector;
                break;
            case OpKind.Register:
                value = c.GetReg(i.Op0Register);
                break;
            case OpKind.Memory:
                if (!c.Read(X86Cpu.MemorySegment(i), c.EffectiveAddress(i), size, out value))
                {
                    return;
                }

                break;
            default:
                value = i.GetImmediate(0);
                break;
        }

        c.Push(value, size);
    }

    public static void Pop(X86Cpu c, in Instruction i)
    {
        int size = i.StackPointerIncrement;
        if (!c.PeekStack(0, size, out ulong value))
        {
            return;
        }

        if (i.Op0Kind == OpKind.Register && i.Op0Register.IsSegmentRegister())
        {
            var seg = (Seg)(i.Op0Register - Register.ES);
            if (c.LoadSegment(seg, (ushort)value))
            {
                c.AdjustStack(size);
                if (seg == Seg.SS)
                {
                    c.SetStackShadow();
                    c.EndBlock();
                }
            }

            return;
        }

        // A memory destination addressed through RSP uses the incremented RSP (SDM Vol. 2B, POP).
        ulong rsp = c.S.Gpr[CpuState.RSP];
        c.AdjustStack(size);
        if (!c.WriteOperand(i, 0, size, value))
        {
            c.S.Gpr[CpuState.RSP] = rsp;
        }
    }

    public static void Pushf(X86Cpu c, in Instruction i)
    {
        ref CpuState s = ref c.S;
        if ((s.Rflags & Flags.VM) != 0 && (s.Rflags & Flags.IOPL) != Flags.IOPL)
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        // VM and RF are never seen in the pushed image.
        c.Push(s.Rflags & ~(Flags.VM | Flags.RF), -i.StackPointerIncrement);
    }

    public static void Popf(X86Cpu c, in Instruction i)
    {
        ref CpuState s = ref c.S;
        int size = i.StackPointerIncrement;
        int cpl = s.Cpl;
        int iopl = (int)((s.Rflags & Flags.IOPL) >> 12);
        if ((s.Rflags & Flags.VM) != 0 && iopl != 3)
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        if (!c.Pop(size, out ulong value))
        {
            return;
        }

        // SDM Vol. 2B, POPF: IOPL changes only at CPL 0, IF only when CPL <= IOPL; VM, VIP, VIF never.
        ulong writable = Flags.Arith | Flags.TF | Flags.DF | Flags.NT | Flags.AC | Flags.ID;
        if (!s.ProtectedMode || cpl == 0)
        {
            writable |= Flags.IOPL;
        }

        if (!s.ProtectedMode || cpl <= iopl)
        {
            writable |= Flags.IF;
        }

        if (size == 2)
        {
            writable &= 0xFFFF;
        }

        s.Rflags = ((s.Rflags & ~writable) | (value & writable) | Flags.Reserved1) & ~Flags.RF;
        c.EndBlock();
    }

    public static void Pusha(X86Cpu c, in Instruction i)
    {
        int size = i.Code == Code.Pushaw ? 2 : 4;
        ulong sp = c.S.Gpr[CpuState.RSP];
        ulong mask = c.StackAddressSize == 2 ? 0xFFFFUL : 0xFFFFFFFFUL;
        // Probe every slot before the first push, so a fault leaves SP and memory as they were.
        // Slots are probed one by one because SP wraps within the stack segment between pushes.
        for (int r = 1; r <= 8; r++)
        {
            if (!c.ProbeWrite(Seg.SS, (sp - (ulong)(r * size)) & mask, size))
            {
                return;
            }
        }

        for (int r = 0; r < 8; r++)
        {
            c.Push(r == CpuState.RSP ? sp : c.S.Gpr[r], size);
        }
    }

    public static void Popa(X86Cpu c, in Instruction i)
    {
        int size = i.Code == Code.Popaw ? 2 : 4;
        Span<ulong> values = stackalloc ulong[8];
        for (int r = 0; r < 8; r++)
        {
            if (!c.PeekStack(r * size, size, out values[7 - r]))
            {
                return;
            }
        }

        Register first = size == 2 ? Register.AX : Register.EAX;
        for (int r = 0; r < 8; r++)
        {
            if (r != CpuState.RSP)
            {
                c.SetReg(first + r, values[r]);
            }
        }

        c.AdjustStack(8 * size);
    }

    public static void Leave(X86Cpu c, in Instruction i)
    {
        // Iced gives LEAVE no fixed stack increment (RSP comes from RBP), so the size comes from the Code.
        int size = i.Code switch { Code.Leavew => 2, Code.Leaved => 4, _ => 8 };
        ulong rsp = c.S.Gpr[CpuState.RSP];
        int stack = c.StackAddressSize;
        Register sp = stack == 2 ? Register.SP : stack == 4 ? Register.ESP : Register.RSP;
        Register bp = stack == 2 ? Register.BP : stack == 4 ? Register.EBP : Register.RBP;
        c.SetReg(sp, c.GetReg(bp));
        if (!c.Pop(size, out ulong value))
        {
            c.S.Gpr[CpuState.RSP] = rsp;
            return;
        }

        c.SetReg(size == 2 ? Register.BP : size == 4 ? Register.EBP : Register.RBP, value);
    }

    public static void Enter(X86Cpu c, in Instruction i)
    {
        int size = i.Code switch { Code.Enterw_imm16_imm8 => 2, Code.Enterd_imm16_imm8 => 4, _ => 8 };
        ulong allocation = i.Immediate16;
        int level = i.Immediate8_2nd & 31;
        int stack = c.StackAddressSize;
        Register bpReg = stack == 2 ? Register.BP : stack == 4 ? Register.EBP : Register.RBP;
        ulong savedRsp = c.S.Gpr[CpuState.RSP];
        ulong savedRbp = c.S.Gpr[CpuState.RBP];
        if (!c.Push(c.GetReg(size == 2 ? Register.BP : size == 4 ? Register.EBP : Register.RBP), size))
        {
            return;
        }

        ulong frame = c.GetReg(stack == 2 ? Register.SP : stack == 4 ? Register.ESP : Register.RSP);
        ulong bp = c.GetReg(bpReg);
        for (int n = 1; n < level; n++)
        {
            bp -= (ulong)size;
            if (!c.Read(Seg.SS, bp & X86Cpu.SizeMask(stack), size, out ulong v) || !c.Push(v, size))
            {
                c.S.Gpr[CpuState.RSP] = savedRsp;
                c.S.Gpr[CpuState.RBP] = savedRbp;
                return;
            }
        }

        if (level > 0 && !c.Push(frame, size))
        {
            c.S.Gpr[CpuState.RSP] = savedRsp;
            return;
        }

        c.SetReg(size == 2 ? Register.BP : size == 4 ? Register.EBP : Register.RBP, frame);
        c.AdjustStack(-(long)allocation);
    }
}
