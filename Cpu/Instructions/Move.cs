using System.Buffers.Binary;
using System.Numerics;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>Data movement, conditional moves, exchanges and bit operations (SDM Vol. 2).</summary>
public static class Move
{
    public static void Mov(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (c.ReadOperand(i, 1, size, out ulong value))
        {
            c.WriteOperand(i, 0, size, value);
        }
    }

    public static void Movzx(X86Cpu c, in Instruction i)
    {
        if (c.ReadOperand(i, 1, X86Cpu.OperandSize(i, 1), out ulong value))
        {
            c.SetReg(i.Op0Register, value);
        }
    }

    /// <summary>MOVSX and MOVSXD: sign-extend the source to the destination size.</summary>
    public static void Movsx(X86Cpu c, in Instruction i)
    {
        int from = X86Cpu.OperandSize(i, 1);
        if (c.ReadOperand(i, 1, from, out ulong value))
        {
            c.SetReg(i.Op0Register, X86Cpu.SignExtend(value, from));
        }
    }

    public static void Lea(X86Cpu c, in Instruction i)
    {
        c.SetReg(i.Op0Register, c.EffectiveAddress(i));
    }

    public static void Xchg(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (!c.ReadOperand(i, 0, size, out ulong a) || !c.ReadOperand(i, 1, size, out ulong b))
        {
            return;
        }

        // The memory operand (if any) is written first, so a fault leaves both registers intact.
        if (i.Op0Kind == OpKind.Memory)
        {
            if (c.WriteOperand(i, 0, size, b))
            {
                c.WriteOperand(i, 1, size, a);
            }

            return;
        }

        if (c.WriteOperand(i, 1, size, a))
        {
            c.WriteOperand(i, 0, size, b);
        }
    }

    public static void Cmovcc(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (!c.ReadOperand(i, 1, size, out ulong value))
        {
            return;
        }

        // A 32-bit CMOV zero-extends its destination even when the condition is false.
        c.SetReg(i.Op0Register, Arith.Condition(i.ConditionCode, c.S.Rflags) ? value : c.GetReg(i.Op0Register));
    }

    public static void Setcc(X86Cpu c, in Instruction i)
    {
        c.WriteOperand(i, 0, 1, Arith.Condition(i.ConditionCode, c.S.Rflags) ? 1UL : 0UL);
    }

    /// <summary>CBW, CWDE, CDQE: sign-extend the lower half of the accumulator into the whole.</summary>
    public static void ExtendAccumulator(X86Cpu c, in Instruction i)
    {
        switch (i.Code)
        {
            case Code.Cbw: c.SetReg(Register.AX, X86Cpu.SignExtend(c.GetReg(Register.AL), 1)); break;
            case Code.Cwde: c.SetReg(Register.EAX, X86Cpu.SignExtend(c.GetReg(Register.AX), 2)); break;
            default: c.SetReg(Register.RAX, X86Cpu.SignExtend(c.GetReg(Register.EAX), 4)); break;
        }
    }

    /// <summary>CWD, CDQ, CQO: fill DX/EDX/RDX with the accumulator's sign.</summary>
    public static void SignIntoDx(X86Cpu c, in Instruction i)
    {
        var (a, d, size) = i.Code switch
        {
            Code.Cwd => (Register.AX, Register.DX, 2),
            Code.Cdq => (Register.EAX, Register.EDX, 4),
            _ => (Register.RAX, Register.RDX, 8),
        };
        c.SetReg(d, (c.GetReg(a) & X86Cpu.SignBit(size)) != 0 ? ulong.MaxValue : 0);
    }

    public static void Bswap(X86Cpu c, in Instruction i)
    {
        ulong v = c.GetReg(i.Op0Register);
        c.SetReg(i.Op0Register, X86Cpu.RegisterSize(i.Op0Register) == 8 ? BinaryPrimitives.ReverseEndianness(v) : BinaryPrimitives.ReverseEndianness((uint)v));
    }

    public static void Xadd(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (!c.ReadOperand(i, 0, size, out ulong dest))
        {
            return;
        }

        ulong src = c.GetReg(i.Op1Register);
        ulong flags = c.S.Rflags;
        ulong sum = Arith.Add(dest, src, 0, size, ref flags);
        if (c.WriteOperand(i, 0, size, sum))
        {
            // SDM Vol. 2B, XADD: SRC := DEST, then DEST := sum, so with one register for both the
            // sum wins. AL and AH share RAX but are different operands: both are written.
            if (i.Op0Kind == OpKind.Memory || i.Op0Register != i.Op1Register)
            {
                c.SetReg(i.Op1Register, dest);
            }

            c.S.Rflags = flags;
        }
    }

