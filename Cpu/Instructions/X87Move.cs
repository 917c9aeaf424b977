using Emulator.Cpu.Fpu;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// x87 data transfer (SDM Vol. 2A): FLD, FST, FSTP, FILD, FIST, FISTP, FISTTP, FBLD, FBSTP,
/// FXCH, FCMOVcc, the constants, FFREE(P), FINCSTP, FDECSTP. A push onto a full register is a
/// stack overflow and a read of an empty one a stack underflow (#IS, SDM Vol. 1 8.5.1.1); the
/// masked response stores the indefinite.
/// </summary>
public static class X87Move
{
    /// <summary>
    /// Reads a memory operand as an extended value: single, double, extended, 16/32/64-bit integer
    /// or packed BCD, by the operand's <see cref="MemorySize"/>. <paramref name="signaling"/> keeps
    /// an SNaN signaling for the arithmetic that raises #IA itself.
    /// </summary>
    public static bool ReadMemoryOperand(X86Cpu c, in Instruction i, ref FpuContext ctx, bool signaling, out Float80 value)
    {
        value = default;
        Seg seg = X86Cpu.MemorySegment(i);
        ulong ea = c.EffectiveAddress(i);
        switch (i.MemorySize)
        {
            case MemorySize.Float32:
                {
                    if (!c.Read(seg, ea, 4, out ulong bits))
                    {
                        return false;
                    }

                    FpuContext local = ctx;
                    value = Float80Convert.FromSingle(ref local, (uint)bits);
                    ctx.Raised |= local.Raised & (signaling ? FpuExceptions.Denormal : FpuExceptions.Denormal | FpuExceptions.Invalid);
                    if (signaling && (uint)bits is var b && (b & 0x7F800000) == 0x7F800000 && (b & 0x7FFFFF) != 0 && (b & 0x400000) == 0)
                    {
                        value = new Float80(value.Significand & ~Float80.QuietBit, value.SignExponent);
                    }

                    return true;
                }

            case MemorySize.Float64:
                {
                    if (!c.Read(seg, ea, 8, out ulong bits))
                    {
                        return false;
                    }

                    FpuContext local = ctx;
                    value = Float80Convert.FromDouble(ref local, bits);
                    ctx.Raised |= local.Raised & (signaling ? FpuExceptions.Denormal : FpuExceptions.Denormal | FpuExceptions.Invalid);
                    if (signaling && (bits & 0x7FF0_0000_0000_0000) == 0x7FF0_0000_0000_0000 && (bits & 0xF_FFFF_FFFF_FFFF) != 0 && (bits & 0x8_0000_0000_0000) == 0)
                    {
                        value = new Float80(value.Significand & ~Float80.QuietBit, value.SignExponent);
                    }

                    return true;
                }

            case MemorySize.Float80:
                {
                    if (!c.Read(seg, ea, 8, out ulong low) || !c.Read(seg, ea + 8, 2, out ulong high))
                    {
                        return false;
                    }

                    value = new Float80(low, (ushort)high);
                    return true;
                }

            case MemorySize.Bcd:
                {
                    if (!c.Read(seg, ea, 8, out ulong low) || !c.Read(seg, ea + 8, 2, out ulong high))
                    {
                        return false;
                    }

                    value = Float80Convert.FromBcd(low, (ushort)high);
                    return true;
                }

            default:
                {
                    int size = i.MemorySize switch { MemorySize.Int16 => 2, MemorySize.Int32 => 4, _ => 8 };
                    if (!c.Read(seg, ea, size, out ulong bits))
                    {
                        return false;
                    }

                    value = Float80Convert.FromInt64((long)X86Cpu.SignExtend(bits, size));
                    return true;
                }
        }
    }

    /// <summary>FLD m32/m64/m80, FLD ST(i), FILD, FBLD: push a value (SDM Vol. 2A, FLD, FILD, FBLD).</summary>
    public static void Fld(X86Cpu c, in Instruction i)
    {
        if (!c.FpuBegin(i))
        {
            return;
        }

        FpuContext ctx = c.FpuContext();
        Float80 value = default;
        bool underflow = false;
        if (i.Op0Kind == OpKind.Memory)
        {
            FpuContext load = ctx;
            if (!ReadMemoryOperand(c, i, ref load, signaling: false, out value))
            {
                return;
            }

            // A stack overflow is reported alone; otherwise the conversion's #IA and #D. An
            // unmasked #D still loads (the host does), an unmasked #IA does not.
            if (c.FpuIsEmpty(7))
            {
                ctx.Raised |= load.Raised;
            }
        }
        else
        {
            int st = i.Op0Register - Register.ST0;
            underflow = c.FpuIsEmpty(st);
            value = underflow ? Float80.Indefinite : c.FpuRead(st);
        }

        if (underflow || !c.FpuIsEmpty(7))
        {
            X86Cpu.FpuStackFault(ref ctx, overflow: !underflow);
            value = Float80.Indefinite;
        }

        if ((ctx.Raised & ~ctx.Masks & FpuExceptions.Invalid) == 0)
        {
            c.FpuPush(value);
        }

        ctx.RoundedUp = ctx.StackFault && ctx.RoundedUp;
        c.FpuFinish(ctx);
    }

