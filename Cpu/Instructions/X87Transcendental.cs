using Emulator.Cpu.Fpu;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// FSIN, FCOS, FSINCOS, FPTAN, FPATAN, F2XM1, FYL2X, FYL2XP1 (SDM Vol. 2A). The trigonometric
/// ones leave ST(0) alone and set C2 when |ST(0)| >= 2^63, else clear C2. Values come from
/// <see cref="Float80Transcendental"/>.
/// </summary>
public static class X87Transcendental
{
    private static bool Underflow(X86Cpu c, ref FpuContext ctx, int needed, bool push)
    {
        bool under = c.FpuIsEmpty(0) || (needed > 1 && c.FpuIsEmpty(1));
        bool over = push && !c.FpuIsEmpty(7);
        if (!under && !over)
        {
            return false;
        }

        X86Cpu.FpuStackFault(ref ctx, overflow: !under);
        if (!ctx.Aborted)
        {
            if (needed > 1)
            {
                c.FpuWrite(1, Float80.Indefinite);
                c.FpuPop();
            }
            else
            {
                c.FpuWrite(0, Float80.Indefinite);
                if (push)
                {
                    c.FpuPush(Float80.Indefinite);
                }
            }
        }

        c.FpuFinish(ctx);
        return true;
    }

    /// <summary>FSIN, FCOS, FSINCOS (ST(0) = sin, then cos pushed), FPTAN (ST(0) = tan, then 1.0 pushed).</summary>
    public static void Trig(X86Cpu c, in Instruction i)
    {
        if (!c.FpuBegin(i))
        {
            return;
        }

        Mnemonic m = i.Mnemonic;
        bool push = m is Mnemonic.Fsincos or Mnemonic.Fptan;
        FpuContext ctx = c.FpuContext();
        if (Underflow(c, ref ctx, 1, push))
        {
            return;
        }

        Float80 x = c.FpuRead(0);
        if (!Float80Transcendental.InTrigRange(x))
        {
            c.S.X87.Fsw |= X86Cpu.FswC2;
            c.FpuFinish(ctx);
            return;
        }

        c.S.X87.Fsw &= unchecked((ushort)~X86Cpu.FswC2);
        if (!Float80Transcendental.Trig(ref ctx, x, out Float80 special, out Wide sin, out Wide cos, out Wide tan))
        {
            if (!ctx.Aborted)
            {
                c.FpuWrite(0, special);
                if (push)
                {
                    c.FpuPush(special);
                }
            }

            c.FpuFinish(ctx);
            return;
        }

        switch (m)
        {
            case Mnemonic.Fsin:
                c.FpuWrite(0, Float80Transcendental.Round(ref ctx, sin));
                break;
            case Mnemonic.Fcos:
                c.FpuWrite(0, Float80Transcendental.Round(ref ctx, cos));
                break;
            case Mnemonic.Fsincos:
                {
                    FpuContext sinCtx = ctx;
                    Float80 s = Float80Transcendental.Round(ref sinCtx, sin);
                    Float80 co = Float80Transcendental.Round(ref ctx, cos);
                    ctx.Raised |= sinCtx.Raised;
                    c.FpuWrite(0, s);
                    c.FpuPush(co);

                    break;
                }

            default:
                c.FpuWrite(0, Float80Transcendental.Round(ref ctx, tan));
                c.FpuPush(Float80.One);
                break;
        }

        c.FpuFinish(ctx);
    }

    public static void F2xm1(X86Cpu c, in Instruction i) => X87Arith.Unary(c, i, static (ctx, a) => (Float80Transcendental.TwoToXMinus1(ref ctx, a), ctx));

    /// <summary>FPATAN, FYL2X, FYL2XP1: ST(1) = f(ST(1), ST(0)), then pop.</summary>
    public static void Binary(X86Cpu c, in Instruction i)
    {
        if (!c.FpuBegin(i))
        {
            return;
        }

        FpuContext ctx = c.FpuContext();
        if (Underflow(c, ref ctx, 2, push: false))
        {
            return;
        }

        Float80 x = c.FpuRead(0), y = c.FpuRead(1);
        Float80 result = i.Mnemonic switch
        {
            Mnemonic.Fpatan => Float80Transcendental.Atan2(ref ctx, y, x),
            Mnemonic.Fyl2x => Float80Transcendental.YLog2X(ref ctx, x, y),
            _ => Float80Transcendental.YLog2XPlus1(ref ctx, x, y),
        };
        if (!ctx.Aborted)
        {
            c.FpuWrite(1, result);
            c.FpuPop();
        }

        c.FpuFinish(ctx);
    }
}
