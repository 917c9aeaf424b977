using Emulator.Cpu.Simd;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// SSE/SSE2/SSE3/SSE4.1 floating-point arithmetic (SDM Vol. 1 10.4.2, 11.4.1, 12.3, 12.10; each
/// instruction in Vol. 2): lanes are computed with <see cref="SoftFloat"/> under the guest's MXCSR,
/// the flags of all lanes are ORed into MXCSR, and an unmasked exception leaves the destination
/// unchanged (<see cref="X86Cpu.CommitSimdFlags"/>). Packed forms work on every lane; scalar forms
/// on lane 0 and keep the rest of the destination. Handlers are named after the mnemonic and the
/// lane format (PS, SS, PD, SD) and pass both to one generic routine.
/// </summary>
public static class SseFloat
{
    /// <summary>The lane-wise operations of <see cref="Binary"/>.</summary>
    public enum Op
    {
        Add,
        Sub,
        Mul,
        Div,
        Min,
        Max,
    }

    private static FloatFormat S => FloatFormat.Single;
    private static FloatFormat D => FloatFormat.Double;

    public static void Addps(X86Cpu c, in Instruction i) => Binary(c, i, Op.Add, S, true);

    public static void Addss(X86Cpu c, in Instruction i) => Binary(c, i, Op.Add, S, false);

    public static void Addpd(X86Cpu c, in Instruction i) => Binary(c, i, Op.Add, D, true);

    public static void Addsd(X86Cpu c, in Instruction i) => Binary(c, i, Op.Add, D, false);

    public static void Subps(X86Cpu c, in Instruction i) => Binary(c, i, Op.Sub, S, true);

    public static void Subss(X86Cpu c, in Instruction i) => Binary(c, i, Op.Sub, S, false);

    public static void Subpd(X86Cpu c, in Instruction i) => Binary(c, i, Op.Sub, D, true);

    public static void Subsd(X86Cpu c, in Instruction i) => Binary(c, i, Op.Sub, D, false);

    public static void Mulps(X86Cpu c, in Instruction i) => Binary(c, i, Op.Mul, S, true);

    public static void Mulss(X86Cpu c, in Instruction i) => Binary(c, i, Op.Mul, S, false);

    public static void Mulpd(X86Cpu c, in Instruction i) => Binary(c, i, Op.Mul, D, true);

    public static void Mulsd(X86Cpu c, in Instruction i) => Binary(c, i, Op.Mul, D, false);

    public static void Divps(X86Cpu c, in Instruction i) => Binary(c, i, Op.Div, S, true);

    public static void Divss(X86Cpu c, in Instruction i) => Binary(c, i, Op.Div, S, false);

    public static void Divpd(X86Cpu c, in Instruction i) => Binary(c, i, Op.Div, D, true);

    public static void Divsd(X86Cpu c, in Instruction i) => Binary(c, i, Op.Div, D, false);

    public static void Minps(X86Cpu c, in Instruction i) => Binary(c, i, Op.Min, S, true);

    public static void Minss(X86Cpu c, in Instruction i) => Binary(c, i, Op.Min, S, false);

    public static void Minpd(X86Cpu c, in Instruction i) => Binary(c, i, Op.Min, D, true);

    public static void Minsd(X86Cpu c, in Instruction i) => Binary(c, i, Op.Min, D, false);

    public static void Maxps(X86Cpu c, in Instruction i) => Binary(c, i, Op.Max, S, true);

    public static void Maxss(X86Cpu c, in Instruction i) => Binary(c, i, Op.Max, S, false);

    public static void Maxpd(X86Cpu c, in Instruction i) => Binary(c, i, Op.Max, D, true);

    public static void Maxsd(X86Cpu c, in Instruction i) => Binary(c, i, Op.Max, D, false);

    public static void Sqrtps(X86Cpu c, in Instruction i) => Sqrt(c, i, S, true);

    public static void Sqrtss(X86Cpu c, in Instruction i) => Sqrt(c, i, S, false);

    public static void Sqrtpd(X86Cpu c, in Instruction i) => Sqrt(c, i, D, true);

    public static void Sqrtsd(X86Cpu c, in Instruction i) => Sqrt(c, i, D, false);

    public static void Cmpps(X86Cpu c, in Instruction i) => Cmp(c, i, S, true);

    public static void Cmpss(X86Cpu c, in Instruction i) => Cmp(c, i, S, false);

    public static void Cmppd(X86Cpu c, in Instruction i) => Cmp(c, i, D, true);

    public static void Cmpsd(X86Cpu c, in Instruction i) => Cmp(c, i, D, false);

