using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// Decimal adjust after addition and subtraction, ASCII adjust (DAA, DAS, AAA, AAS, AAM, AAD), as
/// the pseudo-code of SDM Vol. 2A gives them. Invalid in 64-bit mode (Iced does not decode them
/// there, so they take #UD through the INVALID row).
/// </summary>
public static class Bcd
{
    private static void SetSzp(ref ulong flags, byte al)
    {
        flags &= ~(Flags.SF | Flags.ZF | Flags.PF);
        flags |= (al & 0x80) != 0 ? Flags.SF : 0;
        flags |= al == 0 ? Flags.ZF : 0;
        flags |= Arith.Parity(al);
    }

    public static void Daa(X86Cpu c, in Instruction i)
    {
        ref CpuState s = ref c.S;
        byte oldAl = (byte)c.GetReg(Register.AL);
        bool oldCf = (s.Rflags & Flags.CF) != 0;
        ulong flags = s.Rflags & ~(Flags.CF | Flags.AF | Flags.OF);
        int al = oldAl;
        if ((al & 0xF) > 9 || (s.Rflags & Flags.AF) != 0)
        {
            al += 6;
            flags |= Flags.AF | (oldCf || al > 0xFF ? Flags.CF : 0);
        }

        if (oldAl > 0x99 || oldCf)
        {
            al += 0x60;
            flags |= Flags.CF;
        }

        SetSzp(ref flags, (byte)al);
        c.SetReg(Register.AL, (byte)al);
        s.Rflags = flags;
    }

    public static void Das(X86Cpu c, in Instruction i)
    {
        ref CpuState s = ref c.S;
        byte oldAl = (byte)c.GetReg(Register.AL);
        bool oldCf = (s.Rflags & Flags.CF) != 0;
        ulong flags = s.Rflags & ~(Flags.CF | Flags.AF | Flags.OF);
        int al = oldAl;
        if ((al & 0xF) > 9 || (s.Rflags & Flags.AF) != 0)
        {
            flags |= Flags.AF | (oldCf || al < 6 ? Flags.CF : 0);
            al -= 6;
        }

        if (oldAl > 0x99 || oldCf)
        {
            al -= 0x60;
            flags |= Flags.CF;
        }

        SetSzp(ref flags, (byte)al);
        c.SetReg(Register.AL, (byte)al);
        s.Rflags = flags;
    }

    /// <summary>AAA: AX += 106h when the low digit overflowed (the 386+ form of SDM Vol. 2A, AAA).</summary>
    public static void Aaa(X86Cpu c, in Instruction i) => AsciiAdjust(c, add: true);

    /// <summary>AAS: AX -= 6, then AH -= 1, when the low digit borrowed.</summary>
    public static void Aas(X86Cpu c, in Instruction i) => AsciiAdjust(c, add: false);

    private static void AsciiAdjust(X86Cpu c, bool add)
    {
        ref CpuState s = ref c.S;
        ulong ax = c.GetReg(Register.AX);
        ulong flags = s.Rflags & ~(Flags.CF | Flags.AF);
        if ((ax & 0xF) > 9 || (s.Rflags & Flags.AF) != 0)
        {
            // SDM Vol. 2A: AAA is AX += 106h; AAS is AX -= 6 (a borrow reaches AH), then AH -= 1.
            ax = add ? ax + 0x106 : ax - 6 - 0x100;
            flags |= Flags.AF | Flags.CF;
        }

        c.SetReg(Register.AX, ax & 0xFF0F);
        s.Rflags = flags;
    }

    /// <summary>AAM imm8: AH = AL / imm8, AL = AL mod imm8; #DE for imm8 = 0.</summary>
    public static void Aam(X86Cpu c, in Instruction i)
    {
        byte divisor = i.Immediate8;
        if (divisor == 0)
        {
            c.RaiseFault(Vector.DE);
            return;
        }

        byte al = (byte)c.GetReg(Register.AL);
        var result = (byte)(al % divisor);
        c.SetReg(Register.AX, ((ulong)(al / divisor) << 8) | result);
        ulong flags = c.S.Rflags;
        SetSzp(ref flags, result);
        c.S.Rflags = flags;
    }

    /// <summary>AAD imm8: AL = AL + AH * imm8, AH = 0.</summary>
    public static void Aad(X86Cpu c, in Instruction i)
    {
        ulong ax = c.GetReg(Register.AX);
        var al = (byte)((ax & 0xFF) + ((ax >> 8) * i.Immediate8));
        c.SetReg(Register.AX, al);
        ulong flags = c.S.Rflags;
        SetSzp(ref flags, al);
        c.S.Rflags = flags;
    }
}
