using System.Runtime.CompilerServices;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu;

/// <summary>
/// Operand access for instruction semantics: registers by Iced <see cref="Register"/>, effective
/// addresses, and generic reads and writes of operand <c>n</c> whatever its kind. Writes to a
/// 32-bit register clear bits 63..32, 8- and 16-bit writes merge (SDM Vol. 1 3.4.1.1).
/// </summary>
public sealed unsafe partial class X86Cpu
{
    private static readonly byte[] s_gprIndex = BuildRegisterTable(out s_gprSize, out s_gprHigh);
    private static readonly byte[] s_gprSize;
    private static readonly bool[] s_gprHigh;

    private static byte[] BuildRegisterTable(out byte[] sizes, out bool[] high)
    {
        int count = Enum.GetValues<Register>().Length;
        var index = new byte[count];
        sizes = new byte[count];
        high = new bool[count];
        Array.Fill(index, (byte)0xFF);
        foreach (Register r in Enum.GetValues<Register>())
        {
            if (!r.IsGPR())
            {
                continue;
            }

            sizes[(int)r] = (byte)r.GetSize();
            if (r is Register.AH or Register.CH or Register.DH or Register.BH)
            {
                index[(int)r] = (byte)(r - Register.AH);
                high[(int)r] = true;
            }
            else
            {
                index[(int)r] = (byte)(r.GetFullRegister() - Register.RAX);
            }
        }

        return index;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong SizeMask(int size) => size == 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong SignBit(int size) => 1UL << ((size * 8) - 1);

    /// <summary>Sign-extends the low <paramref name="size"/> bytes of <paramref name="value"/> to 64 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong SignExtend(ulong value, int size) => size switch
    {
        1 => (ulong)(sbyte)value,
        2 => (ulong)(short)value,
        4 => (ulong)(int)value,
        _ => value,
    };

    public static int RegisterSize(Register register) => s_gprSize[(int)register];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong GetReg(Register register)
    {
        int i = (int)register;
        ulong full = S.Gpr[s_gprIndex[i]];
        return s_gprSize[i] switch
        {
            1 => s_gprHigh[i] ? (full >> 8) & 0xFF : full & 0xFF,
            2 => full & 0xFFFF,
            4 => full & 0xFFFFFFFF,
            _ => full,
        };
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void SetReg(Register register, ulong value)
    {
        int i = (int)register;
        ref ulong full = ref S.Gpr[s_gprIndex[i]];
        switch (s_gprSize[i])
        {
            case 1:
                full = s_gprHigh[i] ? (full & ~0xFF00UL) | ((value & 0xFF) << 8) : (full & ~0xFFUL) | (value & 0xFF);
                break;
            case 2:
                full = (full & ~0xFFFFUL) | (value & 0xFFFF);
                break;
            case 4:
                full = value & 0xFFFFFFFF;
                break;
            default:
                full = value;
                break;
        }
    }

    /// <summary>The segment a memory operand uses, after overrides (Iced resolves the default).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Seg MemorySegment(in Instruction instruction) => (Seg)(instruction.MemorySegment - Register.ES);

    /// <summary>The effective address (offset within the segment) of the memory operand, wrapped to the address size.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong EffectiveAddress(in Instruction instruction)
    {
        // The common case: base and index (each optional, at least one present) are 16-, 32- or
        // 64-bit GPRs, which Iced numbers in encoding order from AX, 16 per width. Adding the
        // full registers and wrapping once gives the same low bits as wrapping each term.
        uint b = (uint)instruction.MemoryBase - (uint)Register.AX;
        uint x = (uint)instruction.MemoryIndex - (uint)Register.AX;
        ulong* gpr = (ulong*)_state;
        ulong ea = instruction.MemoryDisplacement64;
        uint width;
        if (b < 48)
        {
            ea += gpr[b & 15];
            width = b >> 4;
            if (x < 48)
            {
                ea += gpr[x & 15] * (ulong)instruction.MemoryIndexScale;
                width = x >> 4;
            }
            else if (instruction.MemoryIndex != Register.None)
            {
                return EffectiveAddressSlow(instruction);
            }
        }
        else if (x < 48 && instruction.MemoryBase == Register.None)
        {
            ea += gpr[x & 15] * (ulong)instruction.MemoryIndexScale;
            width = x >> 4;
        }
        else
        {
            return EffectiveAddressSlow(instruction);
        }

        // width: 0 for 16-bit, 1 for 32-bit, 2 for 64-bit address registers.
        return width == 2 ? ea : ea & ((1UL << (16 << (int)width)) - 1);
    }

    /// <summary>RIP-relative, absolute (displacement only) and anything unusual.</summary>
    private ulong EffectiveAddressSlow(in Instruction instruction)
    {
        Register baseReg = instruction.MemoryBase;
        Register indexReg = instruction.MemoryIndex;
        ulong ea = instruction.MemoryDisplacement64;
        int addressSize = 0;
        if (baseReg == Register.RIP)
        {
            return ea;
        }

        if (baseReg == Register.EIP)
        {
            return ea & 0xFFFFFFFF;
        }

        if (baseReg != Register.None)
        {
            ea += GetReg(baseReg);
            addressSize = s_gprSize[(int)baseReg];
        }

        if (indexReg != Register.None)
        {
            ea += GetReg(indexReg) * (ulong)instruction.MemoryIndexScale;
            addressSize = s_gprSize[(int)indexReg];
        }

        // Without base or index Iced has already sized the displacement for the address size.
        return addressSize switch
        {
            2 => ea & 0xFFFF,
            4 => ea & 0xFFFFFFFF,
            _ => ea,
        };
    }

    /// <summary>
    /// Iced's GetOpKind(n) and GetOpRegister(n) switch on n and throw on a bad one, so RyuJIT does
    /// not inline them: every operand access of every interpreted instruction paid two calls. The
    /// handlers pass n as a constant, so these fold to one field read.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static OpKind KindOf(in Instruction instruction, int n) => n switch
    {
        0 => instruction.Op0Kind,
        1 => instruction.Op1Kind,
        2 => instruction.Op2Kind,
        _ => instruction.GetOpKind(n),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Register RegisterOf(in Instruction instruction, int n) => n switch
    {
        0 => instruction.Op0Register,
        1 => instruction.Op1Register,
        2 => instruction.Op2Register,
        _ => instruction.GetOpRegister(n),
    };

    /// <summary>Iced's GetImmediate(n) without its calls: the immediate of operand n, sign-extended as Iced extends it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ImmediateOf(in Instruction instruction, int n) => KindOf(instruction, n) switch
    {
        OpKind.Immediate8 => instruction.Immediate8,
        OpKind.Immediate16 => instruction.Immediate16,
        OpKind.Immediate32 => instruction.Immediate32,
        OpKind.Immediate64 => instruction.Immediate64,
        OpKind.Immediate8to16 => (ulong)instruction.Immediate8to16,
        OpKind.Immediate8to32 => (ulong)instruction.Immediate8to32,
        OpKind.Immediate8to64 => (ulong)instruction.Immediate8to64,
        OpKind.Immediate32to64 => (ulong)instruction.Immediate32to64,
        _ => instruction.GetImmediate(n),
    };

    /// <summary>The size in bytes of operand <paramref name="n"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int OperandSize(in Instruction instruction, int n)
    {
        switch (KindOf(instruction, n))
        {
            case OpKind.Register:
                return s_gprSize[(int)RegisterOf(instruction, n)] is var size and > 0 ? size : RegisterOf(instruction, n).GetSize();
            case OpKind.Memory:
                return instruction.MemorySize.GetSize();
            case OpKind.Immediate8:
                return 1;
            case OpKind.Immediate16:
            case OpKind.Immediate8to16:
                return 2;
            case OpKind.Immediate32:
            case OpKind.Immediate8to32:
                return 4;
            default:
                return 8;
        }
    }

    /// <summary>Reads operand <paramref name="n"/> (register, memory or immediate), zero-extended.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool ReadOperand(in Instruction instruction, int n, int size, out ulong value)
    {
        switch (KindOf(instruction, n))
        {
            case OpKind.Register:
                value = GetReg(RegisterOf(instruction, n));
                return true;
            case OpKind.Memory:
                return Read(MemorySegment(instruction), EffectiveAddress(instruction), size, out value);
            default:
                value = ImmediateOf(instruction, n) & SizeMask(size);
                return true;
        }
    }

    /// <summary>Writes operand <paramref name="n"/> (register or memory).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool WriteOperand(in Instruction instruction, int n, int size, ulong value)
    {
        if (KindOf(instruction, n) == OpKind.Register)
        {
            SetReg(RegisterOf(instruction, n), value);
            return true;
        }

        return Write(MemorySegment(instruction), EffectiveAddress(instruction), size, value);
    }

    /// <summary>For a read-modify-write operand: checks a memory destination is writable before any state changes.</summary>
    public bool ProbeOperandWrite(in Instruction instruction, int n, int size)
    {
        return KindOf(instruction, n) != OpKind.Memory || ProbeWrite(MemorySegment(instruction), EffectiveAddress(instruction), size);
    }
}
