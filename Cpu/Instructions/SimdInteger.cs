using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// Handlers of the packed-integer instructions (MMX, SSE2, SSSE3, SSE4.1/4.2, AES-NI, PCLMULQDQ
/// and their VEX forms). One handler serves every encoding of a family: the operand registers
/// say the width (MM 8 bytes, XMM 16, YMM 32) and the encoding says where the sources are
/// (legacy: the destination and operand 1; VEX: operands 1 and 2). The arithmetic itself is in
/// <see cref="SimdLane"/>. An instruction with an MMX register operand enters the MMX state
/// (<see cref="X86Cpu.EnterMmxState"/>) once it completes.
/// </summary>
public static class SimdInteger
{
    private static readonly Mnemonic[] s_legacy = BuildLegacyNames();

    /// <summary>VPADDB computes as PADDB: the legacy mnemonic of a VEX one (itself for a legacy one).</summary>
    public static Mnemonic Legacy(Mnemonic m) => s_legacy[(int)m];

    private static Mnemonic[] BuildLegacyNames()
    {
        var names = Enum.GetValues<Mnemonic>();
        var map = new Mnemonic[names.Length];
        foreach (var m in names)
        {
            string name = m.ToString();
            map[(int)m] = name.Length > 1 && name[0] == 'V' && Enum.TryParse(char.ToUpperInvariant(name[1]) + name[2..], out Mnemonic legacy) ? legacy : m;
        }

        return map;
    }

    /// <summary>
    /// The availability checks: VEX forms as AVX, legacy forms with an XMM operand as SSE, and
    /// with an MMX operand as MMX (an instruction with both, like MOVQ2DQ, makes both checks).
    /// </summary>
    internal static bool Begin(X86Cpu c, in Instruction i, out bool mmx)
    {
        mmx = false;
        bool xmm = false;
        for (int n = 0; n < i.OpCount; n++)
        {
            if (i.GetOpKind(n) == OpKind.Register)
            {
                Register r = i.GetOpRegister(n);
                mmx |= r.IsMM();
                xmm |= r.IsXMM() || r.IsYMM();
            }
        }

        if (i.Encoding == EncodingKind.VEX)
        {
            return c.AvxAvailable(i);
        }

        return (!xmm || c.SimdAvailable(i)) && (!mmx || c.MmxAvailable(i));
    }

    /// <summary>The vector width in bytes: that of the first MM, XMM or YMM register operand.</summary>
    internal static int Width(in Instruction i)
    {
        for (int n = 0; n < i.OpCount; n++)
        {
            if (i.GetOpKind(n) == OpKind.Register)
            {
                Register r = i.GetOpRegister(n);
                if (r.IsMM())
                {
                    return 8;
                }

                if (r.IsXMM())
                {
                    return 16;
                }

                if (r.IsYMM())
                {
                    return 32;
                }
            }
        }

        return 16;
    }

    /// <summary>The immediate byte when the last operand is one, else 0.</summary>
    internal static int Imm(in Instruction i) => i.OpCount > 0 && i.GetOpKind(i.OpCount - 1) == OpKind.Immediate8 ? i.Immediate8 : 0;

    internal static bool IsVex(in Instruction i) => i.Encoding == EncodingKind.VEX;

    /// <summary>Writes the result to the destination register (operand 0) and completes the MMX state change.</summary>
    internal static void Commit(X86Cpu c, in Instruction i, in YmmRegister result, bool mmx)
    {
        c.WriteVectorRegister(i.Op0Register, result, IsVex(i));
        if (mmx)
        {
            c.EnterMmxState();
        }
    }

