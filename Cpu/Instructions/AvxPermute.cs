using System.Runtime.InteropServices;
using Emulator.Cpu.Simd;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// The AVX and AVX2 floating-point instructions with no legacy SSE twin (SDM Vol. 2, one page
/// each): broadcasts, in-lane and cross-lane permutes, masked moves, VTESTPS/PD, VZEROUPPER and
/// VZEROALL, and VLDMXCSR/VSTMXCSR. VINSERTF128, VEXTRACTF128 and VPERM2F128 share the handlers of
/// their integer twins in <see cref="Avx2Integer"/>.
/// </summary>
public static class AvxPermute
{
    private static FloatFormat S => FloatFormat.Single;

    /// <summary>VBROADCASTSS (m32 or, AVX2, xmm), VBROADCASTSD (m64 or xmm), VBROADCASTF128 (m128): the element into every element.</summary>
    public static void Broadcast(X86Cpu c, in Instruction i)
    {
        if (!c.AvxAvailable(i) || !c.ReadVectorOperand(i, 1, out YmmRegister source))
        {
            return;
        }

        int size = i.Mnemonic switch
        {
            Mnemonic.Vbroadcastss => 4,
            Mnemonic.Vbroadcastsd => 8,
            _ => 16,
        };
        YmmRegister r = default;
        var from = X86Cpu.Bytes(ref source)[..size];
        var to = X86Cpu.Bytes(ref r);
        for (int k = 0; k < AvxFloat.Width(i); k += size)
        {
            from.CopyTo(to[k..]);
        }

        c.WriteVectorRegister(i.Op0Register, r, vex: true);
    }

    /// <summary>
    /// VPERMILPS/VPERMILPD within each 128-bit lane. Immediate forms: single k takes source
    /// element imm8[2k+1:2k] of its lane (the same imm8 for both lanes); double k takes element
    /// imm8[k]. Variable forms (operand 2 the control): single k takes control dword k bits 1:0,
    /// double k control quadword k bit 1.
    /// </summary>
    public static void PermuteInLane(X86Cpu c, in Instruction i)
    {
        bool immediate = i.GetOpKind(i.OpCount - 1) == OpKind.Immediate8;
        if (!c.AvxAvailable(i) || !c.ReadVectorOperand(i, immediate ? 1 : 2, out YmmRegister second))
        {
            return;
        }

        YmmRegister data = second, control = default;
        if (!immediate)
        {
            c.ReadVectorRegister(i.Op1Register, out data);
            control = second;
        }

        int imm = immediate ? i.Immediate8 : 0;
        YmmRegister r = default;
        int width = AvxFloat.Width(i);
        if (i.Mnemonic == Mnemonic.Vpermilps)
        {
            for (int k = 0; k < width / 4; k++)
            {
                int pick = immediate ? (imm >> (2 * (k & 3))) & 3 : (int)(AvxFloat.Lane(control, S, k) & 3);
                AvxFloat.SetLane(ref r, S, k, AvxFloat.Lane(data, S, (k & ~3) | pick));
            }
        }
        else
        {
            for (int k = 0; k < width / 8; k++)
            {
                int pick = immediate ? (imm >> k) & 1 : (int)((control[k] >> 1) & 1);
                r[k] = data[(k & ~1) | pick];
            }
        }

        c.WriteVectorRegister(i.Op0Register, r, vex: true);
    }

    /// <summary>
    /// VPERMPS (AVX2: single k = operand 2 element [operand 1 dword k bits 2:0]) and VPERMPD
    /// (AVX2: double k = source element imm8[2k+1:2k]), across the whole 256 bits.
    /// </summary>
    public static void PermuteCrossLane(X86Cpu c, in Instruction i)
    {
        bool pd = i.Mnemonic == Mnemonic.Vpermpd;
        if (!c.AvxAvailable(i) || !c.ReadVectorOperand(i, pd ? 1 : 2, out YmmRegister data))
        {
            return;
        }

        YmmRegister r = default;
        if (pd)
        {
            int imm = i.Immediate8;
            for (int k = 0; k < 4; k++)
            {
                r[k] = data[(imm >> (2 * k)) & 3];
            }
        }
        else
        {
            c.ReadVectorRegister(i.Op1Register, out YmmRegister index);
            for (int k = 0; k < 8; k++)
            {
                AvxFloat.SetLane(ref r, S, k, AvxFloat.Lane(data, S, (int)(AvxFloat.Lane(index, S, k) & 7)));
            }
        }

        c.WriteVectorRegister(i.Op0Register, r, vex: true);
    }

    /// <summary>
    /// VTESTPS/VTESTPD (SDM Vol. 2 VTESTPD): ZF = 1 when no element has the sign bit set in both
    /// operands, CF = 1 when none has it set in operand 1 and clear in operand 0; AF, OF, PF, SF
    /// cleared.
    /// </summary>
    public static void Test(X86Cpu c, in Instruction i)
    {
        if (!c.AvxAvailable(i) || !c.ReadVectorOperand(i, 1, out YmmRegister b))
        {
            return;
        }

        c.ReadVectorRegister(i.Op0Register, out YmmRegister a);
        ulong sign = i.Mnemonic == Mnemonic.Vtestps ? 0x8000_0000_8000_0000UL : 0x8000_0000_0000_0000UL;
        ulong both = 0, onlySecond = 0;
        for (int k = 0; k < AvxFloat.Width(i) / 8; k++)
        {
            both |= a[k] & b[k] & sign;
            onlySecond |= ~a[k] & b[k] & sign;
        }

        c.S.Rflags = (c.S.Rflags & ~Flags.Arith) | (both == 0 ? Flags.ZF : 0) | (onlySecond == 0 ? Flags.CF : 0);
    }

    /// <summary>
    /// VZEROUPPER clears bits 255:128 of every YMM register, VZEROALL all of them; outside 64-bit
    /// mode only YMM0-7 are touched (SDM Vol. 2 VZEROUPPER, VZEROALL).
    /// </summary>
    public static void Zero(X86Cpu c, in Instruction i)
    {
        if (!c.AvxAvailable(i))
        {
            return;
        }

        int count = c.S.LongModeActive && c.S.Cs.Long ? 16 : 8;
        bool all = i.Mnemonic == Mnemonic.Vzeroall;
        for (int k = 0; k < count; k++)
        {
            ref YmmRegister r = ref c.Ymm(k);
            if (all)
            {
                r[0] = 0;
                r[1] = 0;
            }

            r[2] = 0;
            r[3] = 0;
        }
    }

    /// <summary>VLDMXCSR (as LDMXCSR, #GP(0) on a reserved bit) and VSTMXCSR, with the AVX availability checks.</summary>
    public static void LoadStoreMxcsr(X86Cpu c, in Instruction i)
    {
        if (!c.AvxAvailable(i))
        {
            return;
        }

        Seg seg = X86Cpu.MemorySegment(i);
        ulong address = c.EffectiveAddress(i);
        if (i.Mnemonic == Mnemonic.Vstmxcsr)
        {
            c.Write(seg, address, 4, c.S.Vector.Mxcsr);
            return;
        }

        if (!c.Read(seg, address, 4, out ulong value))
        {
            return;
        }

        if ((value & ~(ulong)Mxcsr.WritableMask) != 0)
        {
            c.RaiseFault(Exceptions.Vector.GP, 0);
            return;
        }

        c.S.Vector.Mxcsr = (uint)value;
    }
}
