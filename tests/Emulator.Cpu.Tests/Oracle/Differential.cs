using System.Text;
using Emulator.Cpu.State;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;

namespace Emulator.Cpu.Tests.Oracle;

/// <summary>
/// The host-CPU differential harness of DESIGN.md for register-only instruction bodies: each case
/// runs natively through <see cref="HostCpu"/> and on an engine in 64-bit long mode with the same
/// RAX, RBX, RCX, RDX, RSI, RDI and arithmetic flags, then compares all six registers in full and
/// the six status flags except those Iced reports undefined for the body's instructions.
/// Mismatches are collected, so one test reports every failing case at once.
/// </summary>
public sealed class Differential : IDisposable
{
    /// <summary>CF, PF, AF, ZF, SF, OF: the flags compared.</summary>
    public const ulong StatusFlags = 0x8D5;

    /// <summary>Upper bits put above narrow operands, so merges and zero-extensions show.</summary>
    public const ulong Garbage = 0xA5C3_96E1_5A3C_691E;

    private static readonly int[] s_ourIndex = [CpuState.RAX, CpuState.RBX, CpuState.RCX, CpuState.RDX, CpuState.RSI, CpuState.RDI];
    private static readonly string[] s_names = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi"];

    private readonly TestMachine _machine = new();
    private readonly Engine _engine;
    private readonly List<string> _failures = [];

    public Differential(Engine engine)
    {
        _engine = engine;
    }

    public int Cases { get; private set; }

    /// <summary>Edge values of a width in bits (0, 1, 2, 0x7f.., 0x80.., all ones) and a few from a fixed seed.</summary>
    public static ulong[] Values(int bits, int seed = 1234, int randomCount = 3)
    {
        ulong mask = bits == 64 ? ulong.MaxValue : (1UL << bits) - 1;
        ulong sign = 1UL << (bits - 1);
        var values = new List<ulong> { 0, 1, 2, sign - 1, sign, sign + 1, mask };
        var random = new Random(seed + bits);
        for (int k = 0; k < randomCount; k++)
        {
            values.Add((ulong)random.NextInt64() * 0x9E37_79B9_7F4A_7C15 & mask);
        }

        return [.. values];
    }

    public static ulong SizeMask(int bits) => bits == 64 ? ulong.MaxValue : (1UL << bits) - 1;

    /// <summary>A value of <paramref name="bits"/> width with <see cref="Garbage"/> above it.</summary>
    public static ulong Dirty(ulong value, int bits) => bits == 64 ? value : (Garbage << bits) | value;

    /// <summary>The Iced code called <paramref name="name"/>, or null when Iced has no such form.</summary>
    public static Code? CodeOf(string name) => Enum.TryParse(name, out Code code) ? code : null;

    public static Register Gpr(Register full, int bits) => bits switch
    {
        8 => full switch { Register.RAX => Register.AL, Register.RBX => Register.BL, Register.RCX => Register.CL, Register.RDX => Register.DL, Register.RSI => Register.SIL, _ => Register.DIL },
        16 => full - Register.RAX + Register.AX,
        32 => full - Register.RAX + Register.EAX,
        _ => full,
    };

    public static Action<Assembler> Body(Instruction instruction) => a => a.AddInstruction(instruction);

    /// <summary>Runs one case on both sides; a mismatch is recorded under <paramref name="label"/>.</summary>
    public void Check(string label, Action<Assembler> body, ulong rax, ulong rbx = 0, ulong rcx = 0, ulong rdx = 0, ulong flags = 0, ulong rsi = 0, ulong rdi = 0, ulong? undefinedFlags = null)
    {
        Cases++;
        ulong inFlags = (flags & StatusFlags) | Flags.Reserved1;
        Span<ulong> init = [rax, rbx, rcx, rdx, rsi, rdi, inFlags];
        Span<ulong> host = [rax, rbx, rcx, rdx, rsi, rdi, inFlags];
        HostCpu.Execute(body, host);

        var m = _machine.LongMode();
        for (int k = 0; k < 6; k++)
        {
            m.S.Gpr[s_ourIndex[k]] = init[k];
        }

        m.S.Rflags = inFlags;
        m.Log.Clear();
        m.Load(a =>
        {
            body(a);
            a.hlt();
        });
        var reason = m.Run(_engine, 1000);
        ulong undefined = undefinedFlags ?? UndefinedFlags(body);
        var report = new StringBuilder();
        if (reason != StopReason.Halted)
        {
            report.Append($" stopped by {reason} at {m.S.Rip:x} ({string.Join(" | ", m.Log)})");
        }
        else
        {
            for (int k = 0; k < 6; k++)
            {
                ulong ours = m.S.Gpr[s_ourIndex[k]];
                if (ours != host[k])
                {
                    report.Append($" {s_names[k]}: host {host[k]:x} ours {ours:x};");
                }
            }

            ulong compared = StatusFlags & ~undefined;
            if ((m.S.Rflags & compared) != (host[HostCpu.FlagsSlot] & compared))
            {
                report.Append($" flags (mask {compared:x}): host {host[HostCpu.FlagsSlot] & compared:x} ours {m.S.Rflags & compared:x};");
            }
        }

        if (report.Length > 0)
        {
            _failures.Add($"{label} [rax={init[0]:x} rbx={init[1]:x} rcx={init[2]:x} rdx={init[3]:x} fl={inFlags:x}]:{report}");
        }
    }

    /// <summary>Fails with every recorded mismatch (and fails when no case ran: no test may assert nothing).</summary>
    public void AssertAllMatched()
    {
        Assert.True(Cases > 0, "no cases ran");
        Assert.True(_failures.Count == 0, $"{_failures.Count} of {Cases} cases differ from the host:\n{string.Join("\n", _failures.Take(40))}");
    }

    /// <summary>The union of the flags Iced says the body's instructions leave undefined.</summary>
    public static ulong UndefinedFlags(Action<Assembler> body)
    {
        var asm = new Assembler(64);
        body(asm);
        byte[] bytes = asm.AssembleBytes(0);
        var decoder = Iced.Intel.Decoder.Create(64, new ByteArrayCodeReader(bytes));
        ulong mask = 0;
        while (decoder.IP < (ulong)bytes.Length)
        {
            decoder.Decode(out var instruction);
            mask |= FlagMask.Undefined(instruction);
        }

        return mask;
    }

    public void Dispose() => _machine.Dispose();
}
