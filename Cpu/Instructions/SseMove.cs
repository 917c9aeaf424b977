using Emulator.Cpu.Simd;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// SSE/SSE2/SSE3/SSE4.1 floating-point data movement, logic, shuffles and blends (SDM Vol. 1
/// 10.4.1, 10.4.3-10.4.5, 11.4.1; each instruction in Vol. 2). None of these touch MXCSR. Moves
/// between registers keep YMM bits 255:128 (legacy SSE).
/// </summary>
public static class SseMove
{
    /// <summary>MOVAPS/MOVAPD/MOVUPS/MOVUPD/MOVNTPS/MOVNTPD/LDDQU: a full 16-byte move; the A and NT forms need 16-byte alignment.</summary>
    public static void Move128(X86Cpu c, in Instruction i)
    {
        bool unaligned = i.Mnemonic is Mnemonic.Movups or Mnemonic.Movupd or Mnemonic.Lddqu;
        if (!c.SimdAvailable(i) || !c.ReadXmmOperand(i, 1, out Vec128 value, unaligned))
        {
            return;
        }

        if (i.Op0Kind == OpKind.Register)
        {
            c.WriteXmm(X86Cpu.XmmIndex(i.Op0Register), value);
        }
        else
        {
            c.WriteMemory128(i, value, unaligned);
        }
    }

    /// <summary>
    /// MOVSS/MOVSD (SSE forms): register to register moves lane 0 only; a load zeroes the rest of
    /// the register; a store writes 4 or 8 bytes.
    /// </summary>
    public static void MoveScalar(X86Cpu c, in Instruction i)
    {
        bool single = i.Mnemonic == Mnemonic.Movss;
        if (!c.SimdAvailable(i) || !c.ReadXmmOperand(i, 1, out Vec128 value))
        {
            return;
        }

        if (i.Op0Kind == OpKind.Memory)
        {
            c.Write(X86Cpu.MemorySegment(i), c.EffectiveAddress(i), single ? 4 : 8, single ? value.Lo & 0xFFFF_FFFF : value.Lo);
            return;
        }

        int d = X86Cpu.XmmIndex(i.Op0Register);
        Vec128 result = i.Op1Kind == OpKind.Memory ? default : c.GetXmm(d);
        if (single)
        {
            result.SetDword(0, value.GetDword(0));
        }
        else
        {
            result.Lo = value.Lo;
        }

        c.WriteXmm(d, result);
    }

    /// <summary>
    /// MOVLPS/MOVLPD/MOVHPS/MOVHPD (one quadword between memory and the low or high half),
    /// MOVHLPS (high half of the source to the low half) and MOVLHPS (low to high).
    /// </summary>
    public static void MoveHalf(X86Cpu c, in Instruction i)
    {
        if (!c.SimdAvailable(i))
        {
            return;
        }

        bool high = i.Mnemonic is Mnemonic.Movhps or Mnemonic.Movhpd;
        if (i.Op0Kind == OpKind.Memory)
        {
            Vec128 source = c.GetXmm(X86Cpu.XmmIndex(i.Op1Register));
            c.Write(X86Cpu.MemorySegment(i), c.EffectiveAddress(i), 8, high ? source.Hi : source.Lo);
            return;
        }

        if (!c.ReadXmmOperand(i, 1, out Vec128 value))
        {
            return;
        }

        int d = X86Cpu.XmmIndex(i.Op0Register);
        Vec128 result = c.GetXmm(d);
        switch (i.Mnemonic)
        {
            case Mnemonic.Movhlps:
                result.Lo = value.Hi;
                break;
            case Mnemonic.Movlhps:
                result.Hi = value.Lo;
                break;
            default:
                if (high)
                {
                    result.Hi = value.Lo;
                }
                else
                {
                    result.Lo = value.Lo;
                }

                break;
        }

        c.WriteXmm(d, result);
    }

