using Emulator.Cpu.Exceptions;
using Emulator.Cpu.Fpu;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// x87 control instructions (SDM Vol. 2A/2B and Vol. 1 8.1.10): FINIT, FCLEX, FLDCW, FSTCW,
/// FSTSW, FLDENV, FSTENV, FSAVE, FRSTOR, FWAIT, and the 8087/287 leftovers FENI, FDISI, FSETPM
/// that execute as FNOP. The FN forms do not wait: they skip the pending-exception check; the
/// others (Iced decodes the 9Bh prefix into the same instruction) check first. None of them
/// updates FIP, FDP or FOP (SDM Vol. 1 8.1.8).
/// </summary>
public static class X87Control
{
    private static bool Begin(X86Cpu c, in Instruction i) => c.FpuBegin(i, waiting: !i.Mnemonic.ToString().StartsWith("Fn", StringComparison.Ordinal), control: true);

    public static void Finit(X86Cpu c, in Instruction i)
    {
        if (Begin(c, i))
        {
            c.S.X87.Initialize();
            c.FpuUpdateSummary();
        }
    }

    /// <summary>FCLEX: clears the exception flags, SF, ES and B (SDM Vol. 2A, FCLEX).</summary>
    public static void Fclex(X86Cpu c, in Instruction i)
    {
        if (Begin(c, i))
        {
            c.S.X87.Fsw &= 0x7F00;
            c.FpuUpdateSummary();
        }
    }

    public static void Fnop(X86Cpu c, in Instruction i) => Begin(c, i);

    /// <summary>FLDCW: a newly unmasked pending flag sets ES, and the next waiting instruction faults (SDM Vol. 1 8.7).</summary>
    public static void Fldcw(X86Cpu c, in Instruction i)
    {
        if (!Begin(c, i) || !c.Read(X86Cpu.MemorySegment(i), c.EffectiveAddress(i), 2, out ulong value))
        {
            return;
        }

        c.S.X87.Fcw = ControlWord(value);
        c.FpuUpdateSummary();
    }

    /// <summary>FCW as stored: bit 6 reads as 1 and bits 7, 13-15 as 0.</summary>
    private static ushort ControlWord(ulong value) => (ushort)((value & 0x1F3F) | 0x40);

    public static void Fstcw(X86Cpu c, in Instruction i)
    {
        if (Begin(c, i))
        {
            c.Write(X86Cpu.MemorySegment(i), c.EffectiveAddress(i), 2, c.S.X87.Fcw);
        }
    }

    public static void Fstsw(X86Cpu c, in Instruction i)
    {
        if (!Begin(c, i))
        {
            return;
        }

        if (i.Op0Kind == OpKind.Register)
        {
            c.SetReg(Register.AX, c.S.X87.Fsw);
            return;
        }

        c.Write(X86Cpu.MemorySegment(i), c.EffectiveAddress(i), 2, c.S.X87.Fsw);
    }

    /// <summary>FWAIT: #NM only when CR0.MP and CR0.TS are both set, then any pending unmasked exception is delivered.</summary>
    public static void Fwait(X86Cpu c, in Instruction i)
    {
        const ulong mpTs = ControlBits.Cr0MP | ControlBits.Cr0TS;
        if ((c.S.Cr0 & mpTs) == mpTs)
        {
            c.RaiseFault(Vector.NM);
            return;
        }

        c.FpuCheckPending();
    }

    /// <summary>The tag word with every non-empty tag recomputed from its register (SDM Vol. 1 8.1.7).</summary>
    private static ushort TagWord(X86Cpu c)
    {
        ref X87State x = ref c.S.X87;
        int ftw = 0;
        for (int p = 0; p < 8; p++)
        {
            int tag = (x.Ftw >> (2 * p)) & 3;
            if (tag != 3)
            {
                X87Register r = x.Registers[p];
                tag = new Float80(r.Significand, r.SignExponent).Tag;
            }

            ftw |= tag << (2 * p);
        }

        return (ushort)ftw;
    }

