using Emulator.Cpu.Simd;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// F16C (SDM Vol. 2A VCVTPH2PS, Vol. 2B VCVTPS2PH): conversions between half precision
/// (IEEE binary16: 5 exponent bits, 10 fraction bits) and single precision, 4 or 8 elements.
/// VCVTPH2PS is exact: a half denormal becomes a normal single, MXCSR.DAZ is not applied and DE
/// is not raised; only an SNaN raises IE (quieted, payload kept). VCVTPS2PH rounds by imm8
/// (bit 2 set: MXCSR.RC, else imm8[1:0]), applies DAZ to its inputs but not FTZ to its results,
/// and raises IE, DE, OE, UE and PE (checked against the host).
/// </summary>
public static class HalfFloat
{
    public static readonly FloatFormat Half = new(5, 10);

    /// <summary>VCVTPH2PS xmm1, xmm2/m64 and ymm1, xmm2/m128.</summary>
    public static void Vcvtph2ps(X86Cpu c, in Instruction i)
    {
        if (!c.AvxAvailable(i) || !c.ReadVectorOperand(i, 1, out YmmRegister source))
        {
            return;
        }

        int count = i.Op0Register.IsYMM() ? 8 : 4;
        var env = FpEnv.FromMxcsr(c.S.Vector.Mxcsr);
        env.Daz = false;
        YmmRegister result = default;
        for (int k = 0; k < count; k++)
        {
            ulong half = (source[k >> 2] >> (16 * (k & 3))) & 0xFFFF;
            Fma.SetLane(ref result, FloatFormat.Single, k, SoftFloat.Convert(Half, FloatFormat.Single, half, ref env));
        }

        if (Fma.CommitFlags(c, env.Flags & ~Mxcsr.DE))
        {
            c.WriteVectorRegister(i.Op0Register, result, vex: true);
        }
    }

    /// <summary>VCVTPS2PH xmm1/m64, xmm2, imm8 and xmm1/m128, ymm2, imm8.</summary>
    public static void Vcvtps2ph(X86Cpu c, in Instruction i)
    {
        if (!c.AvxAvailable(i))
        {
            return;
        }

        c.ReadVectorRegister(i.Op1Register, out YmmRegister source);
        int count = i.Op1Register.IsYMM() ? 8 : 4;
        int imm = i.Immediate8;
        var env = FpEnv.FromMxcsr(c.S.Vector.Mxcsr);
        env.Ftz = false;
        if ((imm & 4) == 0)
        {
            env.Rounding = (RoundingMode)(imm & 3);
        }

        bool overflowMasked = (c.S.Vector.Mxcsr & (Mxcsr.OE << Mxcsr.MaskShift)) != 0;
        YmmRegister result = default;
        for (int k = 0; k < count; k++)
        {
            ulong half = SoftFloat.Narrow(FloatFormat.Single, Half, Fma.Lane(source, FloatFormat.Single, k), overflowMasked, ref env);
            result[k >> 2] |= half << (16 * (k & 3));
        }

        // A store that faults (#PF, #GP) leaves MXCSR as it was: probe the destination before
        // the flags go in, unless an unmasked exception is to be raised first.
        if (i.Op0Kind == OpKind.Memory)
        {
            if (!Fma.RaisesUnmasked(c, env.Flags) && !c.ProbeWrite(X86Cpu.MemorySegment(i), c.EffectiveAddress(i), count * 2))
            {
                return;
            }

            if (Fma.CommitFlags(c, env.Flags))
            {
                c.WriteVectorMemory(i, count * 2, result);
            }

            return;
        }

        if (Fma.CommitFlags(c, env.Flags))
        {
            c.WriteVectorRegister(i.Op0Register, result, vex: true);
        }
    }
}