    /// <summary>MOVMSKPS/MOVMSKPD: the lane sign bits into a general register, zero-extended.</summary>
    public static void MoveMask(X86Cpu c, in Instruction i)
    {
        if (!c.SimdAvailable(i))
        {
            return;
        }

        Vec128 v = c.GetXmm(X86Cpu.XmmIndex(i.Op1Register));
        ulong mask = i.Mnemonic == Mnemonic.Movmskps
            ? ((v.Lo >> 31) & 1) | ((v.Lo >> 62) & 2) | (((v.Hi >> 31) & 1) << 2) | (((v.Hi >> 63) & 1) << 3)
            : (v.Lo >> 63) | ((v.Hi >> 63) << 1);
        c.SetReg(i.Op0Register, mask);
    }

    /// <summary>MOVSLDUP/MOVSHDUP (even or odd singles duplicated) and MOVDDUP (low double duplicated; its memory form reads 8 bytes).</summary>
    public static void Duplicate(X86Cpu c, in Instruction i)
    {
        if (!c.SimdAvailable(i) || !c.ReadXmmOperand(i, 1, out Vec128 v))
        {
            return;
        }

        Vec128 result = v;
        switch (i.Mnemonic)
        {
            case Mnemonic.Movsldup:
                result.SetDword(1, v.GetDword(0));
                result.SetDword(3, v.GetDword(2));
                break;
            case Mnemonic.Movshdup:
                result.SetDword(0, v.GetDword(1));
                result.SetDword(2, v.GetDword(3));
                break;
            default:
                result.Hi = v.Lo;
                break;
        }

        c.WriteXmm(X86Cpu.XmmIndex(i.Op0Register), result);
    }

    /// <summary>ANDPS/ANDNPS/ORPS/XORPS and the PD forms: bitwise, 128 bits (ANDN inverts the destination first).</summary>
    public static void Logic(X86Cpu c, in Instruction i)
    {
        if (!c.SimdAvailable(i) || !c.ReadXmmOperand(i, 1, out Vec128 s))
        {
            return;
        }

        int d = X86Cpu.XmmIndex(i.Op0Register);
        Vec128 a = c.GetXmm(d);
        Vec128 r = i.Mnemonic switch
        {
            Mnemonic.Andps or Mnemonic.Andpd => new Vec128(a.Lo & s.Lo, a.Hi & s.Hi),
            Mnemonic.Andnps or Mnemonic.Andnpd => new Vec128(~a.Lo & s.Lo, ~a.Hi & s.Hi),
            Mnemonic.Orps or Mnemonic.Orpd => new Vec128(a.Lo | s.Lo, a.Hi | s.Hi),
            _ => new Vec128(a.Lo ^ s.Lo, a.Hi ^ s.Hi),
        };
        c.WriteXmm(d, r);
    }

    /// <summary>
    /// SHUFPS (two destination singles then two source singles, chosen by imm8 in 2-bit fields),
    /// SHUFPD (imm8 bit 0 picks the destination double, bit 1 the source double), and the
    /// UNPCKLPS/UNPCKHPS/UNPCKLPD/UNPCKHPD interleaves.
    /// </summary>
    public static void Shuffle(X86Cpu c, in Instruction i)
    {
        if (!c.SimdAvailable(i) || !c.ReadXmmOperand(i, 1, out Vec128 s))
        {
            return;
        }

        int d = X86Cpu.XmmIndex(i.Op0Register);
        Vec128 a = c.GetXmm(d);
        Vec128 r = default;
        switch (i.Mnemonic)
        {
            case Mnemonic.Shufps:
                int imm = i.Immediate8;
                r.SetDword(0, a.GetDword(imm & 3));
                r.SetDword(1, a.GetDword((imm >> 2) & 3));
                r.SetDword(2, s.GetDword((imm >> 4) & 3));
                r.SetDword(3, s.GetDword((imm >> 6) & 3));
                break;
            case Mnemonic.Shufpd:
                r = new Vec128(a.GetQword(i.Immediate8 & 1), s.GetQword((i.Immediate8 >> 1) & 1));
                break;
            case Mnemonic.Unpcklps:
                r.SetDword(0, a.GetDword(0));
                r.SetDword(1, s.GetDword(0));
                r.SetDword(2, a.GetDword(1));
                r.SetDword(3, s.GetDword(1));
                break;
            case Mnemonic.Unpckhps:
                r.SetDword(0, a.GetDword(2));
                r.SetDword(1, s.GetDword(2));
                r.SetDword(2, a.GetDword(3));
                r.SetDword(3, s.GetDword(3));
                break;
            case Mnemonic.Unpcklpd:
                r = new Vec128(a.Lo, s.Lo);
                break;
            default:
                r = new Vec128(a.Hi, s.Hi);
                break;
        }

        c.WriteXmm(d, r);
    }

