using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu;

/// <summary>
/// Operand access for the SIMD instructions: the availability checks every MMX, SSE and AVX
/// instruction starts with, XMM/YMM/MMX registers, and vector memory operands of 1 to 32 bytes.
/// A vector value travels as a <see cref="YmmRegister"/> (four little-endian quadwords); an MMX
/// value uses its low quadword, an XMM value its low two.
/// </summary>
public sealed unsafe partial class X86Cpu
{
    /// <summary>
    /// The checks of a legacy SSE instruction (SDM Vol. 3A 13.1.3 and Vol. 1 11.6.2):
    /// #UD when CR0.EM = 1 or CR4.OSFXSR = 0, then #NM when CR0.TS = 1.
    /// </summary>
    public bool SimdAvailable(in Instruction instruction)
    {
        ref CpuState s = ref S;
        if ((s.Cr0 & ControlBits.Cr0EM) != 0 || (s.Cr4 & ControlBits.Cr4OSFXSR) == 0)
        {
            return RaiseFault(Vector.UD);
        }

        return (s.Cr0 & ControlBits.Cr0TS) == 0 || RaiseFault(Vector.NM);
    }

    /// <summary>
    /// The checks of an MMX instruction (SDM Vol. 1 9.6.2, and the exception tables of the MMX instructions in Vol. 2):
    /// #UD when CR0.EM = 1, #NM when CR0.TS = 1, then #MF when an unmasked x87 exception is pending
    /// (FSW.ES) and CR0.NE = 1. With CR0.NE = 0 the pending error would go out on FERR#, which this
    /// machine does not wire, so the instruction runs.
    /// </summary>
    public bool MmxAvailable(in Instruction instruction)
    {
        ref CpuState s = ref S;
        if ((s.Cr0 & ControlBits.Cr0EM) != 0)
        {
            return RaiseFault(Vector.UD);
        }

        if ((s.Cr0 & ControlBits.Cr0TS) != 0)
        {
            return RaiseFault(Vector.NM);
        }

        const ushort FswErrorSummary = 1 << 7;
        return (s.X87.Fsw & FswErrorSummary) == 0 || (s.Cr0 & ControlBits.Cr0NE) == 0 || RaiseFault(Vector.MF);
    }

    /// <summary>CR4.OSXSAVE (bit 18, SDM Vol. 3A 2.5): the OS manages XCR0 and VEX instructions may run.</summary>
    private const ulong Cr4OsXsave = 1UL << 18;

    /// <summary>
    /// The checks of a VEX-encoded instruction (SDM Vol. 2A 2.3.6 and table 2-21): #UD unless
    /// CR4.OSXSAVE = 1 and XCR0 enables both SSE and AVX state; #NM when CR0.TS = 1.
    /// </summary>
    public bool AvxAvailable(in Instruction instruction)
    {
        ref CpuState s = ref S;
        if ((s.Cr4 & Cr4OsXsave) == 0 || (s.Vector.Xcr0 & 6) != 6)
        {
            return RaiseFault(Vector.UD);
        }

        return (s.Cr0 & ControlBits.Cr0TS) == 0 || RaiseFault(Vector.NM);
    }

    /// <summary>
    /// The MMX side effect of every MMX instruction but EMMS (SDM Vol. 1 9.5.1, table 9-2): TOP = 0
    /// and every tag valid. A written MMX register also gets all ones in its sign and exponent.
    /// </summary>
    public void EnterMmxState()
    {
        ref X87State x = ref S.X87;
        x.Fsw = (ushort)(x.Fsw & ~0x3800);
        x.Ftw = 0;
    }

    /// <summary>The value of MMX register <paramref name="index"/> (the significand of physical R<c>index</c>).</summary>
    public ulong GetMmx(int index) => S.X87.Registers[index].Significand;

    /// <summary>Writes MMX register <paramref name="index"/>; its sign-and-exponent field becomes FFFFh (SDM Vol. 1 9.5.1).</summary>
    public void SetMmx(int index, ulong value)
    {
        ref X87Register r = ref S.X87.Registers[index];
        r.Significand = value;
        r.SignExponent = 0xFFFF;
    }

    /// <summary>YMM register <paramref name="index"/> (its low two quadwords are the XMM register).</summary>
    public ref YmmRegister Ymm(int index) => ref S.Vector.Ymm[index];

    /// <summary>Reads a vector register (MM, XMM or YMM) into the low bytes of <paramref name="value"/>; the rest is zero.</summary>
    public void ReadVectorRegister(Register register, out YmmRegister value)
    {
        value = default;
        if (register.IsMM())
        {
            value[0] = GetMmx(register - Register.MM0);
        }
        else if (register.IsXMM())
        {
            ref YmmRegister r = ref Ymm(register - Register.XMM0);
            value[0] = r[0];
            value[1] = r[1];
        }
        else
        {
            value = Ymm(register - Register.YMM0);
        }
    }