    /// <summary>Pushes a constant rounded with RC from its exact value (SDM Vol. 1 8.3.8; no #P is raised).</summary>
    private static void LoadConstant(X86Cpu c, in Instruction i, int exponent, UInt128 significand)
    {
        if (!c.FpuBegin(i))
        {
            return;
        }

        FpuContext ctx = c.FpuContext();
        Float80 value;
        if (!c.FpuIsEmpty(7))
        {
            X86Cpu.FpuStackFault(ref ctx, overflow: true);
            value = Float80.Indefinite;
        }
        else if (significand == 0)
        {
            value = Float80.PositiveZero;
        }
        else
        {
            FpuContext rounding = ctx;
            value = Rounding.ToRegister(ref rounding, new Wide(false, exponent, significand), precision: 64);
        }

        if (!ctx.Aborted)
        {
            c.FpuPush(value);
        }

        c.FpuFinish(ctx);
    }

    // The constants to 128 bits (SDM Vol. 1 8.3.8 says the processor holds them to 66 bits and rounds with RC).
    public static readonly UInt128 Pi = new(0xC90F_DAA2_2168_C234, 0xC4C6_628B_80DC_1CD1);
    public static readonly UInt128 Log2E = new(0xB8AA_3B29_5C17_F0BB, 0xBE87_FED0_691D_3E88);
    public static readonly UInt128 Log2Ten = new(0xD49A_784B_CD1B_8AFE, 0x492B_F6FF_4DAF_DB4C);
    public static readonly UInt128 Log10Two = new(0x9A20_9A84_FBCF_F798, 0x8F89_59AC_0B7C_9178);
    public static readonly UInt128 Ln2 = new(0xB172_17F7_D1CF_79AB, 0xC9E3_B398_03F2_F6AF);

    public static void Fld1(X86Cpu c, in Instruction i) => LoadConstant(c, i, Float80.Bias, UInt128.One << 127);

    public static void Fldz(X86Cpu c, in Instruction i) => LoadConstant(c, i, 0, 0);

    public static void Fldpi(X86Cpu c, in Instruction i) => LoadConstant(c, i, Float80.Bias + 1, Pi);

    public static void Fldl2e(X86Cpu c, in Instruction i) => LoadConstant(c, i, Float80.Bias, Log2E);

    public static void Fldl2t(X86Cpu c, in Instruction i) => LoadConstant(c, i, Float80.Bias + 1, Log2Ten);

    public static void Fldlg2(X86Cpu c, in Instruction i) => LoadConstant(c, i, Float80.Bias - 2, Log10Two);

    public static void Fldln2(X86Cpu c, in Instruction i) => LoadConstant(c, i, Float80.Bias - 1, Ln2);

    private static bool IsPop(Mnemonic m) => m is Mnemonic.Fstp or Mnemonic.Fistp or Mnemonic.Fisttp or Mnemonic.Fbstp or Mnemonic.Fstpnce;

    /// <summary>FST, FSTP (memory and register), FIST, FISTP, FISTTP, FBSTP (SDM Vol. 2A).</summary>
    public static void Fst(X86Cpu c, in Instruction i)
    {
        if (!c.FpuBegin(i))
        {
            return;
        }

        FpuContext ctx = c.FpuContext();
        bool pop = IsPop(i.Mnemonic);
        bool toMemory = i.Op0Kind == OpKind.Memory;
        Seg seg = toMemory ? X86Cpu.MemorySegment(i) : Seg.DS;
        ulong ea = toMemory ? c.EffectiveAddress(i) : 0;
        int size = toMemory ? i.MemorySize.GetSize() : 0;
        if (toMemory && !c.ProbeWrite(seg, ea, size))
        {
            return;
        }

        bool underflow = c.FpuIsEmpty(0);
        Float80 value = underflow ? Float80.Indefinite : c.FpuRead(0);
        if (underflow)
        {
            X86Cpu.FpuStackFault(ref ctx, overflow: false);
        }

        if (!toMemory)
        {
            if (!ctx.Aborted)
            {
                c.FpuWrite(i.Op0Register - Register.ST0, value);
                if (pop)
                {
                    c.FpuPop();
                }
            }

            c.FpuFinish(ctx);
            return;
        }

        bool store;
        ulong low = 0;
        ulong high = 0;
        switch (i.MemorySize)
        {
            case MemorySize.Float32:
                store = Float80Convert.ToSingle(ref ctx, value, out uint single);
                low = single;
                break;
            case MemorySize.Float64:
                store = Float80Convert.ToDouble(ref ctx, value, out low);
                break;
            case MemorySize.Float80:
                store = !ctx.Aborted;
                low = value.Significand;
                high = value.SignExponent;
                break;
            case MemorySize.Bcd:
                store = Float80Convert.ToBcd(ref ctx, value, out low, out ushort bcdHigh);
                high = bcdHigh;
                break;
            default:
                store = Float80Convert.ToInteger(ref ctx, value, size * 8, i.Mnemonic == Mnemonic.Fisttp, out long integer);
                low = (ulong)integer & X86Cpu.SizeMask(size);
                break;
        }

        if (underflow)
        {
            // The masked response to an empty ST(0): the indefinite of the destination format.
            ctx.StackFault = true;
            ctx.RoundedUp = false;
        }

        if (store && !ctx.Aborted)
        {
            if (size == 10)
            {
                c.Write(seg, ea, 8, low);
                c.Write(seg, ea + 8, 2, high);
            }
            else
            {
                c.Write(seg, ea, size, low);
            }

            if (pop)
            {
                c.FpuPop();
            }
        }

        c.FpuFinish(ctx);
    }

