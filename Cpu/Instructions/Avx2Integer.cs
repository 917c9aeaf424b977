using System.Runtime.InteropServices;
using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// The AVX2 integer instructions that have no legacy SSE twin (SDM Vol. 2, one page each):
/// broadcasts, cross-lane permutes, 128-bit inserts and extracts, masked moves, per-element
/// variable shifts, VPBLENDD and the gathers. The VEX forms of the SSE instructions are in
/// <see cref="SimdInteger"/>. VEX.128 results clear bits 255:128 of the destination.
/// </summary>
public static class Avx2Integer
{
    /// <summary>VPBROADCASTB/W/D/Q and VBROADCASTI128: the low element of the source into every element.</summary>
    public static void Broadcast(X86Cpu c, in Instruction i)
    {
        if (!SimdInteger.Begin(c, i, out _) || !c.ReadVectorOperand(i, 1, out YmmRegister source))
        {
            return;
        }

        int size = i.Mnemonic switch
        {
            Mnemonic.Vpbroadcastb => 1,
            Mnemonic.Vpbroadcastw => 2,
            Mnemonic.Vpbroadcastd => 4,
            Mnemonic.Vpbroadcastq => 8,
            _ => 16,
        };
        YmmRegister r = default;
        var from = X86Cpu.Bytes(ref source)[..size];
        var to = X86Cpu.Bytes(ref r);
        for (int k = 0; k < SimdInteger.Width(i); k += size)
        {
            from.CopyTo(to[k..]);
        }

        SimdInteger.Commit(c, i, r, mmx: false);
    }

    /// <summary>
    /// VPERMD (dword k = source dword[index dword k mod 8], the indices in operand 1), VPERMQ
    /// (quadword k = source quadword[imm bits 2k+1:2k]), VPERM2I128 (each lane picked by an
    /// imm nibble: 0-3 the lanes of the two sources, bit 3 zero).
    /// </summary>
    public static void Permute(X86Cpu c, in Instruction i)
    {
        int last = i.Mnemonic == Mnemonic.Vpermq ? 1 : 2;
        if (!SimdInteger.Begin(c, i, out _) || !c.ReadVectorOperand(i, last, out YmmRegister b))
        {
            return;
        }

        YmmRegister a = default;
        if (i.Mnemonic != Mnemonic.Vpermq)
        {
            c.ReadVectorRegister(i.Op1Register, out a);
        }

        int imm = SimdInteger.Imm(i);
        YmmRegister r = default;
        switch (i.Mnemonic)
        {
            case Mnemonic.Vpermd:
                var index = MemoryMarshal.Cast<ulong, uint>(MemoryMarshal.CreateSpan(ref a[0], 4));
                var data = MemoryMarshal.Cast<ulong, uint>(MemoryMarshal.CreateSpan(ref b[0], 4));
                var result = MemoryMarshal.Cast<ulong, uint>(MemoryMarshal.CreateSpan(ref r[0], 4));
                for (int k = 0; k < 8; k++)
                {
                    result[k] = data[(int)(index[k] & 7)];
                }

                break;
            case Mnemonic.Vpermq:
                for (int k = 0; k < 4; k++)
                {
                    r[k] = b[(imm >> (2 * k)) & 3];
                }

                break;
            default:
                for (int lane = 0; lane < 2; lane++)
                {
                    int control = imm >> (4 * lane);
                    ref YmmRegister from = ref (control & 2) == 0 ? ref a : ref b;
                    int half = control & 1;
                    r[2 * lane] = (control & 8) != 0 ? 0 : from[2 * half];
                    r[(2 * lane) + 1] = (control & 8) != 0 ? 0 : from[(2 * half) + 1];
                }

                break;
        }

        SimdInteger.Commit(c, i, r, mmx: false);
    }

    /// <summary>VINSERTI128: operand 1 with lane imm[0] replaced by operand 2.</summary>
    public static void Insert128(X86Cpu c, in Instruction i)
    {
        if (!SimdInteger.Begin(c, i, out _) || !c.ReadVectorOperand(i, 2, out YmmRegister b))
        {
            return;
        }

        c.ReadVectorRegister(i.Op1Register, out YmmRegister r);
        int lane = SimdInteger.Imm(i) & 1;
        r[2 * lane] = b[0];
        r[(2 * lane) + 1] = b[1];
        SimdInteger.Commit(c, i, r, mmx: false);
    }

