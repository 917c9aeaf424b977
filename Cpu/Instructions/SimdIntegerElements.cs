using System.Runtime.InteropServices;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// The packed-integer instructions that move single elements or produce flags or masks rather
/// than a lane result: PEXTR*/PINSR*, PMOVMSKB, PTEST, PBLENDVB, PMOVSX/PMOVZX, MASKMOVQ and
/// MASKMOVDQU (SDM Vol. 2, one page each).
/// </summary>
public static class SimdIntegerElements
{
    private static int ElementSize(Mnemonic m) => m switch
    {
        Mnemonic.Pextrb or Mnemonic.Pinsrb => 1,
        Mnemonic.Pextrw or Mnemonic.Pinsrw => 2,
        Mnemonic.Pextrd or Mnemonic.Pinsrd => 4,
        _ => 8,
    };

    /// <summary>PEXTRB/W/D/Q: element imm (modulo the element count) to a general register (zero-extended) or memory.</summary>
    public static void Extract(X86Cpu c, in Instruction i)
    {
        if (!SimdInteger.Begin(c, i, out bool mmx))
        {
            return;
        }

        int size = ElementSize(SimdInteger.Legacy(i.Mnemonic));
        c.ReadVectorRegister(i.Op1Register, out YmmRegister source);
        int count = SimdInteger.Width(i) / size;
        int index = SimdInteger.Imm(i) & (count - 1);
        ulong value = 0;
        X86Cpu.Bytes(ref source).Slice(index * size, size).CopyTo(MemoryMarshal.AsBytes(new Span<ulong>(ref value)));
        bool ok = i.Op0Kind == OpKind.Memory ? c.Write(X86Cpu.MemorySegment(i), c.EffectiveAddress(i), size, value) : SetGpr(c, i.Op0Register, value);
        if (ok && mmx)
        {
            c.EnterMmxState();
        }
    }

    private static bool SetGpr(X86Cpu c, Register register, ulong value)
    {
        c.SetReg(register, value);
        return true;
    }

    /// <summary>PINSRB/W/D/Q: a general register's low bits or memory into element imm (legacy: of the destination; VEX: of operand 1).</summary>
    public static void Insert(X86Cpu c, in Instruction i)
    {
        if (!SimdInteger.Begin(c, i, out bool mmx))
        {
            return;
        }

        int size = ElementSize(SimdInteger.Legacy(i.Mnemonic));
        int first = SimdInteger.IsVex(i) ? 1 : 0;
        if (!c.ReadOperand(i, first + 1, size, out ulong value))
        {
            return;
        }

        c.ReadVectorRegister(i.GetOpRegister(first), out YmmRegister r);
        int count = SimdInteger.Width(i) / size;
        int index = SimdInteger.Imm(i) & (count - 1);
        MemoryMarshal.AsBytes(new Span<ulong>(ref value))[..size].CopyTo(X86Cpu.Bytes(ref r).Slice(index * size, size));
        SimdInteger.Commit(c, i, r, mmx);
    }

    /// <summary>PMOVMSKB: the sign bits of the source bytes into a general register, zeros above.</summary>
    public static void MoveMask(X86Cpu c, in Instruction i)
    {
        if (!SimdInteger.Begin(c, i, out bool mmx))
        {
            return;
        }

        c.ReadVectorRegister(i.Op1Register, out YmmRegister source);
        c.SetReg(i.Op0Register, SimdLane.ByteSignMask(X86Cpu.Bytes(ref source)[..SimdInteger.Width(i)]));
        if (mmx)
        {
            c.EnterMmxState();
        }
    }

    /// <summary>PTEST (SDM Vol. 2B): ZF = ((a AND b) = 0), CF = ((NOT a AND b) = 0); AF, OF, PF and SF cleared.</summary>
    public static void Test(X86Cpu c, in Instruction i)
    {
        if (!SimdInteger.Begin(c, i, out _) || !c.ReadVectorOperand(i, 1, out YmmRegister b))
        {
            return;
        }

        c.ReadVectorRegister(i.Op0Register, out YmmRegister a);
        ulong and = 0, andNot = 0;
        for (int k = 0; k < 4; k++)
        {
            and |= a[k] & b[k];
            andNot |= ~a[k] & b[k];
        }

        ulong flags = (and == 0 ? Flags.ZF : 0) | (andNot == 0 ? Flags.CF : 0);
        c.S.Rflags = (c.S.Rflags & ~Flags.Arith) | flags;
    }

