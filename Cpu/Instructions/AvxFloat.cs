using Emulator.Cpu.Simd;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// The VEX.128 and VEX.256 forms of the SSE/SSE2/SSE3/SSE4.1 floating-point arithmetic (SDM
/// Vol. 2, one page per instruction; Vol. 1 14.1-14.3). Operands: 0 the destination, 1 the first
/// source (VEX.vvvv) and 2 the second (ModRM.rm, register or memory); the one-source forms
/// (VSQRTPS, VRCPPS, VROUNDPS, VCOMISS) read operand 1 alone. Scalar forms compute lane 0 and copy
/// the rest of bits 127:0 from operand 1. Every VEX.128 result clears bits 255:128; VEX.256
/// writes them. Lanes run through <see cref="SoftFloat"/> under MXCSR, and an unmasked exception
/// leaves the destination unchanged (<see cref="X86Cpu.CommitSimdFlags"/>).
/// </summary>
public static class AvxFloat
{
    private static FloatFormat S => FloatFormat.Single;

    private static FloatFormat D => FloatFormat.Double;

    /// <summary>Lane <paramref name="k"/> of <paramref name="v"/> in format <paramref name="f"/> (32-bit lanes zero-extended).</summary>
    public static ulong Lane(in YmmRegister v, FloatFormat f, int k) => f.Width == 32 ? (uint)(v[k >> 1] >> (32 * (k & 1))) : v[k];

    /// <summary>Sets lane <paramref name="k"/> of <paramref name="v"/> in format <paramref name="f"/>.</summary>
    public static void SetLane(ref YmmRegister v, FloatFormat f, int k, ulong value)
    {
        if (f.Width == 32)
        {
            int shift = 32 * (k & 1);
            v[k >> 1] = (v[k >> 1] & ~(0xFFFF_FFFFUL << shift)) | ((value & 0xFFFF_FFFF) << shift);
        }
        else
        {
            v[k] = value;
        }
    }

    /// <summary>The vector width in bytes of an instruction whose destination (or, for a store, source) is an XMM or YMM register.</summary>
    public static int Width(in Instruction i)
    {
        for (int n = 0; n < i.OpCount; n++)
        {
            if (i.GetOpKind(n) == OpKind.Register && i.GetOpRegister(n).IsYMM())
            {
                return 32;
            }
        }

        return 16;
    }

    /// <summary>The lane format named by the last letter of the mnemonic (…PS/…SS single, …PD/…SD double).</summary>
    public static FloatFormat FormatOf(Mnemonic m) => m.ToString()[^1] == 's' ? S : D;

    private static bool IsScalar(Mnemonic m)
    {
        string name = m.ToString();
        return name[^2] == 's' && name[^1] is 's' or 'd';
    }

    /// <summary>
    /// The availability checks, then the sources: <paramref name="a"/> is operand 1 when the
    /// instruction has two vector sources (else zero), <paramref name="b"/> the ModRM.rm operand.
    /// </summary>
    internal static bool Sources(X86Cpu c, in Instruction i, out YmmRegister a, out YmmRegister b, out FpEnv env)
    {
        a = default;
        b = default;
        env = default;
        int last = LastVectorOperand(i);
        if (!c.AvxAvailable(i) || !c.ReadVectorOperand(i, last, out b))
        {
            return false;
        }

        if (last >= 2)
        {
            c.ReadVectorRegister(i.Op1Register, out a);
        }

        env = FpEnv.FromMxcsr(c.S.Vector.Mxcsr);
        return true;
    }

    /// <summary>The index of the ModRM.rm source: the last operand that is not an immediate (nor VBLENDV's is4 register).</summary>
    private static int LastVectorOperand(in Instruction i)
    {
        int n = i.OpCount - 1;
        while (n > 1 && (i.GetOpKind(n) != OpKind.Register && i.GetOpKind(n) != OpKind.Memory))
        {
            n--;
        }

        if (i.Mnemonic is Mnemonic.Vblendvps or Mnemonic.Vblendvpd && n == 3)
        {
            n--;
        }

        return n;
    }

