using Emulator.Cpu.Fpu;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// x87 arithmetic (SDM Vol. 2A/2B): FADD/FSUB/FSUBR/FMUL/FDIV/FDIVR with their P and integer
/// forms, FSQRT, FABS, FCHS, FRNDINT, FSCALE, FXTRACT, FPREM and FPREM1. Operand order follows
/// Iced: operand 0 is the destination register (ST(0) for a memory source), operand 1 the source.
/// An empty source or destination is a stack underflow (#IS): masked, the destination gets the
/// indefinite. An unmasked #I, #D or #Z leaves the stack unchanged (SDM Vol. 1 8.5).
/// </summary>
public static class X87Arith
{
    private enum Op
    {
        Add,
        Mul,
        Sub,
        SubR,
        Div,
        DivR,
    }

    public static void Fadd(X86Cpu c, in Instruction i) => Binary(c, i, Op.Add);

    public static void Fmul(X86Cpu c, in Instruction i) => Binary(c, i, Op.Mul);

    public static void Fsub(X86Cpu c, in Instruction i) => Binary(c, i, Op.Sub);

    public static void Fsubr(X86Cpu c, in Instruction i) => Binary(c, i, Op.SubR);

    public static void Fdiv(X86Cpu c, in Instruction i) => Binary(c, i, Op.Div);

    public static void Fdivr(X86Cpu c, in Instruction i) => Binary(c, i, Op.DivR);

    private static bool IsPop(Mnemonic m) => m is Mnemonic.Faddp or Mnemonic.Fmulp or Mnemonic.Fsubp or Mnemonic.Fsubrp or Mnemonic.Fdivp or Mnemonic.Fdivrp;

    private static void Binary(X86Cpu c, in Instruction i, Op op)
    {
        if (!c.FpuBegin(i))
        {
            return;
        }

        FpuContext ctx = c.FpuContext();
        int dest = 0;
        Float80 b = default;
        bool empty;
        if (i.Op0Kind == OpKind.Memory)
        {
            FpuContext load = ctx;
            if (!X87Move.ReadMemoryOperand(c, i, ref load, signaling: true, out b))
            {
                return;
            }

            // A stack underflow comes before the memory operand's #D.
            empty = c.FpuIsEmpty(0);
            ctx.OperandDenormal = !empty && (load.Raised & FpuExceptions.Denormal) != 0;
        }
        else
        {
            dest = i.Op0Register - Register.ST0;
            int src = i.Op1Register - Register.ST0;
            empty = c.FpuIsEmpty(dest) || c.FpuIsEmpty(src);
            if (!empty)
            {
                b = c.FpuRead(src);
            }
        }

        bool pop = IsPop(i.Mnemonic);
        if (empty)
        {
            X86Cpu.FpuStackFault(ref ctx, overflow: false);
            if (!ctx.Aborted)
            {
                c.FpuWrite(dest, Float80.Indefinite);
                if (pop)
                {
                    c.FpuPop();
                }
            }

            c.FpuFinish(ctx);
            return;
        }

        Float80 a = c.FpuRead(dest);
        Float80 result = op switch
        {
            Op.Add => Float80Math.Add(ref ctx, a, b),
            Op.Mul => Float80Math.Multiply(ref ctx, a, b),
            Op.Sub => Float80Math.Subtract(ref ctx, a, b),
            Op.SubR => Float80Math.Subtract(ref ctx, b, a),
            Op.Div => Float80Math.Divide(ref ctx, a, b),
            _ => Float80Math.Divide(ref ctx, b, a),
        };
        if (!ctx.Aborted)
        {
            c.FpuWrite(dest, result);
            if (pop)
            {
                c.FpuPop();
            }
        }

        c.FpuFinish(ctx);
    }

    /// <summary>An instruction on ST(0) alone: the underflow check, the operation, the write-back.</summary>
    internal static void Unary(X86Cpu c, in Instruction i, Func<FpuContext, Float80, (Float80, FpuContext)> op, bool setC1 = true)
    {
        if (!c.FpuBegin(i))
        {
            return;
        }

        FpuContext ctx = c.FpuContext();
        if (c.FpuIsEmpty(0))
        {
            X86Cpu.FpuStackFault(ref ctx, overflow: false);
            if (!ctx.Aborted)
            {
                c.FpuWrite(0, Float80.Indefinite);
            }

            c.FpuFinish(ctx);
            return;
        }

        (Float80 result, ctx) = op(ctx, c.FpuRead(0));
        if (!ctx.Aborted)
        {
            c.FpuWrite(0, result);
        }

        c.FpuFinish(ctx, setC1);
    }

