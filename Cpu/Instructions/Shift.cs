using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// Shifts and rotates (SDM Vol. 2B, SAL/SAR/SHL/SHR and RCL/RCR/ROL/ROR). The count is masked to
/// 5 bits (6 with REX.W); a masked count of zero changes no flags. OF is defined only for 1-bit
/// shifts; for larger counts this computes what the 1-bit formula gives, and tests mask it.
/// </summary>
public static class Shift
{
    public static void Rol(X86Cpu c, in Instruction i) => Apply(c, i, 0);

    public static void Ror(X86Cpu c, in Instruction i) => Apply(c, i, 1);

    public static void Rcl(X86Cpu c, in Instruction i) => Apply(c, i, 2);

    public static void Rcr(X86Cpu c, in Instruction i) => Apply(c, i, 3);

    public static void Shl(X86Cpu c, in Instruction i) => Apply(c, i, 4);

    public static void Shr(X86Cpu c, in Instruction i) => Apply(c, i, 5);

    public static void Sar(X86Cpu c, in Instruction i) => Apply(c, i, 7);

    private static void Apply(X86Cpu c, in Instruction i, int op)
    {
        int size = X86Cpu.OperandSize(i, 0);
        int bits = size * 8;
        ulong countValue = i.Op1Kind == OpKind.Register ? c.GetReg(i.Op1Register) : i.GetImmediate(1);
        int count = (int)(countValue & (size == 8 ? 0x3FUL : 0x1FUL));
        if (!c.ReadOperand(i, 0, size, out ulong a))
        {
            return;
        }

        if (count == 0)
        {
            // Even a zero count must fault on a bad destination (a read-modify-write access). The
            // destination is still written: a 32-bit register clears bits 63:32 as for any 32-bit
            // write (SDM Vol. 1 3.4.1.1), which is what the hardware does; flags stay unchanged.
            if (i.Op0Kind == OpKind.Register)
            {
                c.WriteOperand(i, 0, size, a);
            }
            else
            {
                c.ProbeOperandWrite(i, 0, size);
            }

            return;
        }

        ulong mask = X86Cpu.SizeMask(size);
        ulong sign = X86Cpu.SignBit(size);
        ulong flags = c.S.Rflags;
        bool cf = (flags & Flags.CF) != 0;
        ulong r;
        switch (op)
        {
            case 0: // ROL: CF = new LSB, OF = MSB xor CF
                {
                    int n = count % bits;
                    r = n == 0 ? a : ((a << n) | (a >> (bits - n))) & mask;
                    cf = (r & 1) != 0;
                    SetCfOf(ref flags, cf, ((r & sign) != 0) ^ cf);
                    break;
                }

            case 1: // ROR: CF = new MSB, OF = xor of the two top bits
                {
                    int n = count % bits;
                    r = n == 0 ? a : ((a >> n) | (a << (bits - n))) & mask;
                    cf = (r & sign) != 0;
                    SetCfOf(ref flags, cf, cf ^ ((r & (sign >> 1)) != 0));
                    break;
                }

            case 2: // RCL: rotate through carry, modulo bits+1 for 8- and 16-bit operands
                {
                    int n = size < 4 ? count % (bits + 1) : count;
                    r = a;
                    for (int k = 0; k < n; k++)
                    {
                        bool top = (r & sign) != 0;
                        r = ((r << 1) | (cf ? 1UL : 0)) & mask;
                        cf = top;
                    }

                    // OF is defined for a count of 1 only, but the hardware computes MSB(result) XOR CF
                    // for any non-zero masked count, including ones that rotate by a multiple of 9 or 17.
                    SetCfOf(ref flags, cf, ((r & sign) != 0) ^ cf);
                    break;
                }

            case 3: // RCR
                {
                    int n = size < 4 ? count % (bits + 1) : count;
                    r = a;
                    for (int k = 0; k < n; k++)
                    {
                        bool low = (r & 1) != 0;
                        r = (r >> 1) | (cf ? sign : 0);
                        cf = low;
                    }

                    // For a count of 1 the XOR of the result's two top bits equals the SDM's
                    // MSB(DEST) XOR CF; the hardware uses it for every non-zero masked count.
                    SetCfOf(ref flags, cf, ((r & sign) != 0) ^ ((r & (sign >> 1)) != 0));
                    break;
                }

            case 4: // SHL: CF = last bit out, OF = MSB(result) xor CF
                {
                    cf = count <= bits && ((a >> (bits - count)) & 1) != 0;
                    r = count >= bits ? 0 : (a << count) & mask;
                    Arith.SetResultFlags(ref flags, r, size, cf, ((r & sign) != 0) ^ cf, false);
                    break;
                }

            case 5: // SHR: OF = MSB of the original operand
                {
                    cf = count <= bits && ((a >> (count - 1)) & 1) != 0;
                    r = count >= bits ? 0 : a >> count;
                    // OF is MSB(DEST) for a count of 1 (SDM Vol. 2B, SAL/SAR/SHL/SHR) and undefined
                    // otherwise; the 80286 and the host CPU both give 0 there, the bit the count shifted
                    // out of the top of the result.
                    Arith.SetResultFlags(ref flags, r, size, cf, count == 1 && (a & sign) != 0, false);
                    break;
                }

            default: // SAR: OF = 0
                {
                    ulong extended = X86Cpu.SignExtend(a, size);
                    int n = Math.Min(count, 63);
                    cf = ((long)extended >> Math.Min(count - 1, 63) & 1) != 0;
                    r = (ulong)((long)extended >> n) & mask;
                    Arith.SetResultFlags(ref flags, r, size, cf, false, false);
                    break;
                }
        }

        if (c.WriteOperand(i, 0, size, r))
        {
            c.S.Rflags = flags;
        }
    }

    private static void SetCfOf(ref ulong flags, bool cf, bool of)
    {
        flags = (flags & ~(Flags.CF | Flags.OF)) | (cf ? Flags.CF : 0) | (of ? Flags.OF : 0);
    }
}