    /// <summary>VEXTRACTI128: lane imm[0] of the source to an XMM register (bits 255:128 cleared) or m128.</summary>
    public static void Extract128(X86Cpu c, in Instruction i)
    {
        if (!SimdInteger.Begin(c, i, out _))
        {
            return;
        }

        c.ReadVectorRegister(i.Op1Register, out YmmRegister source);
        int lane = SimdInteger.Imm(i) & 1;
        YmmRegister r = default;
        r[0] = source[2 * lane];
        r[1] = source[(2 * lane) + 1];
        if (i.Op0Kind == OpKind.Memory)
        {
            c.WriteVectorMemory(i, 16, r);
        }
        else
        {
            c.WriteVectorRegister(i.Op0Register, r, vex: true);
        }
    }

    /// <summary>
    /// VPMASKMOVD/Q and VMASKMOVPS/PD (SDM Vol. 2 VPMASKMOV, VMASKMOV; the same operation on 4- or
    /// 8-byte elements): a load (destination a register) takes the elements whose mask (operand 1)
    /// sign bit is set and zeroes the others; a store writes only those elements. Masked-off
    /// elements are never accessed, so they cannot fault; a store checks every selected element
    /// before writing any.
    /// </summary>
    public static void MaskedMove(X86Cpu c, in Instruction i)
    {
        if (!SimdInteger.Begin(c, i, out _))
        {
            return;
        }

        int size = i.Mnemonic is Mnemonic.Vpmaskmovd or Mnemonic.Vmaskmovps ? 4 : 8;
        int width = SimdInteger.Width(i);
        c.ReadVectorRegister(i.Op1Register, out YmmRegister mask);
        var maskBytes = X86Cpu.Bytes(ref mask);
        Seg seg = X86Cpu.MemorySegment(i);
        ulong address = c.EffectiveAddress(i);
        if (i.Op0Kind == OpKind.Memory)
        {
            c.ReadVectorRegister(i.Op2Register, out YmmRegister data);
            var bytes = X86Cpu.Bytes(ref data);
            for (int k = 0; k < width; k += size)
            {
                if ((maskBytes[k + size - 1] & 0x80) != 0 && !c.ProbeWrite(seg, address + (ulong)k, size))
                {
                    return;
                }
            }

            for (int k = 0; k < width; k += size)
            {
                if ((maskBytes[k + size - 1] & 0x80) != 0 && !c.Write(seg, address + (ulong)k, size, Element(bytes, k, size)))
                {
                    return;
                }
            }

            return;
        }

        YmmRegister r = default;
        var result = X86Cpu.Bytes(ref r);
        for (int k = 0; k < width; k += size)
        {
            if ((maskBytes[k + size - 1] & 0x80) != 0)
            {
                if (!c.Read(seg, address + (ulong)k, size, out ulong value))
                {
                    return;
                }

                MemoryMarshal.AsBytes(new Span<ulong>(ref value))[..size].CopyTo(result.Slice(k, size));
            }
        }

        SimdInteger.Commit(c, i, r, mmx: false);
    }

    /// <summary>The <paramref name="size"/>-byte little-endian element at <paramref name="offset"/>, zero-extended.</summary>
    private static ulong Element(ReadOnlySpan<byte> bytes, int offset, int size)
    {
        ulong value = 0;
        bytes.Slice(offset, size).CopyTo(MemoryMarshal.AsBytes(new Span<ulong>(ref value)));
        return value;
    }

    /// <summary>VPSLLVD/Q, VPSRLVD/Q, VPSRAVD: each element shifted by the count in the same element of operand 2.</summary>
    public static void VariableShift(X86Cpu c, in Instruction i)
    {
        if (!SimdInteger.Begin(c, i, out _) || !c.ReadVectorOperand(i, 2, out YmmRegister b))
        {
            return;
        }

        c.ReadVectorRegister(i.Op1Register, out YmmRegister a);
        YmmRegister r = default;
        int width = SimdInteger.Width(i);
        var x = X86Cpu.Bytes(ref a)[..width];
        var y = X86Cpu.Bytes(ref b)[..width];
        var z = X86Cpu.Bytes(ref r)[..width];
        switch (i.Mnemonic)
        {
            case Mnemonic.Vpsllvd: SimdLane.Each<uint>(x, y, z, static (v, n) => n > 31 ? 0 : v << (int)n); break;
            case Mnemonic.Vpsllvq: SimdLane.Each<ulong>(x, y, z, static (v, n) => n > 63 ? 0 : v << (int)n); break;
            case Mnemonic.Vpsrlvd: SimdLane.Each<uint>(x, y, z, static (v, n) => n > 31 ? 0 : v >> (int)n); break;
            case Mnemonic.Vpsrlvq: SimdLane.Each<ulong>(x, y, z, static (v, n) => n > 63 ? 0 : v >> (int)n); break;
            default: SimdLane.Each<uint>(x, y, z, static (v, n) => (uint)((int)v >> (int)Math.Min(n, 31))); break;
        }

        SimdInteger.Commit(c, i, r, mmx: false);
    }