    /// <summary>Commits the MXCSR flags of <paramref name="env"/> and, unless an unmasked exception faulted, writes the destination register (VEX: bits above the width cleared).</summary>
    internal static void Finish(X86Cpu c, in Instruction i, in YmmRegister result, in FpEnv env)
    {
        if (c.CommitSimdFlags(env.Flags))
        {
            c.WriteVectorRegister(i.Op0Register, result, vex: true);
        }
    }

    private static SseFloat.Op OpOf(Mnemonic legacy) => legacy switch
    {
        Mnemonic.Addps or Mnemonic.Addpd or Mnemonic.Addss or Mnemonic.Addsd => SseFloat.Op.Add,
        Mnemonic.Subps or Mnemonic.Subpd or Mnemonic.Subss or Mnemonic.Subsd => SseFloat.Op.Sub,
        Mnemonic.Mulps or Mnemonic.Mulpd or Mnemonic.Mulss or Mnemonic.Mulsd => SseFloat.Op.Mul,
        Mnemonic.Divps or Mnemonic.Divpd or Mnemonic.Divss or Mnemonic.Divsd => SseFloat.Op.Div,
        Mnemonic.Minps or Mnemonic.Minpd or Mnemonic.Minss or Mnemonic.Minsd => SseFloat.Op.Min,
        _ => SseFloat.Op.Max,
    };

    /// <summary>VADD/VSUB/VMUL/VDIV/VMIN/VMAX PS/PD/SS/SD: lane k = operand 1 lane k (op) operand 2 lane k.</summary>
    public static void Binary(X86Cpu c, in Instruction i)
    {
        if (!Sources(c, i, out YmmRegister a, out YmmRegister b, out FpEnv env))
        {
            return;
        }

        FloatFormat f = FormatOf(i.Mnemonic);
        var op = OpOf(SimdInteger.Legacy(i.Mnemonic));
        int lanes = IsScalar(i.Mnemonic) ? 1 : Width(i) * 8 / f.Width;
        YmmRegister r = a;
        for (int k = 0; k < lanes; k++)
        {
            SetLane(ref r, f, k, SseFloat.Apply(op, f, Lane(a, f, k), Lane(b, f, k), ref env));
        }

        Finish(c, i, r, env);
    }

    /// <summary>
    /// VSQRTPS/PD/SS/SD, VRCPPS/SS, VRSQRTPS/SS, VROUNDPS/PD/SS/SD: a function of one lane. The
    /// scalar forms take lane 0 of operand 2 and the rest of operand 1. VRCP and VRSQRT neither
    /// read nor change MXCSR; VROUND's imm8[1:0] is the rounding mode unless imm8[2] selects
    /// MXCSR.RC, and imm8[3] suppresses PE (SDM Vol. 2 ROUNDPS, table 4-18).
    /// </summary>
    public static void Unary(X86Cpu c, in Instruction i)
    {
        if (!Sources(c, i, out YmmRegister a, out YmmRegister b, out FpEnv env))
        {
            return;
        }

        Mnemonic legacy = SimdInteger.Legacy(i.Mnemonic);
        FloatFormat f = FormatOf(i.Mnemonic);
        bool scalar = IsScalar(i.Mnemonic);
        int lanes = scalar ? 1 : Width(i) * 8 / f.Width;
        int imm = SimdInteger.Imm(i);
        RoundingMode mode = (imm & 4) != 0 ? env.Rounding : (RoundingMode)(imm & 3);
        YmmRegister r = scalar ? a : default;
        for (int k = 0; k < lanes; k++)
        {
            ulong x = Lane(b, f, k);
            ulong value = legacy switch
            {
                Mnemonic.Rcpps or Mnemonic.Rcpss => SoftFloat.Reciprocal((uint)x, squareRoot: false),
                Mnemonic.Rsqrtps or Mnemonic.Rsqrtss => SoftFloat.Reciprocal((uint)x, squareRoot: true),
                Mnemonic.Roundps or Mnemonic.Roundpd or Mnemonic.Roundss or Mnemonic.Roundsd =>
                    SoftFloat.RoundToIntegral(f, x, mode, (imm & 8) != 0, ref env),
                _ => SoftFloat.Sqrt(f, x, ref env),
            };
            SetLane(ref r, f, k, value);
        }

        Finish(c, i, r, env);
    }

