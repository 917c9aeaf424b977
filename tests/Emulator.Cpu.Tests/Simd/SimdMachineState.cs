using System.Buffers.Binary;
using Emulator.Cpu.State;
using Emulator.TestKit;
using Iced.Intel;

namespace Emulator.Cpu.Tests.Simd;

/// <summary>
/// The state a SIMD oracle case exchanges: six general registers and RFLAGS, an FXSAVE image
/// (x87/MMX registers with TOP = 0, XMM0-15), the upper halves of YMM0-15 and the 64 bytes at
/// [R15]. It runs a body on the host (<see cref="HostSimd"/>) or in a <see cref="TestMachine"/>
/// in long mode (R15 = <see cref="TestMachine.DataAddress"/>) and compares the two results.
/// </summary>
public sealed class SimdMachineState
{
    public ulong[] Gprs { get; } = new ulong[7];

    public byte[] Fxsave { get; } = new byte[512];

    public byte[] Upper { get; } = new byte[256];

    public byte[] Data { get; } = new byte[HostSimd.DataBytes];

    /// <summary>CR4.OSXSAVE (bit 18): lets VEX instructions run in the guest.</summary>
    private const ulong Cr4OsXsave = 1UL << 18;

    public SimdMachineState Clone()
    {
        var copy = new SimdMachineState();
        Gprs.CopyTo(copy.Gprs, 0);
        Fxsave.CopyTo(copy.Fxsave, 0);
        Upper.CopyTo(copy.Upper, 0);
        Data.CopyTo(copy.Data, 0);
        return copy;
    }

    /// <summary>
    /// Random registers and data. A third of the time every byte comes from a small alphabet (so
    /// compares and string searches hit), a third of the time every quadword is a small number
    /// (so variable shift counts stay in range).
    /// </summary>
    public static SimdMachineState Random(Random random)
    {
        var s = new SimdMachineState();
        int shape = random.Next(3);
        Fill(random, s.Fxsave, shape);
        Fill(random, s.Upper, shape);
        Fill(random, s.Data, shape);
        for (int k = 0; k < 6; k++)
        {
            s.Gprs[k] = (ulong)random.NextInt64() ^ ((ulong)random.Next() << 63);
        }

        s.Gprs[6] = 0x2 | ((ulong)random.Next() & 0x8D5);
        BinaryPrimitives.WriteUInt16LittleEndian(s.Fxsave.AsSpan(HostSimd.FcwOffset), 0x037F);
        BinaryPrimitives.WriteUInt16LittleEndian(s.Fxsave.AsSpan(HostSimd.FswOffset), 0);
        s.Fxsave[HostSimd.FtwOffset] = random.Next(2) == 0 ? (byte)0 : (byte)0xFF;
        s.Fxsave.AsSpan(5, 19).Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(s.Fxsave.AsSpan(HostSimd.MxcsrOffset), 0x1F80);
        BinaryPrimitives.WriteUInt32LittleEndian(s.Fxsave.AsSpan(28), 0);
        for (int k = 0; k < 8; k++)
        {
            s.Fxsave.AsSpan(HostSimd.StOffset + (16 * k) + 10, 6).Clear();
        }

        s.Fxsave.AsSpan(416).Clear();
        return s;
    }

    private static void Fill(Random random, Span<byte> bytes, int shape)
    {
        random.NextBytes(bytes);
        if (shape == 2)
        {
            for (int k = 0; k < bytes.Length; k++)
            {
                bytes[k] = k % 8 == 0 ? (byte)(bytes[k] % 70) : (byte)0;
            }
        }
        else if (shape == 1)
        {
            ReadOnlySpan<byte> alphabet = [0, 1, 2, 0x7F, 0x80, 0xFF, (byte)'a', (byte)'b'];
            for (int k = 0; k < bytes.Length; k++)
            {
                bytes[k] = alphabet[bytes[k] & 7];
            }
        }
    }

    /// <summary>Sets all 256 bits of YMM register <paramref name="index"/>.</summary>
    public void SetYmm(int index, ReadOnlySpan<byte> value)
    {
        value[..16].CopyTo(Fxsave.AsSpan(HostSimd.XmmOffset + (16 * index)));
        value[16..32].CopyTo(Upper.AsSpan(16 * index));
    }

    public void RunOnHost(Action<Assembler> body) => HostSimd.Execute(body, Gprs, Fxsave, Upper, Data);

