using Emulator.Cpu.Simd;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// The VEX forms of the SSE floating-point moves, logic, shuffles and blends (SDM Vol. 2, one page
/// per instruction). None touches MXCSR. Operands: 0 the destination, 1 the first source
/// (VEX.vvvv) and 2 the ModRM.rm source; the 256-bit shuffles work on each 128-bit lane with the
/// same immediate (VSHUFPD and VBLENDPS/PD use one immediate bit per element). Register results of
/// VEX.128 forms clear bits 255:128.
/// </summary>
public static class AvxFloatMove
{
    private static FloatFormat S => FloatFormat.Single;

    private static FloatFormat D => FloatFormat.Double;

    /// <summary>
    /// VMOVAPS/VMOVAPD/VMOVUPS/VMOVUPD/VMOVNTPS/VMOVNTPD: 16 or 32 bytes between registers and
    /// memory; the A and NT forms need natural alignment (<see cref="X86Cpu.RequiredAlignment"/>).
    /// </summary>
    public static void Move(X86Cpu c, in Instruction i)
    {
        if (!c.AvxAvailable(i))
        {
            return;
        }

        if (i.Op0Kind == OpKind.Memory)
        {
            c.ReadVectorRegister(i.Op1Register, out YmmRegister data);
            c.WriteVectorMemory(i, AvxFloat.Width(i), data);
            return;
        }

        if (c.ReadVectorOperand(i, 1, out YmmRegister value))
        {
            c.WriteVectorRegister(i.Op0Register, value, vex: true);
        }
    }

    /// <summary>
    /// VMOVSS/VMOVSD: a load zeroes bits 255:32 (or 255:64); a store writes 4 or 8 bytes; the
    /// three-register form merges lane 0 of operand 2 into operand 1.
    /// </summary>
    public static void MoveScalar(X86Cpu c, in Instruction i)
    {
        if (!c.AvxAvailable(i))
        {
            return;
        }

        bool single = i.Mnemonic == Mnemonic.Vmovss;
        FloatFormat f = single ? S : D;
        if (i.Op0Kind == OpKind.Memory)
        {
            c.ReadVectorRegister(i.Op1Register, out YmmRegister data);
            c.Write(X86Cpu.MemorySegment(i), c.EffectiveAddress(i), single ? 4 : 8, AvxFloat.Lane(data, f, 0));
            return;
        }

        if (i.OpCount == 2)
        {
            if (c.ReadVectorOperand(i, 1, out YmmRegister loaded))
            {
                c.WriteVectorRegister(i.Op0Register, loaded, vex: true);
            }

            return;
        }

        c.ReadVectorRegister(i.Op1Register, out YmmRegister r);
        c.ReadVectorRegister(i.Op2Register, out YmmRegister b);
        AvxFloat.SetLane(ref r, f, 0, AvxFloat.Lane(b, f, 0));
        c.WriteVectorRegister(i.Op0Register, r, vex: true);
    }

    /// <summary>
    /// VMOVLPS/VMOVLPD/VMOVHPS/VMOVHPD (loads: the m64 replaces the low or high quadword of operand
    /// 1; stores: the low or high quadword of the register), VMOVHLPS (operand 2 high, operand 1
    /// high) and VMOVLHPS (operand 1 low, operand 2 low).
    /// </summary>
    public static void MoveHalf(X86Cpu c, in Instruction i)
    {
        if (!c.AvxAvailable(i))
        {
            return;
        }

        bool high = i.Mnemonic is Mnemonic.Vmovhps or Mnemonic.Vmovhpd;
        if (i.Op0Kind == OpKind.Memory)
        {
            c.ReadVectorRegister(i.Op1Register, out YmmRegister data);
            c.Write(X86Cpu.MemorySegment(i), c.EffectiveAddress(i), 8, high ? data[1] : data[0]);
            return;
        }

        if (!c.ReadVectorOperand(i, 2, out YmmRegister b))
        {
            return;
        }

        c.ReadVectorRegister(i.Op1Register, out YmmRegister a);
        YmmRegister r = default;
        switch (i.Mnemonic)
        {
            case Mnemonic.Vmovhlps:
                r[0] = b[1];
                r[1] = a[1];
                break;
            case Mnemonic.Vmovlhps:
                r[0] = a[0];
                r[1] = b[0];
                break;
            default:
                r[0] = high ? a[0] : b[0];
                r[1] = high ? b[0] : a[1];
                break;
        }

        c.WriteVectorRegister(i.Op0Register, r, vex: true);
    }