    public static void Comiss(X86Cpu c, in Instruction i) => Comi(c, i, S, signaling: true);

    public static void Ucomiss(X86Cpu c, in Instruction i) => Comi(c, i, S, signaling: false);

    public static void Comisd(X86Cpu c, in Instruction i) => Comi(c, i, D, signaling: true);

    public static void Ucomisd(X86Cpu c, in Instruction i) => Comi(c, i, D, signaling: false);

    public static void Rcpps(X86Cpu c, in Instruction i) => Approximate(c, i, squareRoot: false, packed: true);

    public static void Rcpss(X86Cpu c, in Instruction i) => Approximate(c, i, squareRoot: false, packed: false);

    public static void Rsqrtps(X86Cpu c, in Instruction i) => Approximate(c, i, squareRoot: true, packed: true);

    public static void Rsqrtss(X86Cpu c, in Instruction i) => Approximate(c, i, squareRoot: true, packed: false);

    public static void Roundps(X86Cpu c, in Instruction i) => Round(c, i, S, true);

    public static void Roundss(X86Cpu c, in Instruction i) => Round(c, i, S, false);

    public static void Roundpd(X86Cpu c, in Instruction i) => Round(c, i, D, true);

    public static void Roundsd(X86Cpu c, in Instruction i) => Round(c, i, D, false);

    /// <summary>One lane of <paramref name="op"/>; the first operand is the destination's lane.</summary>
    public static ulong Apply(Op op, FloatFormat f, ulong a, ulong b, ref FpEnv env) => op switch
    {
        Op.Add => SoftFloat.Add(f, a, b, ref env),
        Op.Sub => SoftFloat.Sub(f, a, b, ref env),
        Op.Mul => SoftFloat.Mul(f, a, b, ref env),
        Op.Div => SoftFloat.Div(f, a, b, ref env),
        Op.Min => SoftFloat.MinMax(f, a, b, max: false, ref env),
        _ => SoftFloat.MinMax(f, a, b, max: true, ref env),
    };

    private static int Lanes(FloatFormat f, bool packed) => packed ? 128 / f.Width : 1;

    /// <summary>The destination register, its value, operand 1 and the environment, or false after a fault.</summary>
    private static bool Begin(X86Cpu c, in Instruction i, out int d, out Vec128 dst, out Vec128 src, out FpEnv env)
    {
        d = X86Cpu.XmmIndex(i.Op0Register);
        dst = default;
        env = default;
        src = default;
        if (!c.SimdAvailable(i) || !c.ReadXmmOperand(i, 1, out src))
        {
            return false;
        }

        dst = c.GetXmm(d);
        env = FpEnv.FromMxcsr(c.S.Vector.Mxcsr);
        return true;
    }

    private static void Finish(X86Cpu c, int d, Vec128 result, in FpEnv env)
    {
        if (c.CommitSimdFlags(env.Flags))
        {
            c.WriteXmm(d, result);
        }
    }

    private static void Binary(X86Cpu c, in Instruction i, Op op, FloatFormat f, bool packed)
    {
        if (!Begin(c, i, out int d, out Vec128 dst, out Vec128 src, out FpEnv env))
        {
            return;
        }

        Vec128 result = dst;
        for (int k = 0; k < Lanes(f, packed); k++)
        {
            result.SetLane(f, k, Apply(op, f, dst.GetLane(f, k), src.GetLane(f, k), ref env));
        }

        Finish(c, d, result, env);
    }

    private static void Sqrt(X86Cpu c, in Instruction i, FloatFormat f, bool packed)
    {
        if (!Begin(c, i, out int d, out Vec128 dst, out Vec128 src, out FpEnv env))
        {
            return;
        }

        Vec128 result = dst;
        for (int k = 0; k < Lanes(f, packed); k++)
        {
            result.SetLane(f, k, SoftFloat.Sqrt(f, src.GetLane(f, k), ref env));
        }

        Finish(c, d, result, env);
    }

    /// <summary>
    /// CMPPS/CMPSS/CMPPD/CMPSD with the eight predicates of imm8[2:0] (SDM Vol. 2 CMPPS, table 3-1):
    /// EQ, LT, LE, UNORD, NEQ, NLT, NLE, ORD. LT, LE, NLT and NLE signal on QNaNs. Lanes become all ones or zeros.
    /// </summary>
    private static void Cmp(X86Cpu c, in Instruction i, FloatFormat f, bool packed)
    {
        if (!Begin(c, i, out int d, out Vec128 dst, out Vec128 src, out FpEnv env))
        {
            return;
        }

        int predicate = i.Immediate8 & 7;
        bool signaling = predicate is 1 or 2 or 5 or 6;
        ulong ones = f.Width == 32 ? 0xFFFF_FFFFUL : ulong.MaxValue;
        Vec128 result = dst;
        for (int k = 0; k < Lanes(f, packed); k++)
        {
            var order = SoftFloat.Compare(f, dst.GetLane(f, k), src.GetLane(f, k), signaling, ref env);
            result.SetLane(f, k, Predicate(predicate, order) ? ones : 0);
        }

        Finish(c, d, result, env);
    }