    /// <summary>
    /// BLENDPS/BLENDPD (imm8 bit k takes lane k from the source) and BLENDVPS/BLENDVPD (the sign
    /// bit of lane k of the implicit XMM0 does), SSE4.1.
    /// </summary>
    public static void Blend(X86Cpu c, in Instruction i)
    {
        if (!c.SimdAvailable(i) || !c.ReadXmmOperand(i, 1, out Vec128 s))
        {
            return;
        }

        int d = X86Cpu.XmmIndex(i.Op0Register);
        Vec128 r = c.GetXmm(d);
        Vec128 mask = c.GetXmm(0);
        FloatFormat f = i.Mnemonic is Mnemonic.Blendps or Mnemonic.Blendvps ? FloatFormat.Single : FloatFormat.Double;
        bool variable = i.Mnemonic is Mnemonic.Blendvps or Mnemonic.Blendvpd;
        for (int k = 0; k < 128 / f.Width; k++)
        {
            bool take = variable ? (mask.GetLane(f, k) & f.SignBit) != 0 : (i.Immediate8 & (1 << k)) != 0;
            if (take)
            {
                r.SetLane(f, k, s.GetLane(f, k));
            }
        }

        c.WriteXmm(d, r);
    }

    /// <summary>
    /// INSERTPS (SSE4.1): a single (source lane imm8[7:6], or the 32-bit memory operand) goes to
    /// destination lane imm8[5:4], then lanes set in imm8[3:0] are zeroed.
    /// </summary>
    public static void Insertps(X86Cpu c, in Instruction i)
    {
        if (!c.SimdAvailable(i) || !c.ReadXmmOperand(i, 1, out Vec128 s))
        {
            return;
        }

        int imm = i.Immediate8;
        uint value = i.Op1Kind == OpKind.Register ? s.GetDword((imm >> 6) & 3) : s.GetDword(0);
        int d = X86Cpu.XmmIndex(i.Op0Register);
        Vec128 r = c.GetXmm(d);
        r.SetDword((imm >> 4) & 3, value);
        for (int k = 0; k < 4; k++)
        {
            if ((imm & (1 << k)) != 0)
            {
                r.SetDword(k, 0);
            }
        }

        c.WriteXmm(d, r);
    }

    /// <summary>EXTRACTPS (SSE4.1): single lane imm8[1:0] to a 32-bit memory operand or a general register (zero-extended).</summary>
    public static void Extractps(X86Cpu c, in Instruction i)
    {
        if (!c.SimdAvailable(i))
        {
            return;
        }

        uint value = c.GetXmm(X86Cpu.XmmIndex(i.Op1Register)).GetDword(i.Immediate8 & 3);
        if (i.Op0Kind == OpKind.Register)
        {
            c.SetReg(i.Op0Register, value);
        }
        else
        {
            c.Write(X86Cpu.MemorySegment(i), c.EffectiveAddress(i), 4, value);
        }
    }

    /// <summary>MOVNTI (SSE2): a non-temporal store of a general register; to this emulator an ordinary store.</summary>
    public static void Movnti(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 1);
        c.WriteOperand(i, 0, size, c.GetReg(i.Op1Register));
    }

    /// <summary>
    /// SFENCE/LFENCE/MFENCE and the PREFETCHh hints: one vCPU executes in order and has no cache
    /// to model, so these are no-ops (SDM Vol. 2; a prefetch never faults).
    /// </summary>
    public static void Fence(X86Cpu c, in Instruction i)
    {
    }

    /// <summary>CLFLUSH (SDM Vol. 2): no cache to flush, but the byte operand is checked like a read (segment and paging faults).</summary>
    public static void Clflush(X86Cpu c, in Instruction i)
    {
        c.Read(X86Cpu.MemorySegment(i), c.EffectiveAddress(i), 1, out _);
    }
}
