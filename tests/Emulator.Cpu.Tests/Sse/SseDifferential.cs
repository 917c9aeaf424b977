using Emulator.Cpu.State;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;

namespace Emulator.Cpu.Tests.Sse;

/// <summary>
/// The host-CPU oracle for SSE floating point: a register-only body runs natively through
/// <see cref="HostSse"/> and on an engine in 64-bit mode with the same XMM0-15, MXCSR, RAX, RCX,
/// RDX and status flags; all of them are compared bit for bit afterwards. Inputs are drawn from
/// edge values (signed zeros, denormals, the normal range ends, infinities, QNaN and SNaN
/// payloads, near-equal pairs for cancellation, near-overflow and near-underflow products) and
/// random bits, with a random rounding mode, FTZ, DAZ and sticky flags in MXCSR (every exception
/// masked, as the host needs).
/// </summary>
public sealed class SseDifferential : IDisposable
{
    private readonly TestMachine _machine = new();
    private readonly Engine _engine;
    private readonly List<string> _failures = [];
    private readonly Random _random;

    public SseDifferential(Engine engine, int seed)
    {
        _engine = engine;
        _random = new Random(seed);
        _machine.LongMode();
        _machine.S.Cr4 |= ControlBits.Cr4OSFXSR | ControlBits.Cr4OSXMMEXCPT;
    }

    public int Cases { get; private set; }

    /// <summary>Runs <paramref name="cases"/> random cases of <paramref name="body"/>.</summary>
    public void Run(string label, Action<Assembler> body, int cases)
    {
        using var host = new HostSse(body);
        _machine.Load(a =>
        {
            body(a);
            a.hlt();
        });
        _machine.Cpu.Blocks.Clear();
        Span<ulong> input = stackalloc ulong[HostSse.Slots];
        Span<ulong> native = stackalloc ulong[HostSse.Slots];
        Span<ulong> memory = stackalloc ulong[8];
        for (int n = 0; n < cases; n++)
        {
            RandomState(input);
            RandomMemory(memory, input);
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(memory).CopyTo(host.Data);
            input.CopyTo(native);
            host.Run(native);
            Compare(label, input, native, memory, host.Data);
        }
    }

    /// <summary>The 64 bytes RSI points at: lanes like the registers', sometimes a copy of XMM1.</summary>
    private void RandomMemory(Span<ulong> memory, ReadOnlySpan<ulong> registers)
    {
        for (int k = 0; k < memory.Length; k++)
        {
            memory[k] = registers[(2 * _random.Next(3, 16)) + _random.Next(2)];
        }

        // Bytes 60-63 hold an MXCSR for LDMXCSR: every exception masked (the host runs it too).
        uint mxcsr = 0x1F80 | (uint)(_random.Next(4) << 13) | (uint)_random.Next(0x40) | (_random.Next(2) == 0 ? 0x8000u : 0);
        memory[7] = (memory[7] & 0xFFFF_FFFF) | ((ulong)mxcsr << 32);
    }

    private void Compare(string label, ReadOnlySpan<ulong> input, ReadOnlySpan<ulong> native, ReadOnlySpan<ulong> memoryIn, ReadOnlySpan<byte> memoryOut)
    {
        Cases++;
        var m = _machine;
        ref CpuState s = ref m.S;
        for (int k = 0; k < memoryIn.Length; k++)
        {
            m.Memory.Write(TestMachine.DataAddress + (ulong)(8 * k), 8, memoryIn[k]);
        }

        s.Gpr[CpuState.RSI] = TestMachine.DataAddress;
        for (int k = 0; k < 16; k++)
        {
            s.Vector.Ymm[k][0] = input[2 * k];
            s.Vector.Ymm[k][1] = input[(2 * k) + 1];
        }

        s.Vector.Mxcsr = (uint)input[HostSse.MxcsrSlot];
        s.Gpr[CpuState.RAX] = input[HostSse.RaxSlot];
        s.Gpr[CpuState.RCX] = input[HostSse.RcxSlot];
        s.Gpr[CpuState.RDX] = input[HostSse.RdxSlot];
        s.Rflags = input[HostSse.FlagsSlot];
        s.Rip = TestMachine.CodeAddress;
        s.Halted = 0;
        m.Log.Clear();
        var reason = m.Run(_engine, 100);
        var report = new System.Text.StringBuilder();
        if (reason != StopReason.Halted)
        {
            report.Append($" stopped by {reason} at {s.Rip:x} ({string.Join(" | ", m.Log)})");
        }
        else
        {
            for (int k = 0; k < 16; k++)
            {
                if (s.Vector.Ymm[k][0] != native[2 * k] || s.Vector.Ymm[k][1] != native[(2 * k) + 1])
                {
                    report.Append($" xmm{k}: host {native[(2 * k) + 1]:x16}_{native[2 * k]:x16} ours {s.Vector.Ymm[k][1]:x16}_{s.Vector.Ymm[k][0]:x16};");
                }
            }

            if (s.Vector.Mxcsr != (uint)native[HostSse.MxcsrSlot])
            {
                report.Append($" mxcsr: host {native[HostSse.MxcsrSlot]:x} ours {s.Vector.Mxcsr:x};");
            }

            (int Slot, int Index, string Name)[] gprs = [(HostSse.RaxSlot, CpuState.RAX, "rax"), (HostSse.RcxSlot, CpuState.RCX, "rcx"), (HostSse.RdxSlot, CpuState.RDX, "rdx")];
            foreach (var (slot, index, name) in gprs)
            {
                if (s.Gpr[index] != native[slot])
                {
                    report.Append($" {name}: host {native[slot]:x} ours {s.Gpr[index]:x};");
                }
            }

            for (int k = 0; k < memoryIn.Length; k++)
            {
                ulong hostValue = BitConverter.ToUInt64(memoryOut.Slice(8 * k, 8));
                ulong ours = m.Memory.Read(TestMachine.DataAddress + (ulong)(8 * k), 8);
                if (ours != hostValue)
                {
                    report.Append($" memory+{8 * k}: host {hostValue:x} ours {ours:x};");
                }
            }

            if ((s.Rflags & Flags.Arith) != (native[HostSse.FlagsSlot] & Flags.Arith))
            {
                report.Append($" flags: host {native[HostSse.FlagsSlot] & Flags.Arith:x} ours {s.Rflags & Flags.Arith:x};");
            }
        }

        if (report.Length > 0)
        {
            _failures.Add($"{label} [xmm0={input[1]:x16}_{input[0]:x16} xmm1={input[3]:x16}_{input[2]:x16} xmm2={input[5]:x16}_{input[4]:x16} mxcsr={input[HostSse.MxcsrSlot]:x} rax={input[HostSse.RaxSlot]:x}]:{report}");
        }
    }