    public static bool Predicate(int predicate, SoftFloat.Ordering order) => predicate switch
    {
        0 => order == SoftFloat.Ordering.Equal,
        1 => order == SoftFloat.Ordering.Less,
        2 => order is SoftFloat.Ordering.Less or SoftFloat.Ordering.Equal,
        3 => order == SoftFloat.Ordering.Unordered,
        4 => order != SoftFloat.Ordering.Equal,
        5 => order != SoftFloat.Ordering.Less,
        6 => order is not (SoftFloat.Ordering.Less or SoftFloat.Ordering.Equal),
        _ => order != SoftFloat.Ordering.Unordered,
    };

    /// <summary>
    /// COMISS/UCOMISS/COMISD/UCOMISD (SDM Vol. 2): ZF, PF, CF = 111 unordered, 000 greater, 001 less,
    /// 100 equal; OF, SF and AF cleared. COMIS* signal IE on any NaN, UCOMIS* only on an SNaN.
    /// </summary>
    private static void Comi(X86Cpu c, in Instruction i, FloatFormat f, bool signaling)
    {
        if (!Begin(c, i, out _, out Vec128 dst, out Vec128 src, out FpEnv env))
        {
            return;
        }

        var order = SoftFloat.Compare(f, dst.GetLane(f, 0), src.GetLane(f, 0), signaling, ref env);
        if (!c.CommitSimdFlags(env.Flags))
        {
            return;
        }

        SetComparisonFlags(c, order);
    }

    /// <summary>The (U)COMIS* result in RFLAGS: ZF, PF, CF = 111 unordered, 000 greater, 001 less, 100 equal; OF, SF, AF cleared.</summary>
    public static void SetComparisonFlags(X86Cpu c, SoftFloat.Ordering order)
    {
        ulong flags = order switch
        {
            SoftFloat.Ordering.Unordered => Flags.ZF | Flags.PF | Flags.CF,
            SoftFloat.Ordering.Less => Flags.CF,
            SoftFloat.Ordering.Equal => Flags.ZF,
            _ => 0,
        };
        c.S.Rflags = (c.S.Rflags & ~Flags.Arith) | flags;
    }

    /// <summary>RCPPS/RCPSS/RSQRTPS/RSQRTSS: approximations that neither read nor change MXCSR (<see cref="SoftFloat.Reciprocal"/>).</summary>
    private static void Approximate(X86Cpu c, in Instruction i, bool squareRoot, bool packed)
    {
        if (!Begin(c, i, out int d, out Vec128 dst, out Vec128 src, out _))
        {
            return;
        }

        Vec128 result = dst;
        for (int k = 0; k < (packed ? 4 : 1); k++)
        {
            result.SetDword(k, SoftFloat.Reciprocal(src.GetDword(k), squareRoot));
        }

        c.WriteXmm(d, result);
    }

    /// <summary>
    /// ROUNDPS/ROUNDSS/ROUNDPD/ROUNDSD (SDM Vol. 2 ROUNDPS, table 4-18): imm8[1:0] is the rounding
    /// mode unless imm8[2] selects MXCSR.RC; imm8[3] suppresses the precision exception.
    /// </summary>
    private static void Round(X86Cpu c, in Instruction i, FloatFormat f, bool packed)
    {
        if (!Begin(c, i, out int d, out Vec128 dst, out Vec128 src, out FpEnv env))
        {
            return;
        }

        int imm = i.Immediate8;
        RoundingMode mode = (imm & 4) != 0 ? env.Rounding : (RoundingMode)(imm & 3);
        Vec128 result = dst;
        for (int k = 0; k < Lanes(f, packed); k++)
        {
            result.SetLane(f, k, SoftFloat.RoundToIntegral(f, src.GetLane(f, k), mode, (imm & 8) != 0, ref env));
        }

        Finish(c, d, result, env);
    }

    /// <summary>ADDSUBPS/ADDSUBPD (SSE3, SDM Vol. 2): even lanes subtract, odd lanes add.</summary>
    public static void Addsubps(X86Cpu c, in Instruction i) => AddSub(c, i, S);

