using Emulator.Cpu.Exceptions;
using Emulator.Cpu.Simd;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// SSE/SSE2 conversions (SDM Vol. 1 11.4.1.4, figure 11-8; each CVT* in Vol. 2). Float to integer
/// rounds under MXCSR.RC, the CVTT* forms truncate; a NaN, an infinity or an out-of-range value
/// gives the integer indefinite with IE. The MMX-register forms (CVTPI2PS, CVTPS2PI, ...) read or
/// write an x87 register significand and switch the FPU to MMX state (TOP = 0, all tags valid),
/// after a pending x87 exception is reported as #MF (SDM Vol. 1 11.6.4).
/// </summary>
public static class SseConvert
{
    private static FloatFormat S => FloatFormat.Single;
    private static FloatFormat D => FloatFormat.Double;

    /// <summary>CVTSI2SS/CVTSI2SD: a 32- or 64-bit signed integer into lane 0.</summary>
    public static void Cvtsi2sx(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 1);
        if (!c.SimdAvailable(i) || !c.ReadOperand(i, 1, size, out ulong raw))
        {
            return;
        }

        FloatFormat f = i.Mnemonic == Mnemonic.Cvtsi2ss ? S : D;
        long value = size == 8 ? (long)raw : (int)raw;
        var env = FpEnv.FromMxcsr(c.S.Vector.Mxcsr);
        int d = X86Cpu.XmmIndex(i.Op0Register);
        Vec128 r = c.GetXmm(d);
        r.SetLane(f, 0, SoftFloat.FromInt(f, value, ref env));
        if (c.CommitSimdFlags(env.Flags))
        {
            c.WriteXmm(d, r);
        }
    }

    /// <summary>CVTSS2SI/CVTTSS2SI/CVTSD2SI/CVTTSD2SI: lane 0 to a 32- or 64-bit general register.</summary>
    public static void Cvtsx2si(X86Cpu c, in Instruction i)
    {
        if (!c.SimdAvailable(i) || !c.ReadXmmOperand(i, 1, out Vec128 v))
        {
            return;
        }

        FloatFormat f = i.Mnemonic is Mnemonic.Cvtss2si or Mnemonic.Cvttss2si ? S : D;
        bool truncate = i.Mnemonic is Mnemonic.Cvttss2si or Mnemonic.Cvttsd2si;
        var env = FpEnv.FromMxcsr(c.S.Vector.Mxcsr);
        int bits = i.Op0Register.GetSize() * 8;
        ulong result = SoftFloat.ToInt(f, v.GetLane(f, 0), bits, truncate ? RoundingMode.TowardZero : env.Rounding, ref env);
        if (c.CommitSimdFlags(env.Flags))
        {
            c.SetReg(i.Op0Register, result);
        }
    }

    /// <summary>
    /// The format conversions CVTPS2PD, CVTPD2PS, CVTSS2SD, CVTSD2SS (narrowing rounds; CVTPD2PS
    /// zeroes the upper half), and the packed integer ones CVTDQ2PS, CVTPS2DQ, CVTTPS2DQ, CVTDQ2PD,
    /// CVTPD2DQ, CVTTPD2DQ (the PD-to-DQ forms zero the upper half).
    /// </summary>
    public static void Packed(X86Cpu c, in Instruction i)
    {
        if (!c.SimdAvailable(i) || !c.ReadXmmOperand(i, 1, out Vec128 s))
        {
            return;
        }

        var env = FpEnv.FromMxcsr(c.S.Vector.Mxcsr);
        int d = X86Cpu.XmmIndex(i.Op0Register);
        Vec128 r = default;
        switch (i.Mnemonic)
        {
            case Mnemonic.Cvtps2pd:
                r = new Vec128(SoftFloat.Convert(S, D, s.GetDword(0), ref env), SoftFloat.Convert(S, D, s.GetDword(1), ref env));
                break;
            case Mnemonic.Cvtpd2ps:
                r.SetDword(0, (uint)SoftFloat.Convert(D, S, s.Lo, ref env));
                r.SetDword(1, (uint)SoftFloat.Convert(D, S, s.Hi, ref env));
                break;
            case Mnemonic.Cvtss2sd:
                r = c.GetXmm(d);
                r.Lo = SoftFloat.Convert(S, D, s.GetDword(0), ref env);
                break;
            case Mnemonic.Cvtsd2ss:
                r = c.GetXmm(d);
                r.SetDword(0, (uint)SoftFloat.Convert(D, S, s.Lo, ref env));
                break;
            case Mnemonic.Cvtdq2ps:
                for (int k = 0; k < 4; k++)
                {
                    r.SetDword(k, (uint)SoftFloat.FromInt(S, (int)s.GetDword(k), ref env));
                }

                break;
            case Mnemonic.Cvtps2dq:
            case Mnemonic.Cvttps2dq:
                var mode = i.Mnemonic == Mnemonic.Cvttps2dq ? RoundingMode.TowardZero : env.Rounding;
                for (int k = 0; k < 4; k++)
                {
                    r.SetDword(k, (uint)SoftFloat.ToInt(S, s.GetDword(k), 32, mode, ref env));
                }

                break;
            case Mnemonic.Cvtdq2pd:
                r = new Vec128(SoftFloat.FromInt(D, (int)s.GetDword(0), ref env), SoftFloat.FromInt(D, (int)s.GetDword(1), ref env));
                break;
            default: // Cvtpd2dq, Cvttpd2dq
                var pdMode = i.Mnemonic == Mnemonic.Cvttpd2dq ? RoundingMode.TowardZero : env.Rounding;
                r.SetDword(0, (uint)SoftFloat.ToInt(D, s.Lo, 32, pdMode, ref env));
                r.SetDword(1, (uint)SoftFloat.ToInt(D, s.Hi, 32, pdMode, ref env));
                break;
        }

        if (c.CommitSimdFlags(env.Flags))
        {
            c.WriteXmm(d, r);
        }
    }

    /// <summary>True (after #MF) when an MMX operand may be used: no unmasked x87 exception pending (FSW.ES, SDM Vol. 1 8.1.3).</summary>
    private static bool NoPendingX87(X86Cpu c) => (c.S.X87.Fsw & 0x80) == 0 || c.RaiseFault(Vector.MF);

    /// <summary>CVTPI2PS/CVTPI2PD: two 32-bit integers from an MMX register or m64 into two lanes (PS keeps the upper half).</summary>
    public static void FromMmx(X86Cpu c, in Instruction i)
    {
        if (!c.SimdAvailable(i))
        {
            return;
        }

        bool mmxSource = i.Op1Kind == OpKind.Register;
        ulong raw;
        if (mmxSource)
        {
            if (!NoPendingX87(c))
            {
                return;
            }

            raw = c.GetMmx(i.Op1Register);
        }
        else if (!c.Read(X86Cpu.MemorySegment(i), c.EffectiveAddress(i), 8, out raw))
        {
            return;
        }

        var env = FpEnv.FromMxcsr(c.S.Vector.Mxcsr);
        int d = X86Cpu.XmmIndex(i.Op0Register);
        Vec128 r = c.GetXmm(d);
        FloatFormat f = i.Mnemonic == Mnemonic.Cvtpi2ps ? S : D;
        r.SetLane(f, 0, SoftFloat.FromInt(f, (int)raw, ref env));
        r.SetLane(f, 1, SoftFloat.FromInt(f, (int)(raw >> 32), ref env));
        if (mmxSource)
        {
            // The switch to MMX operation comes first: it happens even when #XM follows (host oracle).
            c.EnterMmxState();
        }

        if (c.CommitSimdFlags(env.Flags))
        {
            c.WriteXmm(d, r);
        }
    }

    /// <summary>CVTPS2PI/CVTTPS2PI (two singles from XMM or m64) and CVTPD2PI/CVTTPD2PI (two doubles from XMM or aligned m128) into an MMX register.</summary>
    public static void ToMmx(X86Cpu c, in Instruction i)
    {
        if (!c.SimdAvailable(i) || !NoPendingX87(c) || !c.ReadXmmOperand(i, 1, out Vec128 s))
        {
            return;
        }

        FloatFormat f = i.Mnemonic is Mnemonic.Cvtps2pi or Mnemonic.Cvttps2pi ? S : D;
        var env = FpEnv.FromMxcsr(c.S.Vector.Mxcsr);
        var mode = i.Mnemonic is Mnemonic.Cvttps2pi or Mnemonic.Cvttpd2pi ? RoundingMode.TowardZero : env.Rounding;
        ulong lo = SoftFloat.ToInt(f, s.GetLane(f, 0), 32, mode, ref env);
        ulong hi = SoftFloat.ToInt(f, s.GetLane(f, 1), 32, mode, ref env);
        // SDM Vol. 2A CVTPS2PI: the instruction switches the x87 to MMX operation (TOP = 0, every
        // tag valid), also when it ends in #XM (host oracle).
        c.EnterMmxState();
        if (c.CommitSimdFlags(env.Flags))
        {
            c.WriteMmx(i.Op0Register, lo | (hi << 32));
        }
    }
}
