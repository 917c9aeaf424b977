using System.Buffers.Binary;
using System.Numerics;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// Bit counting and manipulation: POPCNT, LZCNT, TZCNT, BMI1 (ANDN, BEXTR, BLSI, BLSMSK, BLSR),
/// BMI2 (BZHI, MULX, PDEP, PEXT, RORX, SARX, SHLX, SHRX), ADX (ADCX, ADOX), MOVBE and CRC32, per
/// their SDM Vol. 2 pages. Flags the SDM leaves undefined are cleared here; tests mask them.
/// </summary>
public static class BitManipulation
{
    private static void SetFlags(X86Cpu c, ulong clear, ulong set)
    {
        c.S.Rflags = (c.S.Rflags & ~clear) | set;
    }

    private static ulong Zf(bool zero) => zero ? Flags.ZF : 0;

    private static ulong Cf(bool carry) => carry ? Flags.CF : 0;

    private static ulong Sf(ulong value, int size) => (value & X86Cpu.SignBit(size)) != 0 ? Flags.SF : 0;

    public static void Popcnt(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (c.ReadOperand(i, 1, size, out ulong src))
        {
            c.SetReg(i.Op0Register, (ulong)BitOperations.PopCount(src));
            SetFlags(c, Flags.Arith, Zf(src == 0));
        }
    }

    public static void Lzcnt(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (c.ReadOperand(i, 1, size, out ulong src))
        {
            ulong count = (ulong)(BitOperations.LeadingZeroCount(src) - (64 - (8 * size)));
            c.SetReg(i.Op0Register, count);
            SetFlags(c, Flags.Arith, Cf(src == 0) | Zf(count == 0));
        }
    }

    public static void Tzcnt(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (c.ReadOperand(i, 1, size, out ulong src))
        {
            ulong count = src == 0 ? (ulong)(8 * size) : (ulong)BitOperations.TrailingZeroCount(src);
            c.SetReg(i.Op0Register, count);
            SetFlags(c, Flags.Arith, Cf(src == 0) | Zf(count == 0));
        }
    }

    public static void Andn(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (c.ReadOperand(i, 2, size, out ulong src2))
        {
            ulong r = ~c.GetReg(i.Op1Register) & src2 & X86Cpu.SizeMask(size);
            c.SetReg(i.Op0Register, r);
            SetFlags(c, Flags.Arith, Zf(r == 0) | Sf(r, size));
        }
    }

    public static void Bextr(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (!c.ReadOperand(i, 1, size, out ulong src))
        {
            return;
        }

        ulong control = c.GetReg(i.Op2Register);
        int start = (int)(control & 0xFF), length = (int)((control >> 8) & 0xFF);
        ulong r = start >= 8 * size ? 0 : src >> start;
        if (length < 64)
        {
            r &= (1UL << length) - 1;
        }

        c.SetReg(i.Op0Register, r);
        SetFlags(c, Flags.Arith, Zf(r == 0));
    }

    /// <summary>BLSI, BLSMSK, BLSR: the lowest set bit, isolated, as a mask, or reset.</summary>
    public static void LowestSetBit(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (!c.ReadOperand(i, 1, size, out ulong src))
        {
            return;
        }

        ulong mask = X86Cpu.SizeMask(size);
        ulong r = i.Mnemonic switch
        {
            Mnemonic.Blsi => (0 - src) & src,
            Mnemonic.Blsmsk => ((src - 1) ^ src) & mask,
            _ => (src - 1) & src,
        };
        c.SetReg(i.Op0Register, r);
        bool cf = i.Mnemonic == Mnemonic.Blsi ? src != 0 : src == 0;
        SetFlags(c, Flags.Arith, Cf(cf) | Sf(r, size) | (i.Mnemonic == Mnemonic.Blsmsk ? 0 : Zf(r == 0)));
    }

    public static void Bzhi(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (!c.ReadOperand(i, 1, size, out ulong src))
        {
            return;
        }

        int n = (int)(c.GetReg(i.Op2Register) & 0xFF);
        ulong r = n < 8 * size ? src & ((1UL << n) - 1) : src;
        c.SetReg(i.Op0Register, r);
        SetFlags(c, Flags.Arith, Cf(n > (8 * size) - 1) | Zf(r == 0) | Sf(r, size));
    }