    /// <summary>
    /// Writes a vector register. MMX: 64 bits, sign and exponent FFFFh. XMM by a legacy SSE
    /// instruction: bits 127:0, bits 255:128 unchanged; XMM by a VEX.128 instruction: bits
    /// 255:128 cleared; YMM: all 256 bits (SDM Vol. 1 14.1.2).
    /// </summary>
    public void WriteVectorRegister(Register register, in YmmRegister value, bool vex)
    {
        if (register.IsMM())
        {
            SetMmx(register - Register.MM0, value[0]);
        }
        else if (register.IsXMM())
        {
            ref YmmRegister r = ref Ymm(register - Register.XMM0);
            r[0] = value[0];
            r[1] = value[1];
            if (vex)
            {
                r[2] = 0;
                r[3] = 0;
            }
        }
        else
        {
            Ymm(register - Register.YMM0) = value;
        }
    }

    /// <summary>
    /// The alignment a vector memory operand needs, or 1. Legacy SSE 128-bit operands must be
    /// 16-byte aligned (SDM Vol. 1 11.4.1) except the documented unaligned forms: MOVDQU, LDDQU,
    /// and the SSE4.2 string compares (Vol. 1 12.10.3); VEX forms need it only for the explicitly
    /// aligned moves (Vol. 2A 2.5, table 2-4).
    /// </summary>
    public static int RequiredAlignment(in Instruction instruction)
    {
        int size = instruction.MemorySize.GetSize();
        if (instruction.Encoding == EncodingKind.VEX)
        {
            return instruction.Mnemonic is Mnemonic.Vmovdqa or Mnemonic.Vmovntdq or Mnemonic.Vmovntdqa
                or Mnemonic.Vmovaps or Mnemonic.Vmovapd or Mnemonic.Vmovntps or Mnemonic.Vmovntpd ? size : 1;
        }

        if (size != 16)
        {
            return 1;
        }

        return instruction.Mnemonic is Mnemonic.Movdqu or Mnemonic.Lddqu or Mnemonic.Pcmpestri or Mnemonic.Pcmpestri64
            or Mnemonic.Pcmpestrm or Mnemonic.Pcmpestrm64 or Mnemonic.Pcmpistri or Mnemonic.Pcmpistrm ? 1 : 16;
    }

    /// <summary>The linear address of the memory operand, with the alignment check of <see cref="RequiredAlignment"/> (#GP(0)).</summary>
    private bool VectorMemoryChecks(in Instruction instruction, out Seg seg, out ulong offset)
    {
        seg = MemorySegment(instruction);
        offset = EffectiveAddress(instruction);
        int alignment = RequiredAlignment(instruction);
        if (alignment > 1)
        {
            if (!Linear(seg, offset, out ulong linear))
            {
                return false;
            }

            if ((linear & (ulong)(alignment - 1)) != 0)
            {
                return RaiseFault(Vector.GP, 0);
            }
        }

        return true;
    }

    /// <summary>Reads <paramref name="size"/> bytes (1 to 32) from the instruction's memory operand into the low bytes of <paramref name="value"/>.</summary>
    public bool ReadVectorMemory(in Instruction instruction, int size, out YmmRegister value)
    {
        value = default;
        if (!VectorMemoryChecks(instruction, out Seg seg, out ulong offset))
        {
            return false;
        }

        if (size < 8)
        {
            if (!Read(seg, offset, size, out ulong v))
            {
                return false;
            }

            value[0] = v;
            return true;
        }

        for (int k = 0; k < size / 8; k++)
        {
            if (!Read(seg, offset + (ulong)(8 * k), 8, out ulong q))
            {
                return false;
            }

            value[k] = q;
        }

        return true;
    }

    /// <summary>Writes the low <paramref name="size"/> bytes of <paramref name="value"/> to the memory operand, all or nothing.</summary>
    public bool WriteVectorMemory(in Instruction instruction, int size, in YmmRegister value)
    {
        if (!VectorMemoryChecks(instruction, out Seg seg, out ulong offset))
        {
            return false;
        }

        if (size < 8)
        {
            return Write(seg, offset, size, value[0]);
        }

        if (!ProbeWrite(seg, offset, size))
        {
            return false;
        }

        for (int k = 0; k < size / 8; k++)
        {
            if (!Write(seg, offset + (ulong)(8 * k), 8, value[k]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Reads vector operand <paramref name="n"/>: a register (MM, XMM, YMM, or a general register
    /// zero-extended) or memory of the instruction's memory size, into the low bytes of <paramref name="value"/>.
    /// </summary>
    public bool ReadVectorOperand(in Instruction instruction, int n, out YmmRegister value)
    {
        if (instruction.GetOpKind(n) == OpKind.Memory)
        {
            return ReadVectorMemory(instruction, instruction.MemorySize.GetSize(), out value);
        }

        Register register = instruction.GetOpRegister(n);
        if (register.IsGPR())
        {
            value = default;
            value[0] = GetReg(register);
            return true;
        }

        ReadVectorRegister(register, out value);
        return true;
    }

    /// <summary>Reads an XMM register or m128 operand (the name the SSE helpers share).</summary>
    public bool ReadXmmOperand(in Instruction instruction, int n, out YmmRegister value) => ReadVectorOperand(instruction, n, out value);

    /// <summary>Writes the low 128 bits of XMM register <paramref name="index"/> as a legacy SSE instruction does (bits 255:128 unchanged).</summary>
    public void WriteXmm(int index, ulong low, ulong high)
    {
        ref YmmRegister r = ref Ymm(index);
        r[0] = low;
        r[1] = high;
    }

    /// <summary>Views a vector value as bytes.</summary>
    public static Span<byte> Bytes(ref YmmRegister value) => MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref value[0], 4));
}