    public static void Cmpxchg(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (!c.ReadOperand(i, 0, size, out ulong dest))
        {
            return;
        }

        Register acc = size switch { 1 => Register.AL, 2 => Register.AX, 4 => Register.EAX, _ => Register.RAX };
        ulong a = c.GetReg(acc);
        ulong flags = c.S.Rflags;
        Arith.Sub(a, dest, 0, size, ref flags);
        bool equal = a == dest;
        // A memory destination is written either way (SDM Vol. 2A, CMPXCHG: "the processor never
        // produces a locked read without also producing a locked write"). A register destination
        // is written only on equality: on a mismatch a 32-bit register keeps bits 63:32, as the
        // hardware does (the host-oracle tests check it).
        if ((equal || i.Op0Kind == OpKind.Memory) && !c.WriteOperand(i, 0, size, equal ? c.GetReg(i.Op1Register) : dest))
        {
            return;
        }

        if (!equal)
        {
            c.SetReg(acc, dest);
        }

        c.S.Rflags = flags;
    }

    /// <summary>BT, BTS, BTR, BTC. A register bit offset on a memory operand addresses a bit string (SDM Vol. 2A, BT).</summary>
    public static void BitTest(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        int bits = size * 8;
        bool immediate = i.Op1Kind != OpKind.Register;
        ulong offset = immediate ? i.GetImmediate(1) : c.GetReg(i.Op1Register);
        ulong value;
        ulong address = 0;
        Seg seg = default;
        if (i.Op0Kind == OpKind.Memory)
        {
            seg = X86Cpu.MemorySegment(i);
            address = c.EffectiveAddress(i);
            if (!immediate)
            {
                long signed = (long)X86Cpu.SignExtend(offset, X86Cpu.RegisterSize(i.Op1Register));
                address += (ulong)((signed >> BitOperations.Log2((uint)bits)) * size);
            }

            if (!c.Read(seg, address, size, out value))
            {
                return;
            }
        }
        else
        {
            value = c.GetReg(i.Op0Register);
        }

        int bit = (int)(offset & (ulong)(bits - 1));
        bool set = ((value >> bit) & 1) != 0;
        ulong result = i.Mnemonic switch
        {
            Mnemonic.Bts => value | (1UL << bit),
            Mnemonic.Btr => value & ~(1UL << bit),
            Mnemonic.Btc => value ^ (1UL << bit),
            _ => value,
        };
        if (i.Mnemonic != Mnemonic.Bt)
        {
            bool ok = i.Op0Kind == OpKind.Memory ? c.Write(seg, address, size, result) : c.WriteOperand(i, 0, size, result);
            if (!ok)
            {
                return;
            }
        }

        c.S.Rflags = (c.S.Rflags & ~Flags.CF) | (set ? Flags.CF : 0);
    }

    /// <summary>BSF and BSR: a zero source sets ZF and leaves the destination unchanged (as Intel and AMD hardware do).</summary>
    public static void BitScan(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (!c.ReadOperand(i, 1, size, out ulong src))
        {
            return;
        }

        ulong flags = c.S.Rflags;
        if (src == 0)
        {
            c.S.Rflags = flags | Flags.ZF;
            return;
        }

        int index = i.Mnemonic == Mnemonic.Bsf ? BitOperations.TrailingZeroCount(src) : 63 - BitOperations.LeadingZeroCount(src);
        c.SetReg(i.Op0Register, (ulong)index);
        c.S.Rflags = flags & ~Flags.ZF;
    }

    public static void Lahf(X86Cpu c, in Instruction i)
    {
        c.SetReg(Register.AH, (c.S.Rflags & 0xD5) | 2);
    }

    public static void Sahf(X86Cpu c, in Instruction i)
    {
        c.S.Rflags = (c.S.Rflags & ~0xD5UL) | (c.GetReg(Register.AH) & 0xD5);
    }

    public static void Clc(X86Cpu c, in Instruction i) => c.S.Rflags &= ~Flags.CF;

    public static void Stc(X86Cpu c, in Instruction i) => c.S.Rflags |= Flags.CF;

    public static void Cmc(X86Cpu c, in Instruction i) => c.S.Rflags ^= Flags.CF;

    public static void Cld(X86Cpu c, in Instruction i) => c.S.Rflags &= ~Flags.DF;

    public static void Std(X86Cpu c, in Instruction i) => c.S.Rflags |= Flags.DF;

    /// <summary>XLAT: AL := [seg:(E/R)BX + zero-extended AL], wrapped to the address size (SDM Vol. 2B, XLAT).</summary>
    public static void Xlat(X86Cpu c, in Instruction i)
    {
        int addressSize = X86Cpu.RegisterSize(i.MemoryBase);
        ulong address = (c.GetReg(i.MemoryBase) + c.GetReg(Register.AL)) & X86Cpu.SizeMask(addressSize);
        if (c.Read(X86Cpu.MemorySegment(i), address, 1, out ulong value))
        {
            c.SetReg(Register.AL, value);
        }
    }

    /// <summary>SALC (undocumented, D6 outside 64-bit mode): AL := CF ? FFh : 00h; flags unchanged.</summary>
    public static void Salc(X86Cpu c, in Instruction i)
    {
        c.SetReg(Register.AL, (c.S.Rflags & Flags.CF) != 0 ? 0xFFUL : 0);
    }

    public static void Nop(X86Cpu c, in Instruction i)
    {
    }
}