    /// <summary>MULX: unsigned EDX/RDX times the source, high half to the first operand, low to the second; no flags.</summary>
    public static void Mulx(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (!c.ReadOperand(i, 2, size, out ulong src))
        {
            return;
        }

        UInt128 product = (UInt128)(c.GetReg(size == 8 ? Register.RDX : Register.EDX)) * src;
        c.SetReg(i.Op1Register, (ulong)product & X86Cpu.SizeMask(size));
        c.SetReg(i.Op0Register, (ulong)(product >> (8 * size)) & X86Cpu.SizeMask(size));
    }

    public static void Pdep(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (!c.ReadOperand(i, 2, size, out ulong mask))
        {
            return;
        }

        ulong src = c.GetReg(i.Op1Register), r = 0;
        for (ulong bit = 1, k = 0; mask != 0; mask &= mask - 1, k++)
        {
            bit = mask & (0 - mask);
            if (((src >> (int)k) & 1) != 0)
            {
                r |= bit;
            }
        }

        c.SetReg(i.Op0Register, r);
    }

    public static void Pext(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (!c.ReadOperand(i, 2, size, out ulong mask))
        {
            return;
        }

        ulong src = c.GetReg(i.Op1Register), r = 0;
        for (int k = 0; mask != 0; mask &= mask - 1, k++)
        {
            if ((src & mask & (0 - mask)) != 0)
            {
                r |= 1UL << k;
            }
        }

        c.SetReg(i.Op0Register, r);
    }

    public static void Rorx(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (!c.ReadOperand(i, 1, size, out ulong src))
        {
            return;
        }

        int bits = 8 * size;
        int n = (int)(i.Immediate8 & (bits - 1));
        c.SetReg(i.Op0Register, n == 0 ? src : ((src >> n) | (src << (bits - n))) & X86Cpu.SizeMask(size));
    }

    /// <summary>SARX, SHLX, SHRX: shifts by a register count without touching flags.</summary>
    public static void ShiftX(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (!c.ReadOperand(i, 1, size, out ulong src))
        {
            return;
        }

        int n = (int)(c.GetReg(i.Op2Register) & (size == 8 ? 63UL : 31UL));
        ulong r = i.Mnemonic switch
        {
            Mnemonic.Shlx => src << n,
            Mnemonic.Shrx => src >> n,
            _ => (ulong)((long)X86Cpu.SignExtend(src, size) >> n),
        };
        c.SetReg(i.Op0Register, r & X86Cpu.SizeMask(size));
    }

    /// <summary>ADCX adds with CF and writes only CF; ADOX uses and writes only OF.</summary>
    public static void AddCarryFlag(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (!c.ReadOperand(i, 1, size, out ulong src))
        {
            return;
        }

        ulong flag = i.Mnemonic == Mnemonic.Adcx ? Flags.CF : Flags.OF;
        ulong a = c.GetReg(i.Op0Register);
        UInt128 sum = (UInt128)a + src + ((c.S.Rflags & flag) != 0 ? 1UL : 0);
        c.SetReg(i.Op0Register, (ulong)sum & X86Cpu.SizeMask(size));
        SetFlags(c, flag, (sum >> (8 * size)) != 0 ? flag : 0);
    }

    /// <summary>MOVBE: a load or store with the bytes reversed.</summary>
    public static void Movbe(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        if (!c.ReadOperand(i, 1, size, out ulong value))
        {
            return;
        }

        ulong swapped = size switch
        {
            2 => BinaryPrimitives.ReverseEndianness((ushort)value),
            4 => BinaryPrimitives.ReverseEndianness((uint)value),
            _ => BinaryPrimitives.ReverseEndianness(value),
        };
        c.WriteOperand(i, 0, size, swapped);
    }

    /// <summary>CRC32: the CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of the source bytes, accumulated in the destination.</summary>
    public static void Crc32(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 1);
        if (!c.ReadOperand(i, 1, size, out ulong src))
        {
            return;
        }

        uint crc = (uint)c.GetReg(i.Op0Register);
        for (int b = 0; b < size; b++)
        {
            crc ^= (byte)(src >> (8 * b));
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1;
            }
        }

        c.SetReg(i.Op0Register, crc);
    }
}