    /// <summary>VMOVMSKPS/VMOVMSKPD: the sign bit of every element (4 or 8 singles, 2 or 4 doubles) into a general register, zero-extended.</summary>
    public static void MoveMask(X86Cpu c, in Instruction i)
    {
        if (!c.AvxAvailable(i))
        {
            return;
        }

        c.ReadVectorRegister(i.Op1Register, out YmmRegister v);
        FloatFormat f = i.Mnemonic == Mnemonic.Vmovmskps ? S : D;
        ulong mask = 0;
        for (int k = 0; k < AvxFloat.Width(i) * 8 / f.Width; k++)
        {
            mask |= ((AvxFloat.Lane(v, f, k) >> (f.Width - 1)) & 1) << k;
        }

        c.SetReg(i.Op0Register, mask);
    }

    /// <summary>
    /// VMOVSLDUP/VMOVSHDUP (even or odd singles duplicated) and VMOVDDUP (even doubles duplicated;
    /// the 128-bit memory form reads 8 bytes), per 128-bit lane.
    /// </summary>
    public static void Duplicate(X86Cpu c, in Instruction i)
    {
        if (!c.AvxAvailable(i) || !c.ReadVectorOperand(i, 1, out YmmRegister v))
        {
            return;
        }

        YmmRegister r = default;
        int width = AvxFloat.Width(i);
        if (i.Mnemonic == Mnemonic.Vmovddup)
        {
            for (int k = 0; k < width / 8; k++)
            {
                r[k] = v[k & ~1];
            }
        }
        else
        {
            int odd = i.Mnemonic == Mnemonic.Vmovshdup ? 1 : 0;
            for (int k = 0; k < width / 4; k++)
            {
                AvxFloat.SetLane(ref r, S, k, AvxFloat.Lane(v, S, (k & ~1) | odd));
            }
        }

        c.WriteVectorRegister(i.Op0Register, r, vex: true);
    }

    /// <summary>VANDPS/VANDNPS/VORPS/VXORPS and the PD forms: bitwise over the width (ANDN inverts operand 1).</summary>
    public static void Logic(X86Cpu c, in Instruction i)
    {
        if (!c.AvxAvailable(i) || !c.ReadVectorOperand(i, 2, out YmmRegister b))
        {
            return;
        }

        c.ReadVectorRegister(i.Op1Register, out YmmRegister a);
        YmmRegister r = default;
        for (int k = 0; k < AvxFloat.Width(i) / 8; k++)
        {
            r[k] = i.Mnemonic switch
            {
                Mnemonic.Vandps or Mnemonic.Vandpd => a[k] & b[k],
                Mnemonic.Vandnps or Mnemonic.Vandnpd => ~a[k] & b[k],
                Mnemonic.Vorps or Mnemonic.Vorpd => a[k] | b[k],
                _ => a[k] ^ b[k],
            };
        }

        c.WriteVectorRegister(i.Op0Register, r, vex: true);
    }

    /// <summary>
    /// VSHUFPS (per 128-bit lane: two singles of operand 1 then two of operand 2, picked by the
    /// 2-bit fields of imm8), VSHUFPD (imm8 bit 2l picks operand 1's double of lane l, bit 2l+1
    /// operand 2's), and VUNPCKL/HPS/PD (the low or high halves of each lane interleaved).
    /// </summary>
    public static void Shuffle(X86Cpu c, in Instruction i)
    {
        if (!c.AvxAvailable(i) || !c.ReadVectorOperand(i, 2, out YmmRegister b))
        {
            return;
        }

        c.ReadVectorRegister(i.Op1Register, out YmmRegister a);
        YmmRegister r = default;
        int imm = SimdInteger.Imm(i);
        for (int lane = 0; lane < AvxFloat.Width(i) / 16; lane++)
        {
            int s0 = 4 * lane, q0 = 2 * lane;
            switch (i.Mnemonic)
            {
                case Mnemonic.Vshufps:
                    AvxFloat.SetLane(ref r, S, s0, AvxFloat.Lane(a, S, s0 + (imm & 3)));
                    AvxFloat.SetLane(ref r, S, s0 + 1, AvxFloat.Lane(a, S, s0 + ((imm >> 2) & 3)));
                    AvxFloat.SetLane(ref r, S, s0 + 2, AvxFloat.Lane(b, S, s0 + ((imm >> 4) & 3)));
                    AvxFloat.SetLane(ref r, S, s0 + 3, AvxFloat.Lane(b, S, s0 + ((imm >> 6) & 3)));
                    break;
                case Mnemonic.Vshufpd:
                    r[q0] = a[q0 + ((imm >> (2 * lane)) & 1)];
                    r[q0 + 1] = b[q0 + ((imm >> ((2 * lane) + 1)) & 1)];
                    break;
                case Mnemonic.Vunpcklps:
                case Mnemonic.Vunpckhps:
                    int from = s0 + (i.Mnemonic == Mnemonic.Vunpckhps ? 2 : 0);
                    AvxFloat.SetLane(ref r, S, s0, AvxFloat.Lane(a, S, from));
                    AvxFloat.SetLane(ref r, S, s0 + 1, AvxFloat.Lane(b, S, from));
                    AvxFloat.SetLane(ref r, S, s0 + 2, AvxFloat.Lane(a, S, from + 1));
                    AvxFloat.SetLane(ref r, S, s0 + 3, AvxFloat.Lane(b, S, from + 1));
                    break;
                default:
                    int half = i.Mnemonic == Mnemonic.Vunpckhpd ? 1 : 0;
                    r[q0] = a[q0 + half];
                    r[q0 + 1] = b[q0 + half];
                    break;
            }
        }

        c.WriteVectorRegister(i.Op0Register, r, vex: true);
    }