    /// <summary>PBLENDVB: each byte from b where the mask byte's bit 7 is set, else from a. The mask is XMM0 (legacy) or operand 3 (VEX).</summary>
    public static void BlendVariable(X86Cpu c, in Instruction i)
    {
        if (!SimdInteger.Begin(c, i, out _))
        {
            return;
        }

        bool vex = SimdInteger.IsVex(i);
        int first = vex ? 1 : 0;
        if (!c.ReadVectorOperand(i, first + 1, out YmmRegister b))
        {
            return;
        }

        c.ReadVectorRegister(i.GetOpRegister(first), out YmmRegister a);
        c.ReadVectorRegister(vex ? i.Op3Register : Register.XMM0, out YmmRegister mask);
        var x = X86Cpu.Bytes(ref a);
        var y = X86Cpu.Bytes(ref b);
        var z = X86Cpu.Bytes(ref mask);
        for (int k = 0; k < 32; k++)
        {
            x[k] = (z[k] & 0x80) != 0 ? y[k] : x[k];
        }

        SimdInteger.Commit(c, i, a, mmx: false);
    }

    /// <summary>PMOVSX/PMOVZX: the low elements of the source sign- or zero-extended to the wider element size.</summary>
    public static void Extend(X86Cpu c, in Instruction i)
    {
        if (!SimdInteger.Begin(c, i, out _) || !c.ReadVectorOperand(i, 1, out YmmRegister source))
        {
            return;
        }

        (int from, int to) = SimdInteger.Legacy(i.Mnemonic) switch
        {
            Mnemonic.Pmovsxbw or Mnemonic.Pmovzxbw => (1, 2),
            Mnemonic.Pmovsxbd or Mnemonic.Pmovzxbd => (1, 4),
            Mnemonic.Pmovsxbq or Mnemonic.Pmovzxbq => (1, 8),
            Mnemonic.Pmovsxwd or Mnemonic.Pmovzxwd => (2, 4),
            Mnemonic.Pmovsxwq or Mnemonic.Pmovzxwq => (2, 8),
            _ => (4, 8),
        };
        bool signed = SimdInteger.Legacy(i.Mnemonic).ToString().StartsWith("Pmovsx", StringComparison.Ordinal);
        var x = X86Cpu.Bytes(ref source);
        YmmRegister r = default;
        var z = X86Cpu.Bytes(ref r);
        int count = SimdInteger.Width(i) / to;
        for (int k = 0; k < count; k++)
        {
            ulong value = 0;
            x.Slice(k * from, from).CopyTo(MemoryMarshal.AsBytes(new Span<ulong>(ref value)));
            if (signed)
            {
                value = X86Cpu.SignExtend(value, from);
            }

            MemoryMarshal.AsBytes(new Span<ulong>(ref value))[..to].CopyTo(z.Slice(k * to, to));
        }

        SimdInteger.Commit(c, i, r, mmx: false);
    }

    /// <summary>
    /// MASKMOVQ/MASKMOVDQU: store the bytes of operand 1 whose mask byte (operand 2) has bit 7
    /// set to DS:rDI (segment overridable). The whole destination is checked first, so a fault
    /// leaves memory unchanged; an all-zero mask touches no memory.
    /// </summary>
    public static void MaskedStore(X86Cpu c, in Instruction i)
    {
        if (!SimdInteger.Begin(c, i, out bool mmx))
        {
            return;
        }

        int width = SimdInteger.Width(i);
        c.ReadVectorRegister(i.Op1Register, out YmmRegister data);
        c.ReadVectorRegister(i.Op2Register, out YmmRegister mask);
        var x = X86Cpu.Bytes(ref data);
        var m = X86Cpu.Bytes(ref mask);
        ulong address = i.Op0Kind switch
        {
            OpKind.MemorySegDI => c.S.Gpr[CpuState.RDI] & 0xFFFF,
            OpKind.MemorySegEDI => c.S.Gpr[CpuState.RDI] & 0xFFFF_FFFF,
            _ => c.S.Gpr[CpuState.RDI],
        };
        Seg seg = X86Cpu.MemorySegment(i);
        if (SimdLane.ByteSignMask(m[..width]) != 0)
        {
            if (!c.ProbeWrite(seg, address, width))
            {
                return;
            }

            for (int k = 0; k < width; k++)
            {
                if ((m[k] & 0x80) != 0 && !c.Write(seg, address + (ulong)k, 1, x[k]))
                {
                    return;
                }
            }
        }

        if (mmx)
        {
            c.EnterMmxState();
        }
    }
}
