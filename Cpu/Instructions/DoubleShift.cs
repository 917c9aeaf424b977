using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// SHLD and SHRD (SDM Vol. 2B): shift the destination, filling from the source register. The count
/// is masked to 5 bits (6 with REX.W); zero changes nothing; for 16-bit operands a count above 16
/// leaves the result and flags undefined.
/// </summary>
public static class DoubleShift
{
    public static void Shld(X86Cpu c, in Instruction i) => Apply(c, i, left: true);

    public static void Shrd(X86Cpu c, in Instruction i) => Apply(c, i, left: false);

    private static void Apply(X86Cpu c, in Instruction i, bool left)
    {
        int size = X86Cpu.OperandSize(i, 0);
        int bits = size * 8;
        ulong countValue = i.Op2Kind == OpKind.Register ? c.GetReg(i.Op2Register) : i.Immediate8;
        int count = (int)(countValue & (size == 8 ? 0x3FUL : 0x1FUL));
        if (!c.ReadOperand(i, 0, size, out ulong dest))
        {
            return;
        }

        if (count == 0)
        {
            // As for SHL with a zero count (Shift.cs): flags stay, the destination is still written
            // (a 32-bit register clears bits 63:32), and a bad memory destination still faults.
            if (i.Op0Kind == OpKind.Register)
            {
                c.WriteOperand(i, 0, size, dest);
            }
            else
            {
                c.ProbeOperandWrite(i, 0, size);
            }

            return;
        }

        ulong src = c.GetReg(i.Op1Register);
        ulong mask = X86Cpu.SizeMask(size);
        ulong sign = X86Cpu.SignBit(size);
        ulong r;
        bool cf;
        if (count > bits)
        {
            // Only 16-bit operands get here (counts 17..31): the SDM leaves the result and flags
            // undefined. Shift the 32-bit pair src:dest (or dest:src) and keep 16 bits.
            ulong pair = left ? (dest << 16) | src : (src << 16) | dest;
            r = left ? (pair << (count - 16)) >> 16 & mask : (pair >> count) & mask;
            cf = left ? ((pair >> (32 - (count - 16))) & 1) != 0 : ((pair >> (count - 1)) & 1) != 0;
        }
        else if (left)
        {
            r = count == bits ? src : ((dest << count) | (src >> (bits - count))) & mask;
            cf = ((dest >> (bits - count)) & 1) != 0;
        }
        else
        {
            r = count == bits ? src : ((dest >> count) | (src << (bits - count))) & mask;
            cf = ((dest >> (count - 1)) & 1) != 0;
        }

        ulong flags = c.S.Rflags;
        Arith.SetResultFlags(ref flags, r, size, cf, ((r ^ dest) & sign) != 0, false);
        if (c.WriteOperand(i, 0, size, r))
        {
            c.S.Rflags = flags;
        }
    }
}
