using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// The SSE4.2 string compares PCMPESTRI, PCMPESTRM, PCMPISTRI and PCMPISTRM (SDM Vol. 2B 4.1,
/// "Imm8 Control Byte Operation for PCMPESTRI / PCMPESTRM / PCMPISTRI / PCMPISTRM"). Operand 0
/// (xmm1) is the first string, operand 1 (xmm2/m128) the second. The steps of 4.1.2 to 4.1.6:
/// element lengths (explicit from EAX/EDX, or up to the first null), the comparison table with
/// the overrides of table 4-7 for invalid elements, aggregation into IntRes1, polarity into
/// IntRes2, then an index in ECX or a mask in XMM0, and the flags of 4.1.6.
/// </summary>
public static class SseString
{
    public static void Compare(X86Cpu c, in Instruction i)
    {
        if (!SimdInteger.Begin(c, i, out _) || !c.ReadVectorOperand(i, 1, out YmmRegister b))
        {
            return;
        }

        c.ReadVectorRegister(i.Op0Register, out YmmRegister a);
        int imm = i.Immediate8;
        Mnemonic m = SimdInteger.Legacy(i.Mnemonic);
        bool words = (imm & 1) != 0, signed = (imm & 2) != 0;
        int n = words ? 8 : 16;
        Span<int> x = stackalloc int[n], y = stackalloc int[n];
        Elements(ref a, words, signed, x);
        Elements(ref b, words, signed, y);

        bool explicitLength = m is Mnemonic.Pcmpestri or Mnemonic.Pcmpestrm or Mnemonic.Pcmpestri64 or Mnemonic.Pcmpestrm64;
        int lengthA, lengthB;
        if (explicitLength)
        {
            bool wide = m is Mnemonic.Pcmpestri64 or Mnemonic.Pcmpestrm64;
            lengthA = ExplicitLength(c.S.Gpr[CpuState.RAX], wide, n);
            lengthB = ExplicitLength(c.S.Gpr[CpuState.RDX], wide, n);
        }
        else
        {
            lengthA = ImplicitLength(x);
            lengthB = ImplicitLength(y);
        }

        int intRes1 = Aggregate((imm >> 2) & 3, x, y, lengthA, lengthB, n);
        int all = (1 << n) - 1;
        int intRes2 = ((imm >> 4) & 3) switch
        {
            1 => ~intRes1 & all,
            3 => intRes1 ^ ((1 << lengthB) - 1),
            _ => intRes1,
        };

        if (m is Mnemonic.Pcmpestri or Mnemonic.Pcmpestri64 or Mnemonic.Pcmpistri)
        {
            // 4.1.5: the least or most significant set bit of IntRes2, or the element count if none.
            int index = intRes2 == 0 ? n : (imm & 0x40) == 0 ? int.TrailingZeroCount(intRes2) : 31 - int.LeadingZeroCount(intRes2);
            c.S.Gpr[CpuState.RCX] = (uint)index;
        }
        else
        {
            YmmRegister mask = default;
            if ((imm & 0x40) == 0)
            {
                mask[0] = (ulong)intRes2;
            }
            else
            {
                var bytes = X86Cpu.Bytes(ref mask);
                int size = words ? 2 : 1;
                for (int k = 0; k < n; k++)
                {
                    if (((intRes2 >> k) & 1) != 0)
                    {
                        bytes.Slice(k * size, size).Fill(0xFF);
                    }
                }
            }

            c.WriteVectorRegister(Register.XMM0, mask, SimdInteger.IsVex(i));
        }

        // 4.1.6: CF = IntRes2 not zero, ZF = the second string ends in this block, SF = the
        // first one does, OF = IntRes2[0]; AF and PF cleared.
        ulong flags = (intRes2 != 0 ? Flags.CF : 0) | (lengthB < n ? Flags.ZF : 0) | (lengthA < n ? Flags.SF : 0) | ((intRes2 & 1) != 0 ? Flags.OF : 0);
        c.S.Rflags = (c.S.Rflags & ~Flags.Arith) | flags;
    }

    private static void Elements(ref YmmRegister v, bool words, bool signed, Span<int> e)
    {
        var bytes = X86Cpu.Bytes(ref v);
        for (int k = 0; k < e.Length; k++)
        {
            e[k] = (words, signed) switch
            {
                (false, false) => bytes[k],
                (false, true) => (sbyte)bytes[k],
                (true, false) => bytes[2 * k] | (bytes[(2 * k) + 1] << 8),
                (true, true) => (short)(bytes[2 * k] | (bytes[(2 * k) + 1] << 8)),
            };
        }
    }

    /// <summary>4.1.2: the absolute value of EAX/EDX (RAX/RDX with REX.W), saturated to the element count.</summary>
    private static int ExplicitLength(ulong register, bool wide, int n)
    {
        long value = wide ? (long)register : (int)register;
        ulong magnitude = value < 0 ? 0 - (ulong)value : (ulong)value;
        return magnitude > (ulong)n ? n : (int)magnitude;
    }

    /// <summary>4.1.2: the index of the first null element, or the element count.</summary>
    private static int ImplicitLength(ReadOnlySpan<int> e)
    {
        int k = e.IndexOf(0);
        return k < 0 ? e.Length : k;
    }

    /// <summary>
    /// 4.1.3 and 4.1.4: the aggregation over BoolRes[j, i] (element j of the second string against
    /// element i of the first), with table 4-7's values where an element is past its string's end.
    /// </summary>
    private static int Aggregate(int mode, ReadOnlySpan<int> x, ReadOnlySpan<int> y, int lengthA, int lengthB, int n)
    {
        int result = 0;
        switch (mode)
        {
            case 0: // Equal any: is y[j] one of the valid x[i]? Invalid elements never match.
                for (int j = 0; j < lengthB; j++)
                {
                    for (int i = 0; i < lengthA; i++)
                    {
                        if (y[j] == x[i])
                        {
                            result |= 1 << j;
                            break;
                        }
                    }
                }

                break;
            case 1: // Ranges: is x[i] <= y[j] <= x[i + 1] for an even i, both of the pair valid?
                for (int j = 0; j < lengthB; j++)
                {
                    for (int i = 0; i + 1 < n; i += 2)
                    {
                        bool low = i < lengthA && y[j] >= x[i];
                        bool high = i + 1 < lengthA && y[j] <= x[i + 1];
                        if (low && high)
                        {
                            result |= 1 << j;
                            break;
                        }
                    }
                }

                break;
            case 2: // Equal each: x[j] = y[j]; both invalid compares true, one invalid false.
                for (int j = 0; j < n; j++)
                {
                    bool validA = j < lengthA, validB = j < lengthB;
                    bool match = validA && validB ? x[j] == y[j] : !validA && !validB;
                    result |= match ? 1 << j : 0;
                }

                break;
            default: // Equal ordered: does x (a substring) start at y[j]? Past x's end is true, past y's end false.
                for (int j = 0; j < n; j++)
                {
                    bool match = true;
                    for (int i = 0, k = j; k < n && match; i++, k++)
                    {
                        bool validA = i < lengthA, validB = k < lengthB;
                        match = !validA || (validB && x[i] == y[k]);
                    }

                    result |= match ? 1 << j : 0;
                }

                break;
        }

        return result;
    }
}