    /// <summary>VPBLENDD: dword k from operand 2 where imm bit k is set, else from operand 1.</summary>
    public static void BlendDwords(X86Cpu c, in Instruction i)
    {
        if (!SimdInteger.Begin(c, i, out _) || !c.ReadVectorOperand(i, 2, out YmmRegister b))
        {
            return;
        }

        c.ReadVectorRegister(i.Op1Register, out YmmRegister a);
        int imm = SimdInteger.Imm(i);
        var x = MemoryMarshal.Cast<ulong, uint>(MemoryMarshal.CreateSpan(ref a[0], 4));
        var y = MemoryMarshal.Cast<ulong, uint>(MemoryMarshal.CreateSpan(ref b[0], 4));
        for (int k = 0; k < SimdInteger.Width(i) / 4; k++)
        {
            x[k] = ((imm >> k) & 1) != 0 ? y[k] : x[k];
        }

        SimdInteger.Commit(c, i, a, mmx: false);
    }

    /// <summary>
    /// VPGATHERDD/DQ/QD/QQ and VGATHERDPS/DPD/QPS/QPD (SDM Vol. 2B VPGATHERDD): for each element
    /// whose mask (operand 2) sign bit is set, load from base + index element * scale + disp,
    /// then clear that mask element. A fault stops with the elements done so far kept (the
    /// instruction restarts from there). #UD when the destination, index and mask registers are
    /// not all different. Elements past the count, and bits 255:128 for VEX.128, end up zero.
    /// </summary>
    public static void Gather(X86Cpu c, in Instruction i)
    {
        if (!SimdInteger.Begin(c, i, out _))
        {
            return;
        }

        Register destination = i.Op0Register, mask = i.Op2Register, index = i.MemoryIndex;
        int d = Number(destination), m = Number(mask), x = Number(index);
        if (d == m || d == x || m == x)
        {
            c.RaiseFault(Vector.UD);
            return;
        }

        string name = i.Mnemonic.ToString();
        int dataSize = name.EndsWith("ps", StringComparison.Ordinal) ? 4 : name.EndsWith("pd", StringComparison.Ordinal) ? 8 : name.EndsWith('d') ? 4 : 8;
        int indexSize = name.Contains("gatherd", StringComparison.OrdinalIgnoreCase) ? 4 : 8;
        int dataWidth = destination.IsYMM() ? 32 : 16, indexWidth = index.IsYMM() ? 32 : 16;
        int count = Math.Min(dataWidth / dataSize, indexWidth / indexSize);

        ref YmmRegister dst = ref c.Ymm(d);
        ref YmmRegister msk = ref c.Ymm(m);
        c.ReadVectorRegister(index, out YmmRegister indices);
        var dstBytes = MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref dst[0], 4));
        var maskBytes = MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref msk[0], 4));
        var indexBytes = X86Cpu.Bytes(ref indices);
        Seg seg = X86Cpu.MemorySegment(i);
        ulong baseAddress = (i.MemoryBase == Register.None ? 0 : c.GetReg(i.MemoryBase)) + i.MemoryDisplacement64;
        for (int k = 0; k < count; k++)
        {
            if ((maskBytes[(k * dataSize) + dataSize - 1] & 0x80) == 0)
            {
                continue;
            }

            ulong raw = Element(indexBytes, k * indexSize, indexSize);
            ulong offset = baseAddress + (X86Cpu.SignExtend(raw, indexSize) * (ulong)i.MemoryIndexScale);
            if (i.MemoryBase.GetSize() == 4)
            {
                offset &= 0xFFFF_FFFF;
            }

            if (!c.Read(seg, offset, dataSize, out ulong value))
            {
                return;
            }

            MemoryMarshal.AsBytes(new Span<ulong>(ref value))[..dataSize].CopyTo(dstBytes.Slice(k * dataSize, dataSize));
            maskBytes.Slice(k * dataSize, dataSize).Clear();
        }

        // Done: the whole mask is zero, and what lies past the elements gathered is zero too.
        maskBytes.Clear();
        dstBytes[(count * dataSize)..].Clear();
    }

    private static int Number(Register r) => r.IsYMM() ? r - Register.YMM0 : r - Register.XMM0;
}
