using Emulator.TestKit;
using Xunit;

namespace Emulator.Cpu.Tests.Fpu;

/// <summary>
/// FPREM and FPREM1 when no quotient is computed, against the host (<see cref="X87Oracle"/>): a
/// QNaN operand (NaN result, no exception), a masked invalid operation, an unmasked denormal
/// operand and an unmasked stack underflow (nothing written). SDM Vol. 2A FPREM defines C0, C1
/// and C3 only as quotient bits; the hardware reports a complete reduction (C2 = 0) and leaves
/// C0, C1 and C3 as they were. Found by the wide host-oracle run (seeds 1001-1004).
/// </summary>
public class FpremNoQuotientTests
{
    private static readonly (ulong, ushort) s_one = (0x8000_0000_0000_0000, 0x3FFF);
    private static readonly (ulong, ushort) s_three = (0xC000_0000_0000_0000, 0x4000);
    private static readonly (ulong, ushort) s_qnan = (0xC000_0000_0000_1234, 0x7FFF);
    private static readonly (ulong, ushort) s_denormal = (0x0000_0000_0000_0001, 0x0000);
    private static readonly (ulong, ushort) s_zero = (0, 0);

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void KeepsTheQuotientBitsAndClearsC2(Engine engine)
    {
        using var oracle = new X87Oracle(engine);
        var stacks = new (string Name, ushort Fcw, (ulong, ushort)[] Stack)[]
        {
            ("finite rem QNaN", 0x037F, [s_three, s_qnan]),
            ("QNaN rem finite", 0x037F, [s_qnan, s_one]),
            ("finite rem 0 (masked invalid)", 0x037F, [s_three, s_zero]),
            ("denormal rem 1, DE unmasked", 0x037D, [s_denormal, s_one]),
            ("ST(1) empty, IE unmasked", 0x037E, [s_three]),
            ("ST(1) empty, IE masked", 0x037F, [s_three]),
            ("3 rem 1 (a quotient)", 0x037F, [s_three, s_one]),
        };
        foreach (var (name, fcw, stack) in stacks)
        {
            // Every combination of C0, C1, C2 and C3 before the instruction.
            foreach (ushort before in new ushort[] { 0x0000, 0x4700, 0x4100, 0x0400, 0x0200, 0x4500 })
            {
                byte[] state = X87Oracle.State(fcw, 5, [.. stack.Select(v => (v.Item1, v.Item2))], before);
                oracle.Check($"fprem {name} fsw {before:x4}", a => a.fprem(), state);
                oracle.Check($"fprem1 {name} fsw {before:x4}", a => a.fprem1(), state);
            }
        }

        Assert.True(oracle.Failures.Count == 0, $"{oracle.Failures.Count} of {oracle.Cases} cases differ:\n" + string.Join("\n", oracle.Failures.Take(20)));
    }
}
