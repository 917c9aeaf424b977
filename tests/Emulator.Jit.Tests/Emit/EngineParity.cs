using Emulator.Cpu;
using Emulator.Cpu.State;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;

namespace Emulator.Jit.Tests.Emit;

/// <summary>
/// Runs one program on the interpreter and on the JIT (every block compiled on first entry) from
/// the same registers, flags and memory, and compares the full result: all sixteen registers, RIP,
/// RFLAGS, the stop reason, retired instructions and the data and stack pages.
/// </summary>
public static class EngineParity
{
    public const ulong DataAddress = TestMachine.DataAddress;

    public sealed record Outcome(StopReason Reason, ulong[] Gpr, ulong Rip, ulong Rflags, ulong Retired, byte[] Data, byte[] Stack, long Inlined, long CompiledInstructions, long RegionTransitions = 0, long RegionsDropped = 0);

    /// <param name="optimizeThreshold">The JIT's <see cref="Emulator.Jit.Tiering.JitOptions.OptimizeThreshold"/>; null keeps the default (quick tier first).</param>
    public static Outcome Run(Engine engine, int bitness, Action<Assembler> program, ulong[] gpr, ulong flags, long budget = 100_000, long? optimizeThreshold = null)
    {
        using var m = new TestMachine().Mode(bitness).Load(program);
        if (optimizeThreshold is { } threshold)
        {
            m.JitOptimizeThreshold = threshold;
        }

        for (int r = 0; r < 16; r++)
        {
            m.S.Gpr[r] = gpr[r];
        }

        m.S.Rflags = (flags & Flags.Arith) | Flags.Reserved1;
        var random = new Random(7);
        var data = new byte[0x2000];
        random.NextBytes(data);
        m.Memory.WriteBytes(DataAddress, data);
        var reason = m.Run(engine, budget);
        Assert.DoesNotContain(m.Log, line => line.Contains("internal error", StringComparison.Ordinal) || line.Contains("jit:", StringComparison.Ordinal));
        var outData = new byte[data.Length];
        var stack = new byte[0x200];
        m.Memory.ReadBytes(DataAddress, outData);
        m.Memory.ReadBytes(TestMachine.StackTop - 0x100, stack);
        var regs = new ulong[16];
        for (int r = 0; r < 16; r++)
        {
            regs[r] = m.S.Gpr[r];
        }

        return new Outcome(reason, regs, m.S.Rip, m.S.Rflags, m.S.InstructionsRetired, outData, stack, m.Jit?.Statistics.InstructionsInlined ?? 0, m.Cpu.CompiledInstructions, m.Cpu.RegionTransitions, m.Jit?.Statistics.RegionsDropped ?? 0);
    }

    /// <summary>
    /// Runs on both engines and asserts equal outcomes; returns the JIT's. The JIT runs either tier
    /// policy, chosen by the label (deterministically, about half each): the quick tier first, or
    /// every block optimized at once (<see cref="Emulator.Jit.Tiering.JitOptions.OptimizeThreshold"/> 0).
    /// Running both for every program would double the parity tests' time.
    /// </summary>
    public static Outcome AssertSame(string label, int bitness, Action<Assembler> program, ulong[] gpr, ulong flags, long budget = 100_000)
    {
        bool optimized = (StableHash(label) & 1) != 0;
        var expected = Run(Engine.Interpreter, bitness, program, gpr, flags, budget);
        var actual = Run(Engine.Jit, bitness, program, gpr, flags, budget, optimized ? 0 : null);
        AssertEqual(optimized ? $"{label} (optimized)" : label, expected, actual);
        return actual;
    }

    /// <summary>FNV-1a of the label (string.GetHashCode differs between runs).</summary>
    private static uint StableHash(string text)
    {
        uint hash = 2166136261;
        foreach (char c in text)
        {
            hash = (hash ^ c) * 16777619;
        }

        return hash;
    }

    private static void AssertEqual(string label, Outcome expected, Outcome actual)
    {
        Assert.True(expected.Reason == actual.Reason, $"{label}: stop {actual.Reason}, interpreter {expected.Reason}");
        for (int r = 0; r < 16; r++)
        {
            Assert.True(expected.Gpr[r] == actual.Gpr[r], $"{label}: r{r} = {actual.Gpr[r]:x}, interpreter {expected.Gpr[r]:x}");
        }

        Assert.True(expected.Rip == actual.Rip, $"{label}: rip {actual.Rip:x}, interpreter {expected.Rip:x}");
        Assert.True(expected.Rflags == actual.Rflags, $"{label}: rflags {actual.Rflags:x}, interpreter {expected.Rflags:x}");
        Assert.True(expected.Retired == actual.Retired, $"{label}: retired {actual.Retired}, interpreter {expected.Retired}");
        Assert.True(expected.Data.AsSpan().SequenceEqual(actual.Data), $"{label}: data pages differ");
        Assert.True(expected.Stack.AsSpan().SequenceEqual(actual.Stack), $"{label}: stack differs");
    }
}
