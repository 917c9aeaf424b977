using Emulator.Cpu.Simd;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// The VEX conversions (SDM Vol. 2 CVT*): VCVTSI2SS/SD and VCVTSS2SD/VCVTSD2SS take lane 0 from
/// operand 2 and the rest of bits 127:0 from operand 1; the packed forms convert as many elements
/// as the wider side holds (VCVTPS2PD ymm reads 128 bits, VCVTPD2PS and VCVT(T)PD2DQ from a YMM
/// register or m256 write an XMM register). Rounding follows MXCSR.RC, the VCVTT* forms truncate;
/// NaN, infinity and out-of-range values give the integer indefinite with IE.
/// </summary>
public static class AvxFloatConvert
{
    private static FloatFormat S => FloatFormat.Single;

    private static FloatFormat D => FloatFormat.Double;

    /// <summary>VCVTSI2SS/VCVTSI2SD xmm1, xmm2, r/m32 or r/m64.</summary>
    public static void FromInteger(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 2);
        if (!c.AvxAvailable(i) || !c.ReadOperand(i, 2, size, out ulong raw))
        {
            return;
        }

        FloatFormat f = i.Mnemonic == Mnemonic.Vcvtsi2ss ? S : D;
        long value = size == 8 ? (long)raw : (int)raw;
        var env = FpEnv.FromMxcsr(c.S.Vector.Mxcsr);
        c.ReadVectorRegister(i.Op1Register, out YmmRegister r);
        AvxFloat.SetLane(ref r, f, 0, SoftFloat.FromInt(f, value, ref env));
        AvxFloat.Finish(c, i, r, env);
    }

    /// <summary>VCVTSS2SI/VCVTTSS2SI/VCVTSD2SI/VCVTTSD2SI: lane 0 of an XMM register or m32/m64 to a 32- or 64-bit general register.</summary>
    public static void ToInteger(X86Cpu c, in Instruction i)
    {
        if (!c.AvxAvailable(i) || !c.ReadVectorOperand(i, 1, out YmmRegister v))
        {
            return;
        }

        FloatFormat f = i.Mnemonic is Mnemonic.Vcvtss2si or Mnemonic.Vcvttss2si ? S : D;
        bool truncate = i.Mnemonic is Mnemonic.Vcvttss2si or Mnemonic.Vcvttsd2si;
        var env = FpEnv.FromMxcsr(c.S.Vector.Mxcsr);
        ulong result = SoftFloat.ToInt(f, AvxFloat.Lane(v, f, 0), i.Op0Register.GetSize() * 8, truncate ? RoundingMode.TowardZero : env.Rounding, ref env);
        if (c.CommitSimdFlags(env.Flags))
        {
            c.SetReg(i.Op0Register, result);
        }
    }

    /// <summary>VCVTSS2SD/VCVTSD2SS xmm1, xmm2, xmm3/m: lane 0 of operand 2 converted, the rest from operand 1.</summary>
    public static void Scalar(X86Cpu c, in Instruction i)
    {
        if (!AvxFloat.Sources(c, i, out YmmRegister a, out YmmRegister b, out FpEnv env))
        {
            return;
        }

        YmmRegister r = a;
        if (i.Mnemonic == Mnemonic.Vcvtss2sd)
        {
            r[0] = SoftFloat.Convert(S, D, AvxFloat.Lane(b, S, 0), ref env);
        }
        else
        {
            AvxFloat.SetLane(ref r, S, 0, SoftFloat.Convert(D, S, b[0], ref env));
        }

        AvxFloat.Finish(c, i, r, env);
    }

    /// <summary>
    /// VCVTPS2PD, VCVTPD2PS, VCVTDQ2PS, VCVTPS2DQ, VCVTTPS2DQ, VCVTDQ2PD, VCVTPD2DQ, VCVTTPD2DQ:
    /// element by element; the count is the width of the wider side over its element size.
    /// </summary>
    public static void Packed(X86Cpu c, in Instruction i)
    {
        if (!c.AvxAvailable(i) || !c.ReadVectorOperand(i, 1, out YmmRegister s))
        {
            return;
        }

        var env = FpEnv.FromMxcsr(c.S.Vector.Mxcsr);
        int sourceWidth = i.Op1Kind == OpKind.Memory ? i.MemorySize.GetSize() : (i.Op1Register.IsYMM() ? 32 : 16);
        int destinationWidth = i.Op0Register.IsYMM() ? 32 : 16;
        YmmRegister r = default;
        switch (i.Mnemonic)
        {
            case Mnemonic.Vcvtps2pd:
                for (int k = 0; k < destinationWidth / 8; k++)
                {
                    r[k] = SoftFloat.Convert(S, D, AvxFloat.Lane(s, S, k), ref env);
                }

                break;
            case Mnemonic.Vcvtdq2pd:
                for (int k = 0; k < destinationWidth / 8; k++)
                {
                    r[k] = SoftFloat.FromInt(D, (int)AvxFloat.Lane(s, S, k), ref env);
                }

                break;
            case Mnemonic.Vcvtpd2ps:
                for (int k = 0; k < sourceWidth / 8; k++)
                {
                    AvxFloat.SetLane(ref r, S, k, SoftFloat.Convert(D, S, s[k], ref env));
                }

                break;
            case Mnemonic.Vcvtpd2dq:
            case Mnemonic.Vcvttpd2dq:
                var pdMode = i.Mnemonic == Mnemonic.Vcvttpd2dq ? RoundingMode.TowardZero : env.Rounding;
                for (int k = 0; k < sourceWidth / 8; k++)
                {
                    AvxFloat.SetLane(ref r, S, k, SoftFloat.ToInt(D, s[k], 32, pdMode, ref env));
                }

                break;
            case Mnemonic.Vcvtdq2ps:
                for (int k = 0; k < destinationWidth / 4; k++)
                {
                    AvxFloat.SetLane(ref r, S, k, SoftFloat.FromInt(S, (int)AvxFloat.Lane(s, S, k), ref env));
                }

                break;
            default: // Vcvtps2dq, Vcvttps2dq
                var mode = i.Mnemonic == Mnemonic.Vcvttps2dq ? RoundingMode.TowardZero : env.Rounding;
                for (int k = 0; k < destinationWidth / 4; k++)
                {
                    AvxFloat.SetLane(ref r, S, k, SoftFloat.ToInt(S, AvxFloat.Lane(s, S, k), 32, mode, ref env));
                }

                break;
        }

        AvxFloat.Finish(c, i, r, env);
    }
}
