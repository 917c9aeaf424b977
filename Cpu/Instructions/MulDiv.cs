using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// MUL, IMUL (one, two and three operands), DIV, IDIV (SDM Vol. 2A/2B). The implicit operands are
/// AL/AX, DX:AX, EDX:EAX or RDX:RAX. Division raises #DE on a zero divisor or a quotient that does
/// not fit. SF, ZF, AF and PF are undefined after these; they are set from the low result here.
/// </summary>
public static class MulDiv
{
    private static (ulong Low, ulong High) GetAccumulator(X86Cpu c, int size)
    {
        ulong rax = c.S.Gpr[0], rdx = c.S.Gpr[2];
        return size == 1 ? (rax & 0xFF, (rax >> 8) & 0xFF) : (rax & X86Cpu.SizeMask(size), rdx & X86Cpu.SizeMask(size));
    }

    private static void SetAccumulator(X86Cpu c, int size, ulong low, ulong high)
    {
        if (size == 1)
        {
            c.SetReg(Register.AX, (low & 0xFF) | ((high & 0xFF) << 8));
            return;
        }

        Register a = size == 2 ? Register.AX : size == 4 ? Register.EAX : Register.RAX;
        Register d = size == 2 ? Register.DX : size == 4 ? Register.EDX : Register.RDX;
        c.SetReg(a, low);
        c.SetReg(d, high);
    }

    private static void SetMulFlags(X86Cpu c, ulong low, int size, bool overflow)
    {
        ulong flags = c.S.Rflags;
        Arith.SetResultFlags(ref flags, low & X86Cpu.SizeMask(size), size, overflow, overflow, false);
        c.S.Rflags = flags;
    }

    public static void Mul(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (!c.ReadOperand(i, 0, size, out ulong src))
        {
            return;
        }

        ulong a = GetAccumulator(c, size).Low;
        UInt128 product = (UInt128)a * src;
        ulong low = (ulong)product & X86Cpu.SizeMask(size);
        ulong high = (ulong)(product >> (size * 8)) & X86Cpu.SizeMask(size);
        SetAccumulator(c, size, low, high);
        SetMulFlags(c, low, size, high != 0);
    }

    public static void Imul(X86Cpu c, in Instruction i)
    {
        if (i.OpCount == 1)
        {
            int size = X86Cpu.OperandSize(i, 0);
            if (!c.ReadOperand(i, 0, size, out ulong src))
            {
                return;
            }

            long a = (long)X86Cpu.SignExtend(GetAccumulator(c, size).Low, size);
            Int128 product = (Int128)a * (long)X86Cpu.SignExtend(src, size);
            ulong low = (ulong)product & X86Cpu.SizeMask(size);
            ulong high = (ulong)(product >> (size * 8)) & X86Cpu.SizeMask(size);
            SetAccumulator(c, size, low, high);
            SetMulFlags(c, low, size, (Int128)(long)X86Cpu.SignExtend(low, size) != product);
            return;
        }

        // Two- and three-operand forms: dest = src1 * src2, truncated.
        int width = X86Cpu.OperandSize(i, 0);
        int n1 = i.OpCount == 2 ? 0 : 1;
        int n2 = i.OpCount == 2 ? 1 : 2;
        if (!c.ReadOperand(i, n1, width, out ulong x) || !c.ReadOperand(i, n2, width, out ulong y))
        {
            return;
        }

        Int128 full = (Int128)(long)X86Cpu.SignExtend(x, width) * (long)X86Cpu.SignExtend(y, width);
        ulong result = (ulong)full & X86Cpu.SizeMask(width);
        c.SetReg(i.Op0Register, result);
        SetMulFlags(c, result, width, (Int128)(long)X86Cpu.SignExtend(result, width) != full);
    }

    public static void Div(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (!c.ReadOperand(i, 0, size, out ulong divisor))
        {
            return;
        }

        if (divisor == 0)
        {
            c.RaiseFault(Vector.DE);
            return;
        }

        var (low, high) = GetAccumulator(c, size);
        UInt128 dividend = ((UInt128)high << (size * 8)) | low;
        UInt128 quotient = dividend / divisor;
        if (quotient > X86Cpu.SizeMask(size))
        {
            c.RaiseFault(Vector.DE);
            return;
        }

        SetAccumulator(c, size, (ulong)quotient, (ulong)(dividend % divisor));
    }

    public static void Idiv(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (!c.ReadOperand(i, 0, size, out ulong d))
        {
            return;
        }

        if (d == 0)
        {
            c.RaiseFault(Vector.DE);
            return;
        }

        var (low, high) = GetAccumulator(c, size);
        Int128 dividend = size == 8 ? (Int128)(((UInt128)high << 64) | low) : (Int128)(long)X86Cpu.SignExtend((high << (size * 8)) | low, size * 2);
        Int128 divisor = (long)X86Cpu.SignExtend(d, size);
        if (dividend == Int128.MinValue && divisor == -1)
        {
            c.RaiseFault(Vector.DE);
            return;
        }

        Int128 quotient = dividend / divisor;
        Int128 remainder = dividend % divisor;
        long max = (long)(X86Cpu.SizeMask(size) >> 1);
        if (quotient > max || quotient < -max - 1)
        {
            c.RaiseFault(Vector.DE);
            return;
        }

        SetAccumulator(c, size, (ulong)quotient & X86Cpu.SizeMask(size), (ulong)remainder & X86Cpu.SizeMask(size));
    }
}