    public void AssertAllMatched()
    {
        Assert.True(Cases > 0, "no cases ran");
        Assert.True(_failures.Count == 0, $"{_failures.Count} of {Cases} cases differ from the host:\n{string.Join("\n", _failures.Take(30))}");
    }

    private void RandomState(Span<ulong> block)
    {
        // A lane format per case, so that lanes hold edge values of the format the body reads.
        bool singles = _random.Next(2) == 0;
        for (int k = 0; k < 32; k++)
        {
            block[k] = singles ? (ulong)Single() | ((ulong)Single() << 32) : Double();
        }

        if (_random.Next(4) == 0)
        {
            // Near-equal operands: XMM1 close to XMM0 (cancellation, equal compares).
            for (int k = 0; k < 2; k++)
            {
                block[2 + k] = block[k] ^ (ulong)_random.Next(4);
            }
        }

        uint mxcsr = 0x1F80 | (uint)(_random.Next(4) << 13) | (uint)_random.Next(0x40);
        if (_random.Next(3) == 0)
        {
            mxcsr |= 1u << 15; // FTZ
        }

        if (_random.Next(3) == 0)
        {
            mxcsr |= 1u << 6; // DAZ
        }

        block[HostSse.MxcsrSlot] = mxcsr;
        block[HostSse.RaxSlot] = Integer();
        block[HostSse.RcxSlot] = Integer();
        block[HostSse.RdxSlot] = Integer();
        block[HostSse.FlagsSlot] = 0x2 | ((ulong)_random.Next(0x1000) & Flags.Arith);
    }

    private ulong Integer() => _random.Next(6) switch
    {
        0 => 0,
        1 => (ulong)_random.Next(-1000, 1000),
        2 => 1UL << _random.Next(64),
        3 => (ulong)(int)_random.NextInt64(),
        4 => ((1UL << _random.Next(64)) - 1) ^ (ulong)_random.Next(4),
        _ => (ulong)_random.NextInt64() * 0x9E37_79B9_7F4A_7C15,
    };

    private uint Single() => (uint)Edge(8, 23);

    private ulong Double() => Edge(11, 52);

    /// <summary>A value of the format with edge cases weighted up.</summary>
    private ulong Edge(int exponentBits, int fractionBits)
    {
        ulong fractionMask = (1UL << fractionBits) - 1;
        ulong maxExponent = (1UL << exponentBits) - 1;
        ulong bias = (maxExponent >> 1);
        ulong sign = (ulong)_random.Next(2) << (exponentBits + fractionBits);
        ulong fraction = (ulong)_random.NextInt64() & fractionMask;
        ulong exponent = _random.Next(14) switch
        {
            0 => 0,                                                     // zero or denormal
            1 => 0,
            2 => maxExponent,                                           // infinity or NaN
            3 => 1,                                                     // smallest normals
            4 => maxExponent - 1,                                       // largest normals
            5 => (ulong)_random.Next(1, 4),
            6 => maxExponent - (ulong)_random.Next(1, 4),
            7 => bias + (ulong)_random.Next(-3, 4),                     // around 1.0
            8 => (ulong)_random.Next(1, 4) + (bias / 2),                 // products that underflow
            9 => maxExponent - (ulong)_random.Next(1, 4) - (bias / 2),   // products that overflow
            _ => (ulong)_random.NextInt64(1, (long)maxExponent),
        };
        switch (_random.Next(10))
        {
            case 0:
                fraction = 0;
                break;
            case 1:
                fraction = fractionMask;
                break;
            case 2:
                fraction &= 0xF; // few bits: exact results, ties
                break;
            case 3:
                fraction = (fraction & ~((1UL << (fractionBits - 4)) - 1)) | 1UL << (fractionBits - 5);
                break;
        }

        return sign | (exponent << fractionBits) | fraction;
    }

    public void Dispose() => _machine.Dispose();
}
