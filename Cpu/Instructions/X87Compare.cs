using Emulator.Cpu.Fpu;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// x87 comparisons (SDM Vol. 2A): FCOM, FCOMP, FCOMPP, FUCOM, FUCOMP, FUCOMPP, FICOM, FICOMP
/// set C3, C2, C0 (table 3-21: 000 greater, 001 less, 100 equal, 111 unordered); FCOMI, FCOMIP,
/// FUCOMI, FUCOMIP set ZF, PF, CF the same way and clear OF, SF, AF; FTST compares with 0.0;
/// FXAM classifies ST(0). C1 is cleared (set only by a stack overflow).
/// </summary>
public static class X87Compare
{
    public static void Fcom(X86Cpu c, in Instruction i)
    {
        if (!c.FpuBegin(i))
        {
            return;
        }

        Mnemonic m = i.Mnemonic;
        bool quiet = m is Mnemonic.Fucom or Mnemonic.Fucomp or Mnemonic.Fucompp or Mnemonic.Fucomi or Mnemonic.Fucomip;
        bool toFlags = m is Mnemonic.Fcomi or Mnemonic.Fcomip or Mnemonic.Fucomi or Mnemonic.Fucomip;
        int pops = m is Mnemonic.Fcompp or Mnemonic.Fucompp ? 2 : m is Mnemonic.Fcomp or Mnemonic.Fucomp or Mnemonic.Ficomp or Mnemonic.Fcomip or Mnemonic.Fucomip ? 1 : 0;
        FpuContext ctx = c.FpuContext();
        Float80 b;
        bool empty;
        if (i.Op0Kind == OpKind.Memory)
        {
            FpuContext load = ctx;
            if (!X87Move.ReadMemoryOperand(c, i, ref load, signaling: true, out b))
            {
                return;
            }

            empty = c.FpuIsEmpty(0);
            ctx.OperandDenormal = !empty && (load.Raised & FpuExceptions.Denormal) != 0;
        }
        else
        {
            int st = i.OpCount > 1 ? i.Op1Register - Register.ST0 : 1;
            empty = c.FpuIsEmpty(0) || c.FpuIsEmpty(st);
            b = empty ? default : c.FpuRead(st);
        }

        FpuRelation relation = FpuRelation.Unordered;
        if (empty)
        {
            X86Cpu.FpuStackFault(ref ctx, overflow: false);
        }
        else
        {
            relation = Float80Ops.Compare(ref ctx, c.FpuRead(0), b, quiet);
        }

        // The condition codes are set even when the exception is unmasked; the pops are not done.
        SetRelation(c, relation, toFlags);
        if (!ctx.Aborted)
        {
            for (int k = 0; k < pops; k++)
            {
                c.FpuPop();
            }
        }

        // FCOMI/FUCOMI(P) set C1 only on a stack underflow and otherwise leave it (SDM Vol. 2A
        // FCOMI: C1 "set to 0 if stack underflow occurred"; the host oracle keeps it); the FCOM
        // family clears it.
        c.FpuFinish(ctx, setC1: !toFlags);
    }

    private static void SetRelation(X86Cpu c, FpuRelation relation, bool toFlags)
    {
        var (c3, c2, c0) = relation switch
        {
            FpuRelation.Greater => (0, 0, 0),
            FpuRelation.Less => (0, 0, 1),
            FpuRelation.Equal => (1, 0, 0),
            _ => (1, 1, 1),
        };
        if (toFlags)
        {
            ulong f = c.S.Rflags & ~(Flags.ZF | Flags.PF | Flags.CF | Flags.OF | Flags.SF | Flags.AF);
            f |= (c3 != 0 ? Flags.ZF : 0) | (c2 != 0 ? Flags.PF : 0) | (c0 != 0 ? Flags.CF : 0);
            c.S.Rflags = f;
            return;
        }

        c.FpuSetConditionCodes(c3, c2, 0, c0);
    }

    /// <summary>FTST: compares ST(0) with +0.0 (SDM Vol. 2A, FTST).</summary>
    public static void Ftst(X86Cpu c, in Instruction i)
    {
        if (!c.FpuBegin(i))
        {
            return;
        }

        FpuContext ctx = c.FpuContext();
        FpuRelation relation = FpuRelation.Unordered;
        if (c.FpuIsEmpty(0))
        {
            X86Cpu.FpuStackFault(ref ctx, overflow: false);
        }
        else
        {
            relation = Float80Ops.Compare(ref ctx, c.FpuRead(0), Float80.PositiveZero, quiet: false);
        }

        SetRelation(c, relation, toFlags: false);
        c.FpuFinish(ctx);
    }

    /// <summary>
    /// FXAM: C3, C2, C0 = 000 unsupported, 001 NaN, 010 normal, 011 infinity, 100 zero, 101 empty,
    /// 110 denormal; C1 = the sign (SDM Vol. 2A, FXAM, table 3-46). Raises nothing.
    /// </summary>
    public static void Fxam(X86Cpu c, in Instruction i)
    {
        if (!c.FpuBegin(i))
        {
            return;
        }

        Float80 x = c.FpuRead(0);
        int sign = x.Sign ? 1 : 0;
        if (c.FpuIsEmpty(0))
        {
            c.FpuSetConditionCodes(1, 0, sign, 1);
        }
        else if (x.IsUnsupported)
        {
            c.FpuSetConditionCodes(0, 0, sign, 0);
        }
        else if (x.IsNaN)
        {
            c.FpuSetConditionCodes(0, 0, sign, 1);
        }
        else if (x.IsInfinity)
        {
            c.FpuSetConditionCodes(0, 1, sign, 1);
        }
        else if (x.IsZero)
        {
            c.FpuSetConditionCodes(1, 0, sign, 0);
        }
        else if (x.IsDenormal)
        {
            c.FpuSetConditionCodes(1, 1, sign, 0);
        }
        else
        {
            c.FpuSetConditionCodes(0, 1, sign, 0);
        }
    }
}