    /// <summary>FXCH: an empty operand becomes the indefinite first when #IS is masked (SDM Vol. 2A, FXCH).</summary>
    public static void Fxch(X86Cpu c, in Instruction i)
    {
        if (!c.FpuBegin(i))
        {
            return;
        }

        FpuContext ctx = c.FpuContext();
        int st = i.OpCount > 1 ? i.Op1Register - Register.ST0 : 1;
        if (c.FpuIsEmpty(0) || c.FpuIsEmpty(st))
        {
            X86Cpu.FpuStackFault(ref ctx, overflow: false);
            if (ctx.Aborted)
            {
                c.FpuFinish(ctx);
                return;
            }

            if (c.FpuIsEmpty(0))
            {
                c.FpuWrite(0, Float80.Indefinite);
            }

            if (c.FpuIsEmpty(st))
            {
                c.FpuWrite(st, Float80.Indefinite);
            }
        }

        Float80 a = c.FpuRead(0);
        c.FpuWrite(0, c.FpuRead(st));
        c.FpuWrite(st, a);
        c.FpuFinish(ctx);
    }

    /// <summary>FCMOVcc: ST(0) = ST(i) when the EFLAGS condition holds (SDM Vol. 2A, FCMOVcc).</summary>
    public static void Fcmov(X86Cpu c, in Instruction i)
    {
        if (!c.FpuBegin(i))
        {
            return;
        }

        FpuContext ctx = c.FpuContext();
        int st = i.Op1Register - Register.ST0;
        if (c.FpuIsEmpty(0) || c.FpuIsEmpty(st))
        {
            X86Cpu.FpuStackFault(ref ctx, overflow: false);
            if (!ctx.Aborted)
            {
                c.FpuWrite(0, Float80.Indefinite);
            }

            c.FpuFinish(ctx);
            return;
        }

        ulong f = c.S.Rflags;
        bool cf = (f & Flags.CF) != 0, zf = (f & Flags.ZF) != 0, pf = (f & Flags.PF) != 0;
        bool condition = i.Mnemonic switch
        {
            Mnemonic.Fcmovb => cf,
            Mnemonic.Fcmove => zf,
            Mnemonic.Fcmovbe => cf || zf,
            Mnemonic.Fcmovu => pf,
            Mnemonic.Fcmovnb => !cf,
            Mnemonic.Fcmovne => !zf,
            Mnemonic.Fcmovnbe => !cf && !zf,
            _ => !pf,
        };
        if (condition)
        {
            c.FpuWrite(0, c.FpuRead(st));
        }

        // SDM Vol. 2A FCMOVcc: C1 is set to 0 on a stack underflow and otherwise left alone (as
        // on the host oracle).
        c.FpuFinish(ctx, setC1: false);
    }

    public static void Ffree(X86Cpu c, in Instruction i)
    {
        if (!c.FpuBegin(i))
        {
            return;
        }

        c.FpuSetEmpty(i.Op0Register - Register.ST0);
        if (i.Mnemonic == Mnemonic.Ffreep)
        {
            // FFREEP frees ST(i) and then pops: ST(0) becomes empty too (AMD APM Vol. 5 FFREEP;
            // the host CPU oracle agrees).
            c.FpuPop();
        }
    }

    /// <summary>FINCSTP and FDECSTP rotate TOP without touching tags; C1 = 0.</summary>
    public static void Fincstp(X86Cpu c, in Instruction i)
    {
        if (!c.FpuBegin(i))
        {
            return;
        }

        c.FpuTop = c.FpuTop + (i.Mnemonic == Mnemonic.Fincstp ? 1 : -1);
        c.S.X87.Fsw &= unchecked((ushort)~X86Cpu.FswC1);
    }

    public static void Fnop(X86Cpu c, in Instruction i)
    {
        c.FpuBegin(i);
    }
}