    /// <summary>
    /// The 32 predicates of VCMPPS/PD/SS/SD imm8[4:0] (SDM Vol. 2 CMPPS, table 3-1). Bits 3:0 pick
    /// the relation; bit 4 flips signalling (OS/US) and quiet (OQ/UQ). A signalling predicate
    /// raises IE on any NaN, a quiet one only on an SNaN.
    /// </summary>
    public static bool Predicate(int predicate, SoftFloat.Ordering order)
    {
        bool less = order == SoftFloat.Ordering.Less, equal = order == SoftFloat.Ordering.Equal;
        bool greater = order == SoftFloat.Ordering.Greater, unordered = order == SoftFloat.Ordering.Unordered;
        return (predicate & 15) switch
        {
            0 => equal,
            1 => less,
            2 => less || equal,
            3 => unordered,
            4 => !equal,
            5 => !less,
            6 => !(less || equal),
            7 => !unordered,
            8 => equal || unordered,
            9 => less || unordered,
            10 => !greater,
            11 => false,
            12 => less || greater,
            13 => greater || equal,
            14 => greater,
            _ => true,
        };
    }

    /// <summary>True when compare predicate <paramref name="predicate"/> (0-31) signals on a QNaN.</summary>
    public static bool Signaling(int predicate) => ((predicate & 15) is 1 or 2 or 5 or 6 or 9 or 10 or 13 or 14) ^ (predicate >= 16);

    /// <summary>VCMPPS/VCMPPD/VCMPSS/VCMPSD: each lane becomes all ones when the predicate holds, else zero.</summary>
    public static void Compare(X86Cpu c, in Instruction i)
    {
        if (!Sources(c, i, out YmmRegister a, out YmmRegister b, out FpEnv env))
        {
            return;
        }

        FloatFormat f = FormatOf(i.Mnemonic);
        int lanes = IsScalar(i.Mnemonic) ? 1 : Width(i) * 8 / f.Width;
        int predicate = i.Immediate8 & 31;
        bool signaling = Signaling(predicate);
        ulong ones = f.Width == 32 ? 0xFFFF_FFFFUL : ulong.MaxValue;
        YmmRegister r = a;
        for (int k = 0; k < lanes; k++)
        {
            var order = SoftFloat.Compare(f, Lane(a, f, k), Lane(b, f, k), signaling, ref env);
            SetLane(ref r, f, k, Predicate(predicate, order) ? ones : 0);
        }

        Finish(c, i, r, env);
    }

    /// <summary>VCOMISS/VUCOMISS/VCOMISD/VUCOMISD: ZF, PF, CF from the order of operand 0 and operand 1, as the legacy forms.</summary>
    public static void CompareFlags(X86Cpu c, in Instruction i)
    {
        if (!c.AvxAvailable(i) || !c.ReadVectorOperand(i, 1, out YmmRegister b))
        {
            return;
        }

        c.ReadVectorRegister(i.Op0Register, out YmmRegister a);
        var env = FpEnv.FromMxcsr(c.S.Vector.Mxcsr);
        FloatFormat f = FormatOf(i.Mnemonic);
        bool signaling = i.Mnemonic is Mnemonic.Vcomiss or Mnemonic.Vcomisd;
        var order = SoftFloat.Compare(f, Lane(a, f, 0), Lane(b, f, 0), signaling, ref env);
        if (!c.CommitSimdFlags(env.Flags))
        {
            return;
        }

        SseFloat.SetComparisonFlags(c, order);
    }

    /// <summary>
    /// VADDSUBPS/PD (even lanes subtract, odd add) and VHADDPS/PD, VHSUBPS/PD (SDM Vol. 2 HADDPS):
    /// in each 128-bit lane the low half pairs operand 1's elements, the high half operand 2's.
    /// </summary>
    public static void Horizontal(X86Cpu c, in Instruction i)
    {
        if (!Sources(c, i, out YmmRegister a, out YmmRegister b, out FpEnv env))
        {
            return;
        }

        FloatFormat f = FormatOf(i.Mnemonic);
        Mnemonic legacy = SimdInteger.Legacy(i.Mnemonic);
        int perLane = 128 / f.Width;
        int lanes = Width(i) * 8 / f.Width;
        YmmRegister r = default;
        for (int k = 0; k < lanes; k++)
        {
            ulong value;
            if (legacy is Mnemonic.Addsubps or Mnemonic.Addsubpd)
            {
                value = SseFloat.Apply((k & 1) == 0 ? SseFloat.Op.Sub : SseFloat.Op.Add, f, Lane(a, f, k), Lane(b, f, k), ref env);
            }
            else
            {
                int base128 = k / perLane * perLane;
                int within = k % perLane;
                ref YmmRegister from = ref within < perLane / 2 ? ref a : ref b;
                int pair = base128 + (2 * (within % (perLane / 2)));
                var op = legacy is Mnemonic.Haddps or Mnemonic.Haddpd ? SseFloat.Op.Add : SseFloat.Op.Sub;
                value = SseFloat.Apply(op, f, Lane(from, f, pair), Lane(from, f, pair + 1), ref env);
            }

            SetLane(ref r, f, k, value);
        }

        Finish(c, i, r, env);
    }

