using Emulator.Cpu.Exceptions;
using Emulator.Cpu.Simd;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu;

/// <summary>
/// Operand access of the SSE floating-point instructions (the availability checks are in
/// X86Cpu.Simd.cs): XMM registers and 128-bit memory operands with the
/// legacy-SSE alignment rule (SDM Vol. 1 11.4.1 / 4.1.1: a 16-byte operand of a non-"unaligned"
/// instruction must be 16-byte aligned, else #GP(0)), and the MXCSR exception commit of 11.5.
/// </summary>
public sealed unsafe partial class X86Cpu
{
    public static int XmmIndex(Register register) => register - Register.XMM0;

    public Vec128 GetXmm(int index)
    {
        ref YmmRegister r = ref S.Vector.Ymm[index];
        return new Vec128(r[0], r[1]);
    }

    /// <summary>Writes XMM<paramref name="index"/>; bits 255:128 of the YMM register stay as they are (legacy SSE, SDM Vol. 1 14.1.2).</summary>
    public void WriteXmm(int index, Vec128 value)
    {
        ref YmmRegister r = ref S.Vector.Ymm[index];
        r[0] = value.Lo;
        r[1] = value.Hi;
    }

    /// <summary>Checks the linear address of the memory operand is a multiple of <paramref name="alignment"/>, else #GP(0).</summary>
    public bool CheckAlignment(in Instruction instruction, int alignment)
    {
        Seg seg = MemorySegment(instruction);
        bool flat = S.LongModeActive && S.Cs.Long && seg is not (Seg.FS or Seg.GS); // 64-bit mode: no other bases
        ulong linear = (flat ? 0 : S.Segment(seg).Base) + EffectiveAddress(instruction);
        return (linear & (ulong)(alignment - 1)) == 0 || RaiseFault(Vector.GP, 0);
    }

    /// <summary>
    /// Reads operand <paramref name="n"/> as an XMM value: a register, or memory of the operand's
    /// size (4, 8 or 16 bytes, zero-extended). 16-byte memory must be aligned unless <paramref name="unaligned"/>.
    /// </summary>
    public bool ReadXmmOperand(in Instruction instruction, int n, out Vec128 value, bool unaligned = false)
    {
        if (instruction.GetOpKind(n) == OpKind.Register)
        {
            value = GetXmm(XmmIndex(instruction.GetOpRegister(n)));
            return true;
        }

        value = default;
        int size = instruction.MemorySize.GetSize();
        Seg seg = MemorySegment(instruction);
        ulong ea = EffectiveAddress(instruction);
        if (size == 16)
        {
            if (!unaligned && !CheckAlignment(instruction, 16))
            {
                return false;
            }

            if (!Read(seg, ea, 8, out value.Lo) || !Read(seg, ea + 8, 8, out value.Hi))
            {
                return false;
            }

            return true;
        }

        return Read(seg, ea, Math.Min(size, 8), out value.Lo);
    }

    /// <summary>Stores 16 bytes to the memory operand, all or nothing (a probe first), aligned unless <paramref name="unaligned"/>.</summary>
    public bool WriteMemory128(in Instruction instruction, Vec128 value, bool unaligned = false)
    {
        if (!unaligned && !CheckAlignment(instruction, 16))
        {
            return false;
        }

        Seg seg = MemorySegment(instruction);
        ulong ea = EffectiveAddress(instruction);
        return ProbeWrite(seg, ea, 16) && Write(seg, ea, 8, value.Lo) && Write(seg, ea + 8, 8, value.Hi);
    }

    /// <summary>
    /// Ends an SSE floating-point operation (SDM Vol. 1 11.5.1-11.5.3): ORs the flags it raised into
    /// MXCSR; if one of them is unmasked, the destination must stay unchanged and the exception is
    /// #XM with CR4.OSXMMEXCPT = 1, else #UD (11.5.1). Returns true when the result may be written.
    /// </summary>
    public bool CommitSimdFlags(uint flags)
    {
        ref uint mxcsr = ref S.Vector.Mxcsr;
        const uint PreComputation = Mxcsr.IE | Mxcsr.DE | Mxcsr.ZE;
        if ((flags & PreComputation & ~(mxcsr >> Mxcsr.MaskShift)) != 0)
        {
            // SDM Vol. 1 11.5.2: an unmasked invalid, denormal or divide-by-zero exception is
            // detected before the result is computed, so the instruction reports only those
            // (in every element) and none of the post-computation flags OE, UE and PE.
            flags &= PreComputation;
        }

        mxcsr |= flags;
        uint unmasked = flags & ~(mxcsr >> Mxcsr.MaskShift) & Mxcsr.FlagBits;
        if (unmasked == 0)
        {
            return true;
        }

        return RaiseFault((S.Cr4 & ControlBits.Cr4OSXMMEXCPT) != 0 ? Vector.XM : Vector.UD);
    }

    /// <summary>The MMX register <paramref name="register"/> (MM0-MM7): the significand of x87 register R(n) (SDM Vol. 1 9.2.2).</summary>
    public ulong GetMmx(Register register) => S.X87.Registers[register - Register.MM0].Significand;

    /// <summary>
    /// Writes an MMX register: the significand takes the value, the exponent and sign field become
    /// all ones, and like every MMX instruction the write sets TOP to 0 and all tags valid
    /// (SDM Vol. 1 9.5.1, table 9-2).
    /// </summary>
    public void WriteMmx(Register register, ulong value)
    {
        ref X87Register r = ref S.X87.Registers[register - Register.MM0];
        r.Significand = value;
        r.SignExponent = 0xFFFF;
        EnterMmxState();
    }
}