    public static void Addsubpd(X86Cpu c, in Instruction i) => AddSub(c, i, D);

    private static void AddSub(X86Cpu c, in Instruction i, FloatFormat f)
    {
        if (!Begin(c, i, out int d, out Vec128 dst, out Vec128 src, out FpEnv env))
        {
            return;
        }

        Vec128 result = dst;
        for (int k = 0; k < Lanes(f, true); k++)
        {
            result.SetLane(f, k, Apply((k & 1) == 0 ? Op.Sub : Op.Add, f, dst.GetLane(f, k), src.GetLane(f, k), ref env));
        }

        Finish(c, d, result, env);
    }

    public static void Haddps(X86Cpu c, in Instruction i) => Horizontal(c, i, S, Op.Add);

    public static void Haddpd(X86Cpu c, in Instruction i) => Horizontal(c, i, D, Op.Add);

    public static void Hsubps(X86Cpu c, in Instruction i) => Horizontal(c, i, S, Op.Sub);

    public static void Hsubpd(X86Cpu c, in Instruction i) => Horizontal(c, i, D, Op.Sub);

    /// <summary>HADDPS/HSUBPS/HADDPD/HSUBPD (SSE3): the low half of the result pairs the destination's lanes, the high half the source's.</summary>
    private static void Horizontal(X86Cpu c, in Instruction i, FloatFormat f, Op op)
    {
        if (!Begin(c, i, out int d, out Vec128 dst, out Vec128 src, out FpEnv env))
        {
            return;
        }

        int lanes = Lanes(f, true);
        Vec128 result = default;
        for (int k = 0; k < lanes; k++)
        {
            Vec128 from = k < lanes / 2 ? dst : src;
            int pair = 2 * (k % (lanes / 2));
            result.SetLane(f, k, Apply(op, f, from.GetLane(f, pair), from.GetLane(f, pair + 1), ref env));
        }

        Finish(c, d, result, env);
    }

    /// <summary>
    /// DPPS (SSE4.1, SDM Vol. 2): products of the lanes selected by imm8[7:4] (others +0.0), summed
    /// as (p0 + p1) + (p2 + p3), each step rounded; the sum goes to the lanes selected by imm8[3:0].
    /// </summary>
    public static void Dpps(X86Cpu c, in Instruction i)
    {
        if (!Begin(c, i, out int d, out Vec128 dst, out Vec128 src, out FpEnv env))
        {
            return;
        }

        int imm = i.Immediate8;
        Span<ulong> p = stackalloc ulong[4];
        for (int k = 0; k < 4; k++)
        {
            p[k] = (imm & (0x10 << k)) != 0 ? SoftFloat.Mul(S, dst.GetDword(k), src.GetDword(k), ref env) : 0;
        }

        // The steps run one after the other: an unmasked exception stops at its step, and the
        // flags of the steps before it stay set (AvxFloat.NextStep, checked on hardware).
        uint done = 0;
        ulong sum = 0;
        if (AvxFloat.NextStep(c, ref env, ref done))
        {
            ulong low = SoftFloat.Add(S, p[0], p[1], ref env);
            ulong high = SoftFloat.Add(S, p[2], p[3], ref env);
            if (AvxFloat.NextStep(c, ref env, ref done))
            {
                sum = SoftFloat.Add(S, low, high, ref env);
            }
        }

        c.S.Vector.Mxcsr |= done;
        Vec128 result = default;
        for (int k = 0; k < 4; k++)
        {
            result.SetDword(k, (imm & (1 << k)) != 0 ? (uint)sum : 0);
        }

        Finish(c, d, result, env);
    }

    /// <summary>DPPD (SSE4.1): as DPPS with two lanes, imm8[5:4] selecting products and imm8[1:0] the destination lanes.</summary>
    public static void Dppd(X86Cpu c, in Instruction i)
    {
        if (!Begin(c, i, out int d, out Vec128 dst, out Vec128 src, out FpEnv env))
        {
            return;
        }

        int imm = i.Immediate8;
        ulong p0 = (imm & 0x10) != 0 ? SoftFloat.Mul(D, dst.Lo, src.Lo, ref env) : 0;
        ulong p1 = (imm & 0x20) != 0 ? SoftFloat.Mul(D, dst.Hi, src.Hi, ref env) : 0;
        uint done = 0;
        ulong sum = AvxFloat.NextStep(c, ref env, ref done) ? SoftFloat.Add(D, p0, p1, ref env) : 0;
        c.S.Vector.Mxcsr |= done;
        Finish(c, d, new Vec128((imm & 1) != 0 ? sum : 0, (imm & 2) != 0 ? sum : 0), env);
    }
}