    /// <summary>Runs the lane operation over the vector, 16 bytes at a time for YMM (MPSADBW's upper lane takes imm[5:3]).</summary>
    internal static bool Lanes(Mnemonic m, ref YmmRegister a, ref YmmRegister b, ref YmmRegister r, int width, int imm)
    {
        var x = X86Cpu.Bytes(ref a);
        var y = X86Cpu.Bytes(ref b);
        var z = X86Cpu.Bytes(ref r);
        int lane = Math.Min(width, 16);
        for (int offset = 0; offset < width; offset += lane)
        {
            int laneImm = offset != 0 && m == Mnemonic.Mpsadbw ? imm >> 3 : imm;
            if (!SimdLane.Compute(m, x.Slice(offset, lane), y.Slice(offset, lane), z.Slice(offset, lane), laneImm))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Two sources (legacy: destination and operand 1; VEX: operands 1 and 2), an optional immediate.</summary>
    public static void Binary(X86Cpu c, in Instruction i)
    {
        if (!Begin(c, i, out bool mmx))
        {
            return;
        }

        int first = IsVex(i) ? 1 : 0;
        if (!c.ReadVectorOperand(i, first + 1, out YmmRegister b))
        {
            return;
        }

        c.ReadVectorRegister(i.GetOpRegister(first), out YmmRegister a);
        YmmRegister r = default;
        if (!Lanes(Legacy(i.Mnemonic), ref a, ref b, ref r, Width(i), Imm(i)))
        {
            InstructionTable.Unimplemented(c, i);
            return;
        }

        Commit(c, i, r, mmx);
    }

    /// <summary>One source, operand 1 in every encoding (PSHUFD, PABSB, PHMINPOSUW, AESIMC, ...), an optional immediate.</summary>
    public static void Unary(X86Cpu c, in Instruction i)
    {
        if (!Begin(c, i, out bool mmx) || !c.ReadVectorOperand(i, 1, out YmmRegister b))
        {
            return;
        }

        YmmRegister a = default, r = default;
        if (!Lanes(Legacy(i.Mnemonic), ref a, ref b, ref r, Width(i), Imm(i)))
        {
            InstructionTable.Unimplemented(c, i);
            return;
        }

        Commit(c, i, r, mmx);
    }

    /// <summary>
    /// PSLL/PSRL/PSRA by an immediate or by the low quadword of a register or memory operand,
    /// and the byte shifts PSLLDQ/PSRLDQ (immediate only, per 16-byte lane).
    /// </summary>
    public static void Shift(X86Cpu c, in Instruction i)
    {
        if (!Begin(c, i, out bool mmx))
        {
            return;
        }

        bool vex = IsVex(i);
        YmmRegister data;
        ulong count;
        if (i.GetOpKind(i.OpCount - 1) == OpKind.Immediate8)
        {
            count = i.Immediate8;
            c.ReadVectorRegister(i.GetOpRegister(vex ? 1 : 0), out data);
        }
        else
        {
            int first = vex ? 1 : 0;
            if (!c.ReadVectorOperand(i, first + 1, out YmmRegister countOperand))
            {
                return;
            }

            count = countOperand[0];
            c.ReadVectorRegister(i.GetOpRegister(first), out data);
        }

        Mnemonic m = Legacy(i.Mnemonic);
        int width = Width(i);
        YmmRegister r = default;
        bool known = m is Mnemonic.Pslldq or Mnemonic.Psrldq
            ? Lanes(m, ref data, ref data, ref r, width, (int)count)
            : SimdLane.Shift(m, X86Cpu.Bytes(ref data)[..width], X86Cpu.Bytes(ref r)[..width], count);
        if (!known)
        {
            InstructionTable.Unimplemented(c, i);
            return;
        }

        Commit(c, i, r, mmx);
    }

    /// <summary>
    /// The moves: MOVD (4 bytes), MOVQ, MOVQ2DQ, MOVDQ2Q, MOVNTQ (8 bytes), MOVDQA, MOVDQU,
    /// LDDQU, MOVNTDQ, MOVNTDQA (the register width). The value moved is zero-extended into a
    /// register destination (SDM Vol. 2B MOVD/MOVQ: "zero-extended to 128 bits"); a general
    /// register destination takes 32 or 64 bits.
    /// </summary>
    public static void Move(X86Cpu c, in Instruction i)
    {
        if (!Begin(c, i, out bool mmx))
        {
            return;
        }

        Mnemonic m = Legacy(i.Mnemonic);
        int size = m switch
        {
            Mnemonic.Movd => 4,
            Mnemonic.Movq or Mnemonic.Movq2dq or Mnemonic.Movdq2q or Mnemonic.Movntq => 8,
            _ => Width(i),
        };
        if (!c.ReadVectorOperand(i, 1, out YmmRegister value))
        {
            return;
        }

        ClearAbove(ref value, size);
        if (i.Op0Kind == OpKind.Memory)
        {
            if (!c.WriteVectorMemory(i, size, value))
            {
                return;
            }
        }
        else if (i.Op0Register.IsGPR())
        {
            c.SetReg(i.Op0Register, value[0]);
        }
        else
        {
            c.WriteVectorRegister(i.Op0Register, value, IsVex(i));
        }

        if (mmx)
        {
            c.EnterMmxState();
        }
    }

    /// <summary>Zeroes every byte of <paramref name="value"/> from <paramref name="size"/> up.</summary>
    internal static void ClearAbove(ref YmmRegister value, int size) => X86Cpu.Bytes(ref value)[size..].Clear();

    /// <summary>EMMS: all x87 tags empty (SDM Vol. 2A EMMS).</summary>
    public static void Emms(X86Cpu c, in Instruction i)
    {
        if (c.MmxAvailable(i))
        {
            // SDM Vol. 2A EMMS: every tag empty. TOP also returns to 0, as on the host CPU oracle
            // and in Bochs: code that runs x87 after EMMS sees the stack MMX code left, TOP = 0.
            c.S.X87.Ftw = 0xFFFF;
            c.S.X87.Fsw &= unchecked((ushort)~(7 << 11));
        }
    }
}
