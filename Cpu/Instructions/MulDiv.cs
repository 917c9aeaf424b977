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

    public static void Div(X86Cpu c, in Instruction i) => Divide(c, in i, signed: false);

    public static void Idiv(X86Cpu c, in Instruction i) => Divide(c, in i, signed: true);

    private static void Divide(X86Cpu c, in Instruction i, bool signed)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (!c.ReadOperand(i, 0, size, out ulong divisor))
        {
            return;
        }

        ulong rax = c.S.Gpr[0], rdx = c.S.Gpr[2];
        if (!TryDivide(signed, size, divisor, ref rax, ref rdx))
        {
            c.RaiseFault(Vector.DE);
            return;
        }

        c.S.Gpr[0] = rax;
        c.S.Gpr[2] = rdx;
    }

    /// <summary>
    /// DIV (or, <paramref name="signed"/>, IDIV) of the accumulator by <paramref name="divisor"/>
    /// (the low <paramref name="size"/> bytes): AX by an 8-bit divisor, else RDX:RAX at the size
    /// (SDM Vol. 2A, DIV and IDIV). Updates the whole <paramref name="rax"/> and
    /// <paramref name="rdx"/> as register writes of the size do (a 32-bit result clears bits 63-32,
    /// 8- and 16-bit results merge) and returns true; returns false, changing nothing, where the
    /// CPU raises #DE (a zero divisor or a quotient too large for the size). The flags are left
    /// alone (the SDM leaves them undefined). The JIT's inline division calls this for every case
    /// its fast path does not cover.
    /// </summary>
    public static bool TryDivide(bool signed, int size, ulong divisor, ref ulong rax, ref ulong rdx)
    {
        ulong mask = X86Cpu.SizeMask(size);
        divisor &= mask;
        if (divisor == 0)
        {
            return false;
        }

        ulong low = size == 1 ? rax & 0xFF : rax & mask;
        ulong high = size == 1 ? (rax >> 8) & 0xFF : rdx & mask;
        ulong quotient, remainder;
        if (!signed)
        {
            UInt128 dividend = ((UInt128)high << (size * 8)) | low;
            UInt128 q = dividend / divisor;
            if (q > mask)
            {
                return false;
            }

            quotient = (ulong)q;
            remainder = (ulong)(dividend % divisor);
        }
        else
        {
            Int128 dividend = size == 8 ? (Int128)(((UInt128)high << 64) | low) : (Int128)(long)X86Cpu.SignExtend((high << (size * 8)) | low, size * 2);
            Int128 d = (long)X86Cpu.SignExtend(divisor, size);
            if (dividend == Int128.MinValue && d == -1)
            {
                return false;
            }

            Int128 q = dividend / d;
            long max = (long)(mask >> 1);
            if (q > max || q < -max - 1)
            {
                return false;
            }

            quotient = (ulong)q & mask;
            remainder = (ulong)(dividend % d) & mask;
        }

        switch (size)
        {
            case 1:
                rax = (rax & ~0xFFFFUL) | quotient | (remainder << 8);
                break;
            case 2:
                rax = (rax & ~0xFFFFUL) | quotient;
                rdx = (rdx & ~0xFFFFUL) | remainder;
                break;
            default:
                rax = quotient;
                rdx = remainder;
                break;
        }

        return true;
    }
}