    /// <summary>Loads this state into <paramref name="m"/> (already in long mode), runs <paramref name="code"/> then HLT, and reads the state back.</summary>
    public void RunOnGuest(TestMachine m, byte[] code, Engine engine)
    {
        ref CpuState s = ref m.S;
        int[] order = [CpuState.RAX, CpuState.RBX, CpuState.RCX, CpuState.RDX, CpuState.RSI, CpuState.RDI];
        for (int k = 0; k < 6; k++)
        {
            s.Gpr[order[k]] = Gprs[k];
        }

        s.Gpr[15] = TestMachine.DataAddress;
        s.Rflags = Gprs[6];
        s.Rip = TestMachine.CodeAddress;
        s.Halted = 0;
        s.Cr4 |= ControlBits.Cr4OSFXSR | ControlBits.Cr4OSXMMEXCPT | Cr4OsXsave;
        s.Vector.Xcr0 = 7;
        s.X87.Fcw = BinaryPrimitives.ReadUInt16LittleEndian(Fxsave.AsSpan(HostSimd.FcwOffset));
        s.X87.Fsw = BinaryPrimitives.ReadUInt16LittleEndian(Fxsave.AsSpan(HostSimd.FswOffset));
        byte abridged = Fxsave[HostSimd.FtwOffset];
        ushort full = 0;
        for (int k = 0; k < 8; k++)
        {
            full |= (ushort)(((abridged >> k) & 1) != 0 ? 0 : 3 << (2 * k));
            s.X87.Registers[k].Significand = BinaryPrimitives.ReadUInt64LittleEndian(Fxsave.AsSpan(HostSimd.StOffset + (16 * k)));
            s.X87.Registers[k].SignExponent = BinaryPrimitives.ReadUInt16LittleEndian(Fxsave.AsSpan(HostSimd.StOffset + (16 * k) + 8));
        }

        s.X87.Ftw = full;
        for (int k = 0; k < 16; k++)
        {
            s.Vector.Ymm[k][0] = BinaryPrimitives.ReadUInt64LittleEndian(Fxsave.AsSpan(HostSimd.XmmOffset + (16 * k)));
            s.Vector.Ymm[k][1] = BinaryPrimitives.ReadUInt64LittleEndian(Fxsave.AsSpan(HostSimd.XmmOffset + (16 * k) + 8));
            s.Vector.Ymm[k][2] = BinaryPrimitives.ReadUInt64LittleEndian(Upper.AsSpan(16 * k));
            s.Vector.Ymm[k][3] = BinaryPrimitives.ReadUInt64LittleEndian(Upper.AsSpan((16 * k) + 8));
        }

        m.Memory.WriteBytes(TestMachine.DataAddress, Data);
        m.Memory.WriteBytes(TestMachine.CodeAddress, [.. code, 0xF4]);
        m.Cpu.Blocks.Clear();
        m.RunToHlt(engine);

        s = ref m.S;
        for (int k = 0; k < 6; k++)
        {
            Gprs[k] = s.Gpr[order[k]];
        }

        Gprs[6] = s.Rflags;
        BinaryPrimitives.WriteUInt16LittleEndian(Fxsave.AsSpan(HostSimd.FswOffset), s.X87.Fsw);
        abridged = 0;
        for (int k = 0; k < 8; k++)
        {
            abridged |= (byte)(((s.X87.Ftw >> (2 * k)) & 3) != 3 ? 1 << k : 0);
            BinaryPrimitives.WriteUInt64LittleEndian(Fxsave.AsSpan(HostSimd.StOffset + (16 * k)), s.X87.Registers[k].Significand);
            BinaryPrimitives.WriteUInt16LittleEndian(Fxsave.AsSpan(HostSimd.StOffset + (16 * k) + 8), s.X87.Registers[k].SignExponent);
        }

        Fxsave[HostSimd.FtwOffset] = abridged;
        for (int k = 0; k < 16; k++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(Fxsave.AsSpan(HostSimd.XmmOffset + (16 * k)), s.Vector.Ymm[k][0]);
            BinaryPrimitives.WriteUInt64LittleEndian(Fxsave.AsSpan(HostSimd.XmmOffset + (16 * k) + 8), s.Vector.Ymm[k][1]);
            BinaryPrimitives.WriteUInt64LittleEndian(Upper.AsSpan(16 * k), s.Vector.Ymm[k][2]);
            BinaryPrimitives.WriteUInt64LittleEndian(Upper.AsSpan((16 * k) + 8), s.Vector.Ymm[k][3]);
        }

        m.Memory.ReadBytes(TestMachine.DataAddress, Data);
    }

    /// <summary>The differences from <paramref name="other"/>, or null: registers (RDI only when <paramref name="compareRdi"/>), arithmetic flags, FSW, tags, MMX/x87 registers, XMM, YMM upper halves, data.</summary>
    public string? Difference(SimdMachineState other, bool compareRdi = true)
    {
        var lines = new List<string>();
        string[] names = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi"];
        for (int k = 0; k < 6; k++)
        {
            if (Gprs[k] != other.Gprs[k] && (k != 5 || compareRdi))
            {
                lines.Add($"{names[k]} {Gprs[k]:x} vs {other.Gprs[k]:x}");
            }
        }

        if ((Gprs[6] & 0x8D5) != (other.Gprs[6] & 0x8D5))
        {
            lines.Add($"flags {Gprs[6] & 0x8D5:x} vs {other.Gprs[6] & 0x8D5:x}");
        }

        Compare(lines, "fsw", Fxsave.AsSpan(HostSimd.FswOffset, 2), other.Fxsave.AsSpan(HostSimd.FswOffset, 2));
        Compare(lines, "ftw", Fxsave.AsSpan(HostSimd.FtwOffset, 1), other.Fxsave.AsSpan(HostSimd.FtwOffset, 1));
        for (int k = 0; k < 8; k++)
        {
            Compare(lines, $"mm{k}", Fxsave.AsSpan(HostSimd.StOffset + (16 * k), 10), other.Fxsave.AsSpan(HostSimd.StOffset + (16 * k), 10));
        }

        for (int k = 0; k < 16; k++)
        {
            Compare(lines, $"xmm{k}", Fxsave.AsSpan(HostSimd.XmmOffset + (16 * k), 16), other.Fxsave.AsSpan(HostSimd.XmmOffset + (16 * k), 16));
            Compare(lines, $"ymm{k}.upper", Upper.AsSpan(16 * k, 16), other.Upper.AsSpan(16 * k, 16));
        }

        Compare(lines, "data", Data, other.Data);
        return lines.Count == 0 ? null : string.Join("; ", lines);
    }

    private static void Compare(List<string> lines, string name, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if (!a.SequenceEqual(b))
        {
            lines.Add($"{name} {Convert.ToHexString(a)} vs {Convert.ToHexString(b)}");
        }
    }
}