    private static bool RealAddressing(X86Cpu c) => !c.S.ProtectedMode || (c.S.Rflags & Flags.VM) != 0;

    /// <summary>True for the 32-bit (28-byte environment) format: a 32- or 64-bit operand size.</summary>
    private static bool Wide(in Instruction i) => i.MemorySize is MemorySize.FpuEnv28 or MemorySize.FpuState108;

    /// <summary>
    /// Writes the environment in the layout of SDM Vol. 1 figures 8-9 to 8-12 (32-bit protected,
    /// 32-bit real, 16-bit protected, 16-bit real). Real-mode layouts hold 20- or 32-bit linear
    /// pointers split around FOP; protected-mode layouts hold offsets and selectors. Unused upper
    /// halves of the 32-bit layout are written as ones, as Intel processors do.
    /// </summary>
    private static bool StoreEnvironment(X86Cpu c, Seg seg, ulong ea, bool wide)
    {
        ref X87State x = ref c.S.X87;
        ushort ftw = TagWord(c);
        uint fip = (uint)x.Fip, fdp = (uint)x.Fdp;
        bool real = RealAddressing(c);
        if (wide)
        {
            uint[] words = new uint[7];
            words[0] = 0xFFFF_0000 | x.Fcw;
            words[1] = 0xFFFF_0000 | x.Fsw;
            words[2] = 0xFFFF_0000 | ftw;
            if (real)
            {
                words[3] = 0xFFFF_0000 | (fip & 0xFFFF);
                words[4] = ((fip >> 16) << 12) | (uint)(x.Fop & 0x7FF);
                words[5] = 0xFFFF_0000 | (fdp & 0xFFFF);
                words[6] = (fdp >> 16) << 12;
            }
            else
            {
                words[3] = fip;
                words[4] = x.Fcs | ((uint)(x.Fop & 0x7FF) << 16);
                words[5] = fdp;
                words[6] = 0xFFFF_0000 | x.Fds;
            }

            for (int k = 0; k < 7; k++)
            {
                if (!c.Write(seg, ea + (ulong)(4 * k), 4, words[k]))
                {
                    return false;
                }
            }

            return true;
        }

        ushort[] half = new ushort[7];
        half[0] = x.Fcw;
        half[1] = x.Fsw;
        half[2] = ftw;
        if (real)
        {
            half[3] = (ushort)fip;
            half[4] = (ushort)((((fip >> 16) & 0xF) << 12) | (uint)(x.Fop & 0x7FF));
            half[5] = (ushort)fdp;
            half[6] = (ushort)(((fdp >> 16) & 0xF) << 12);
        }
        else
        {
            half[3] = (ushort)fip;
            half[4] = x.Fcs;
            half[5] = (ushort)fdp;
            half[6] = x.Fds;
        }

        for (int k = 0; k < 7; k++)
        {
            if (!c.Write(seg, ea + (ulong)(2 * k), 2, half[k]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Reads an environment written by <see cref="StoreEnvironment"/>'s layouts; tags of non-empty registers are recomputed from their contents.</summary>
    private static bool LoadEnvironment(X86Cpu c, Seg seg, ulong ea, bool wide)
    {
        int unit = wide ? 4 : 2;
        ulong[] w = new ulong[7];
        for (int k = 0; k < 7; k++)
        {
            if (!c.Read(seg, ea + (ulong)(unit * k), unit, out w[k]))
            {
                return false;
            }
        }

        ref X87State x = ref c.S.X87;
        x.Fcw = ControlWord(w[0]);
        x.Fsw = (ushort)w[1];
        x.Ftw = (ushort)w[2];
        if (RealAddressing(c))
        {
            ulong high = wide ? (w[4] >> 12) & 0xFFFF : (w[4] >> 12) & 0xF;
            x.Fip = (high << 16) | (w[3] & 0xFFFF);
            x.Fop = (ushort)(w[4] & 0x7FF);
            x.Fdp = ((wide ? (w[6] >> 12) & 0xFFFF : (w[6] >> 12) & 0xF) << 16) | (w[5] & 0xFFFF);
            x.Fcs = 0;
            x.Fds = 0;
        }
        else if (wide)
        {
            x.Fip = (uint)w[3];
            x.Fcs = (ushort)w[4];
            x.Fop = (ushort)((w[4] >> 16) & 0x7FF);
            x.Fdp = (uint)w[5];
            x.Fds = (ushort)w[6];
        }
        else
        {
            x.Fip = w[3] & 0xFFFF;
            x.Fcs = (ushort)w[4];
            x.Fdp = w[5] & 0xFFFF;
            x.Fds = (ushort)w[6];
        }

        return true;
    }

    private static void FixTagsAndSummary(X86Cpu c)
    {
        c.S.X87.Ftw = TagWord(c);
        c.FpuUpdateSummary();
    }

    /// <summary>FSTENV/FNSTENV: stores the environment, then masks all exceptions (SDM Vol. 2A, FSTENV).</summary>
    public static void Fstenv(X86Cpu c, in Instruction i)
    {
        if (!Begin(c, i))
        {
            return;
        }

        bool wide = Wide(i);
        Seg seg = X86Cpu.MemorySegment(i);
        ulong ea = c.EffectiveAddress(i);
        if (!c.ProbeWrite(seg, ea, wide ? 28 : 14) || !StoreEnvironment(c, seg, ea, wide))
        {
            return;
        }

        c.S.X87.Fcw |= 0x3F;
        c.FpuUpdateSummary();
    }

    public static void Fldenv(X86Cpu c, in Instruction i)
    {
        if (Begin(c, i) && LoadEnvironment(c, X86Cpu.MemorySegment(i), c.EffectiveAddress(i), Wide(i)))
        {
            FixTagsAndSummary(c);
        }
    }

    /// <summary>FSAVE/FNSAVE: the environment, ST(0)..ST(7) as 10-byte values, then FNINIT (SDM Vol. 2A, FSAVE).</summary>
    public static void Fsave(X86Cpu c, in Instruction i)
    {
        if (!Begin(c, i))
        {
            return;
        }

        bool wide = Wide(i);
        int envSize = wide ? 28 : 14;
        Seg seg = X86Cpu.MemorySegment(i);
        ulong ea = c.EffectiveAddress(i);
        if (!c.ProbeWrite(seg, ea, envSize + 80) || !StoreEnvironment(c, seg, ea, wide))
        {
            return;
        }

        for (int st = 0; st < 8; st++)
        {
            Float80 value = c.FpuRead(st);
            ulong at = ea + (ulong)(envSize + (10 * st));
            if (!c.Write(seg, at, 8, value.Significand) || !c.Write(seg, at + 8, 2, value.SignExponent))
            {
                return;
            }
        }

        c.S.X87.Initialize();
        c.FpuUpdateSummary();
    }

    public static void Frstor(X86Cpu c, in Instruction i)
    {
        if (!Begin(c, i))
        {
            return;
        }

        bool wide = Wide(i);
        int envSize = wide ? 28 : 14;
        Seg seg = X86Cpu.MemorySegment(i);
        ulong ea = c.EffectiveAddress(i);
        var registers = new Float80[8];
        for (int st = 0; st < 8; st++)
        {
            ulong at = ea + (ulong)(envSize + (10 * st));
            if (!c.Read(seg, at, 8, out ulong significand) || !c.Read(seg, at + 8, 2, out ulong signExponent))
            {
                return;
            }

            registers[st] = new Float80(significand, (ushort)signExponent);
        }

        if (!LoadEnvironment(c, seg, ea, wide))
        {
            return;
        }

        ushort ftw = c.S.X87.Ftw;
        for (int st = 0; st < 8; st++)
        {
            c.FpuWrite(st, registers[st]);
        }

        c.S.X87.Ftw = ftw;
        FixTagsAndSummary(c);
    }
}
