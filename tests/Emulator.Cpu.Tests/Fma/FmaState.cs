using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.Cpu.Tests.Exceptions;
using Emulator.TestKit;

namespace Emulator.Cpu.Tests.Fma;

/// <summary>
/// The state an FMA/F16C oracle case exchanges: YMM0-15, MXCSR, the 64 bytes at [R15], and
/// whether the instruction faulted. It runs on the host (<see cref="HostYmm"/>, which survives an
/// unmasked #XM) or in a <see cref="TestMachine"/> in long mode with an IDT whose stubs record
/// the vector (<see cref="LongModeIdt"/>), with CR4.OSXMMEXCPT set like Linux sets it on the host.
/// </summary>
public sealed class FmaState
{
    public const int NoFault = -1;
    private const ulong Cr4OsXsave = 1UL << 18;
    private const int R8 = 8, R15 = 15;

    public byte[] Ymm { get; } = new byte[512];

    public byte[] Data { get; } = new byte[HostYmm.DataBytes];

    public uint Mxcsr { get; set; }

    /// <summary>The vector of the fault the instruction took, or <see cref="NoFault"/>.</summary>
    public int Fault { get; set; } = NoFault;

    public FmaState Clone()
    {
        var copy = new FmaState { Mxcsr = Mxcsr, Fault = Fault };
        Ymm.CopyTo(copy.Ymm, 0);
        Data.CopyTo(copy.Data, 0);
        return copy;
    }

    public void RunOnHost(byte[] code)
    {
        uint mxcsr = Mxcsr;
        // Linux runs with CR4.OSXMMEXCPT = 1, so an unmasked SIMD exception is #XM (SIGFPE); #UD is SIGILL.
        Fault = HostYmm.Execute(a => a.db(code), Ymm, ref mxcsr, Data) switch
        {
            0 => NoFault,
            HostYmm.SigFpe => Vector.XM,
            HostYmm.SigIll => Vector.UD,
            int signal => 1000 + signal,
        };
        Mxcsr = mxcsr;
    }

    /// <summary>A long-mode machine with the recording IDT, for <see cref="RunOnGuest"/>.</summary>
    public static TestMachine NewMachine()
    {
        var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        return m;
    }

    public void RunOnGuest(TestMachine m, byte[] code, Engine engine)
    {
        ref CpuState s = ref m.S;
        s.Rip = TestMachine.CodeAddress;
        s.Halted = 0;
        s.Gpr[CpuState.RSP] = TestMachine.StackTop;
        s.Gpr[R8] = unchecked((ulong)NoFault);
        s.Gpr[R15] = TestMachine.DataAddress;
        s.Cr4 |= ControlBits.Cr4OSFXSR | ControlBits.Cr4OSXMMEXCPT | Cr4OsXsave;
        s.Vector.Xcr0 = 7;
        s.Vector.Mxcsr = Mxcsr;
        for (int k = 0; k < 16; k++)
        {
            for (int q = 0; q < 4; q++)
            {
                s.Vector.Ymm[k][q] = BitConverter.ToUInt64(Ymm, (32 * k) + (8 * q));
            }
        }

        m.Memory.WriteBytes(TestMachine.DataAddress, Data);
        m.Memory.WriteBytes(TestMachine.CodeAddress, [.. code, 0xF4]);
        m.Cpu.Blocks.Clear();
        m.RunToHlt(engine);

        s = ref m.S;
        Fault = (int)(long)s.Gpr[R8];
        Mxcsr = s.Vector.Mxcsr;
        for (int k = 0; k < 16; k++)
        {
            for (int q = 0; q < 4; q++)
            {
                BitConverter.TryWriteBytes(Ymm.AsSpan((32 * k) + (8 * q)), s.Vector.Ymm[k][q]);
            }
        }

        m.Memory.ReadBytes(TestMachine.DataAddress, Data);
    }

    /// <summary>The differences from <paramref name="other"/> (fault, MXCSR, each YMM register, data), or null.</summary>
    public string? Difference(FmaState other)
    {
        var lines = new List<string>();
        if (Fault != other.Fault)
        {
            lines.Add($"fault {Fault} vs {other.Fault}");
        }

        if (Mxcsr != other.Mxcsr)
        {
            lines.Add($"mxcsr {Mxcsr:x4} vs {other.Mxcsr:x4}");
        }

        for (int k = 0; k < 16; k++)
        {
            var a = Ymm.AsSpan(32 * k, 32);
            var b = other.Ymm.AsSpan(32 * k, 32);
            if (!a.SequenceEqual(b))
            {
                lines.Add($"ymm{k} {Hex(a)} vs {Hex(b)}");
            }
        }

        if (!Data.AsSpan().SequenceEqual(other.Data))
        {
            lines.Add($"data {Convert.ToHexString(Data)} vs {Convert.ToHexString(other.Data)}");
        }

        return lines.Count == 0 ? null : string.Join("; ", lines);
    }

    /// <summary>A 32-byte register as four quadwords, most significant first (as a debugger shows it).</summary>
    public static string Hex(ReadOnlySpan<byte> register)
    {
        var parts = new string[register.Length / 8];
        for (int q = 0; q < parts.Length; q++)
        {
            parts[parts.Length - 1 - q] = BitConverter.ToUInt64(register[(8 * q)..]).ToString("x16");
        }

        return string.Join("_", parts);
    }
}