    /// <summary>
    /// VBLENDPS/VBLENDPD (imm8 bit k takes element k from operand 2, else operand 1) and
    /// VBLENDVPS/VBLENDVPD (the sign bit of element k of operand 3, a register, decides).
    /// </summary>
    public static void Blend(X86Cpu c, in Instruction i)
    {
        if (!c.AvxAvailable(i) || !c.ReadVectorOperand(i, 2, out YmmRegister b))
        {
            return;
        }

        c.ReadVectorRegister(i.Op1Register, out YmmRegister r);
        bool variable = i.Mnemonic is Mnemonic.Vblendvps or Mnemonic.Vblendvpd;
        YmmRegister mask = default;
        if (variable)
        {
            c.ReadVectorRegister(i.Op3Register, out mask);
        }

        FloatFormat f = i.Mnemonic is Mnemonic.Vblendps or Mnemonic.Vblendvps ? S : D;
        int imm = variable ? 0 : i.Immediate8;
        for (int k = 0; k < AvxFloat.Width(i) * 8 / f.Width; k++)
        {
            bool take = variable ? (AvxFloat.Lane(mask, f, k) & f.SignBit) != 0 : ((imm >> k) & 1) != 0;
            if (take)
            {
                AvxFloat.SetLane(ref r, f, k, AvxFloat.Lane(b, f, k));
            }
        }

        c.WriteVectorRegister(i.Op0Register, r, vex: true);
    }

    /// <summary>
    /// VINSERTPS: operand 1 with element imm8[5:4] replaced by operand 2's element imm8[7:6] (or
    /// the m32), then the elements set in imm8[3:0] zeroed.
    /// </summary>
    public static void Insertps(X86Cpu c, in Instruction i)
    {
        if (!c.AvxAvailable(i) || !c.ReadVectorOperand(i, 2, out YmmRegister b))
        {
            return;
        }

        c.ReadVectorRegister(i.Op1Register, out YmmRegister r);
        int imm = i.Immediate8;
        ulong value = AvxFloat.Lane(b, S, i.Op2Kind == OpKind.Register ? (imm >> 6) & 3 : 0);
        AvxFloat.SetLane(ref r, S, (imm >> 4) & 3, value);
        for (int k = 0; k < 4; k++)
        {
            if ((imm & (1 << k)) != 0)
            {
                AvxFloat.SetLane(ref r, S, k, 0);
            }
        }

        c.WriteVectorRegister(i.Op0Register, r, vex: true);
    }

    /// <summary>VEXTRACTPS: element imm8[1:0] to m32 or a general register (zero-extended).</summary>
    public static void Extractps(X86Cpu c, in Instruction i)
    {
        if (!c.AvxAvailable(i))
        {
            return;
        }

        c.ReadVectorRegister(i.Op1Register, out YmmRegister v);
        ulong value = AvxFloat.Lane(v, S, i.Immediate8 & 3);
        if (i.Op0Kind == OpKind.Register)
        {
            c.SetReg(i.Op0Register, value);
        }
        else
        {
            c.Write(X86Cpu.MemorySegment(i), c.EffectiveAddress(i), 4, value);
        }
    }
}
