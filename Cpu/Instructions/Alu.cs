using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>Integer ALU: ADD, OR, ADC, SBB, AND, SUB, XOR, CMP, TEST, INC, DEC, NEG, NOT (SDM Vol. 2).</summary>
public static class Alu
{
    public static void Add(X86Cpu c, in Instruction i) => Binary(c, i, 0);

    public static void Or(X86Cpu c, in Instruction i) => Binary(c, i, 1);

    public static void Adc(X86Cpu c, in Instruction i) => Binary(c, i, 2);

    public static void Sbb(X86Cpu c, in Instruction i) => Binary(c, i, 3);

    public static void And(X86Cpu c, in Instruction i) => Binary(c, i, 4);

    public static void Sub(X86Cpu c, in Instruction i) => Binary(c, i, 5);

    public static void Xor(X86Cpu c, in Instruction i) => Binary(c, i, 6);

    public static void Cmp(X86Cpu c, in Instruction i) => Binary(c, i, 7);

    public static void Test(X86Cpu c, in Instruction i) => Binary(c, i, 8);

    /// <summary>The shared body of the two-operand ALU group; <paramref name="op"/> is the opcode-extension order.</summary>
    private static void Binary(X86Cpu c, in Instruction i, int op)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (!c.ReadOperand(i, 0, size, out ulong a) || !c.ReadOperand(i, 1, size, out ulong b))
        {
            return;
        }

        ulong flags = c.S.Rflags;
        ulong carry = flags & Flags.CF;
        ulong r = op switch
        {
            0 => Arith.Add(a, b, 0, size, ref flags),
            2 => Arith.Add(a, b, carry, size, ref flags),
            3 => Arith.Sub(a, b, carry, size, ref flags),
            5 or 7 => Arith.Sub(a, b, 0, size, ref flags),
            1 => a | b,
            4 or 8 => a & b,
            _ => a ^ b,
        };
        if (op is 1 or 4 or 6 or 8)
        {
            Arith.Logic(r, size, ref flags);
        }

        if (op is not (7 or 8) && !c.WriteOperand(i, 0, size, r))
        {
            return;
        }

        c.S.Rflags = flags;
    }

    public static void Inc(X86Cpu c, in Instruction i) => IncDec(c, i, true);

    public static void Dec(X86Cpu c, in Instruction i) => IncDec(c, i, false);

    private static void IncDec(X86Cpu c, in Instruction i, bool increment)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (!c.ReadOperand(i, 0, size, out ulong a))
        {
            return;
        }

        ulong flags = c.S.Rflags;
        ulong r = Arith.IncDec(a, increment, size, ref flags);
        if (c.WriteOperand(i, 0, size, r))
        {
            c.S.Rflags = flags;
        }
    }

    public static void Neg(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (!c.ReadOperand(i, 0, size, out ulong a))
        {
            return;
        }

        ulong flags = c.S.Rflags;
        ulong r = Arith.Sub(0, a, 0, size, ref flags);
        if (c.WriteOperand(i, 0, size, r))
        {
            c.S.Rflags = flags;
        }
    }

    public static void Not(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (c.ReadOperand(i, 0, size, out ulong a))
        {
            c.WriteOperand(i, 0, size, ~a & X86Cpu.SizeMask(size));
        }
    }
}