    public static void Fsqrt(X86Cpu c, in Instruction i) => Unary(c, i, static (ctx, a) => (Float80Math.Sqrt(ref ctx, a), ctx));

    public static void Frndint(X86Cpu c, in Instruction i) => Unary(c, i, static (ctx, a) => (Float80Convert.RoundToIntegral(ref ctx, a), ctx));

    /// <summary>FABS and FCHS change only the sign, even of a NaN, and raise nothing but #IS (SDM Vol. 2A, FABS, FCHS).</summary>
    public static void Fabs(X86Cpu c, in Instruction i) => Unary(c, i, static (ctx, a) => (a.Abs(), ctx));

    public static void Fchs(X86Cpu c, in Instruction i) => Unary(c, i, static (ctx, a) => (a.Negate(), ctx));

    /// <summary>FSCALE: ST(0) = ST(0) * 2^trunc(ST(1)).</summary>
    public static void Fscale(X86Cpu c, in Instruction i)
    {
        if (!c.FpuBegin(i))
        {
            return;
        }

        FpuContext ctx = c.FpuContext();
        if (c.FpuIsEmpty(0) || c.FpuIsEmpty(1))
        {
            X86Cpu.FpuStackFault(ref ctx, overflow: false);
            if (!ctx.Aborted)
            {
                c.FpuWrite(0, Float80.Indefinite);
            }

            c.FpuFinish(ctx);
            return;
        }

        Float80 result = Float80Ops.Scale(ref ctx, c.FpuRead(0), c.FpuRead(1));
        if (!ctx.Aborted)
        {
            c.FpuWrite(0, result);
        }

        c.FpuFinish(ctx);
    }

    /// <summary>FXTRACT: ST(0) becomes the exponent, then the significand is pushed (SDM Vol. 2A, FXTRACT).</summary>
    public static void Fxtract(X86Cpu c, in Instruction i)
    {
        if (!c.FpuBegin(i))
        {
            return;
        }

        FpuContext ctx = c.FpuContext();
        bool underflow = c.FpuIsEmpty(0);
        bool overflow = !c.FpuIsEmpty(7);
        if (underflow || overflow)
        {
            X86Cpu.FpuStackFault(ref ctx, overflow: !underflow);
            if (!ctx.Aborted)
            {
                c.FpuWrite(0, Float80.Indefinite);
                c.FpuPush(Float80.Indefinite);
            }

            c.FpuFinish(ctx);
            return;
        }

        var (exponent, significand) = Float80Ops.Extract(ref ctx, c.FpuRead(0));
        if (!ctx.Aborted)
        {
            c.FpuWrite(0, exponent);
            c.FpuPush(significand);
        }

        c.FpuFinish(ctx);
    }

    /// <summary>FPREM and FPREM1: C2 = 1 for an incomplete reduction, else C0, C3, C1 = quotient bits 2, 1, 0 (SDM Vol. 2A, FPREM).</summary>
    public static void Fprem(X86Cpu c, in Instruction i)
    {
        if (!c.FpuBegin(i))
        {
            return;
        }

        FpuContext ctx = c.FpuContext();
        if (c.FpuIsEmpty(0) || c.FpuIsEmpty(1))
        {
            X86Cpu.FpuStackFault(ref ctx, overflow: false);
            if (!ctx.Aborted)
            {
                c.FpuWrite(0, Float80.Indefinite);
            }

            // No quotient: a complete reduction, C2 = 0 (C1 = 0 from the stack fault), with C0 and C3 left alone, also when the
            // unmasked fault leaves ST(0) unchanged (SDM Vol. 2A FPREM defines C0, C1, C3 only as
            // quotient bits; the host oracle clears C2 in both cases).
            c.S.X87.Fsw &= unchecked((ushort)~X86Cpu.FswC2);
            c.FpuFinish(ctx);
            return;
        }

        Float80 result = Float80Ops.Remainder(ref ctx, c.FpuRead(0), c.FpuRead(1), i.Mnemonic == Mnemonic.Fprem1, out bool partial, out int q);
        if (!ctx.Aborted)
        {
            c.FpuWrite(0, result);
        }

        if (ctx.Aborted || result.IsNaN)
        {
            // A NaN operand, a masked invalid operation (indefinite result) or an unmasked
            // exception (nothing written) computes no quotient: like a stack underflow, C2 = 0
            // and C1 = 0 (no Q0), and C0 and C3 keep their values, as on the host.
            c.S.X87.Fsw &= unchecked((ushort)~(X86Cpu.FswC2 | X86Cpu.FswC1));
        }
        else
        {
            c.FpuSetConditionCodes((q >> 1) & 1, partial ? 1 : 0, q & 1, (q >> 2) & 1);
        }

        c.FpuFinish(ctx, setC1: false);
    }
}