    /// <summary>True when <paramref name="env"/> holds a flag MXCSR leaves unmasked: a multi-step instruction stops at that step.</summary>
    internal static bool Unmasked(X86Cpu c, in FpEnv env) => (env.Flags & ~(c.S.Vector.Mxcsr >> Mxcsr.MaskShift) & Mxcsr.FlagBits) != 0;

    /// <summary>
    /// Ends one step of a multi-step instruction: true (go on) when no flag it raised is
    /// unmasked; then its flags move to <paramref name="done"/>, where the pre-computation rule
    /// of a later step cannot drop them (checked on hardware).
    /// </summary>
    internal static bool NextStep(X86Cpu c, ref FpEnv env, ref uint done)
    {
        if (Unmasked(c, env))
        {
            return false;
        }

        done |= env.Flags;
        env.Flags = 0;
        return true;
    }

    /// <summary>
    /// VDPPS (each 128-bit lane on its own, SDM Vol. 2 DPPS: products selected by imm8[7:4], summed
    /// (p0 + p1) + (p2 + p3), stored where imm8[3:0] says) and VDPPD (128-bit only). The steps run
    /// one after the other, products, pair sums, total: an unmasked exception in one step faults
    /// there, and the flags of the steps before it stay set (checked on hardware).
    /// </summary>
    public static void DotProduct(X86Cpu c, in Instruction i)
    {
        if (!Sources(c, i, out YmmRegister a, out YmmRegister b, out FpEnv env))
        {
            return;
        }

        int imm = i.Immediate8;
        uint done = 0;
        YmmRegister r = default;
        if (i.Mnemonic == Mnemonic.Vdppd)
        {
            ulong p0 = (imm & 0x10) != 0 ? SoftFloat.Mul(D, a[0], b[0], ref env) : 0;
            ulong p1 = (imm & 0x20) != 0 ? SoftFloat.Mul(D, a[1], b[1], ref env) : 0;
            if (NextStep(c, ref env, ref done))
            {
                ulong sum = SoftFloat.Add(D, p0, p1, ref env);
                r[0] = (imm & 1) != 0 ? sum : 0;
                r[1] = (imm & 2) != 0 ? sum : 0;
            }

            c.S.Vector.Mxcsr |= done;
            Finish(c, i, r, env);
            return;
        }

        int lanes = Width(i) / 16;
        Span<ulong> p = stackalloc ulong[8];
        for (int n = 0; n < 4 * lanes; n++)
        {
            p[n] = (imm & (0x10 << (n & 3))) != 0 ? SoftFloat.Mul(S, Lane(a, S, n), Lane(b, S, n), ref env) : 0;
        }

        if (NextStep(c, ref env, ref done))
        {
            Span<ulong> pairs = stackalloc ulong[4];
            for (int n = 0; n < 2 * lanes; n++)
            {
                pairs[n] = SoftFloat.Add(S, p[2 * n], p[(2 * n) + 1], ref env);
            }

            for (int lane = 0; lane < lanes && NextStep(c, ref env, ref done); lane++)
            {
                ulong sum = SoftFloat.Add(S, pairs[2 * lane], pairs[(2 * lane) + 1], ref env);
                for (int k = 0; k < 4; k++)
                {
                    SetLane(ref r, S, (4 * lane) + k, (imm & (1 << k)) != 0 ? sum : 0);
                }
            }
        }

        c.S.Vector.Mxcsr |= done;
        Finish(c, i, r, env);
    }
}
