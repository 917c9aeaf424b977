using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using Xunit.Abstractions;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Fpu;

/// <summary>
/// FSIN, FCOS, FSINCOS, FPTAN, FPATAN, F2XM1, FYL2X, FYL2XP1 against the host within one ulp of
/// the 64-bit significand (SDM Vol. 1 8.3.10 promises that accuracy, not correct rounding), over
/// each instruction's domain, in every rounding mode. C1 (the round-up bit) is not compared: it
/// follows the rounding of an approximation on either side.
/// </summary>
public class X87TranscendentalOracleTests(ITestOutputHelper output)
{
    private const int Cases = 1000;

    public static TheoryData<Engine, string> Functions()
    {
        var data = new TheoryData<Engine, string>();
        foreach (Engine e in Enum.GetValues<Engine>())
        {
            foreach (string f in new[] { "fsin", "fcos", "fsincos", "fptan", "fpatan", "f2xm1", "fyl2x", "fyl2xp1" })
            {
                data.Add(e, f);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Functions))]
    public void WithinOneUlpOfHost(Engine engine, string function)
    {
        Action<Assembler> body = function switch
        {
            "fsin" => a => a.fsin(),
            "fcos" => a => a.fcos(),
            "fsincos" => a => a.fsincos(),
            "fptan" => a => a.fptan(),
            "fpatan" => a => a.fpatan(),
            "f2xm1" => a => a.f2xm1(),
            "fyl2x" => a => a.fyl2x(),
            _ => a => a.fyl2xp1(),
        };
        using var oracle = new X87Oracle(engine);
        var random = new Random(function.Length * 7919);
        for (int n = 0; n < Cases; n++)
        {
            var x = Operand(random, function);
            var y = Operand(random, "any");
            ushort fcw = (ushort)(0x037F | (random.Next(4) << 10));
            oracle.Check($"{function}", body, X87Oracle.State(fcw, random.Next(8), [x, y]), withinOneUlp: true, fswMask: unchecked((ushort)~X86Cpu.FswC1));
        }

        output.WriteLine($"{oracle.Cases} cases, {oracle.Failures.Count} differ");
        oracle.AssertAllMatched();
    }

    /// <summary>An operand in the function's domain: trigonometric |x| &lt; 2^62, F2XM1 |x| &lt;= 1, FYL2X x &gt; 0, FYL2XP1 |x| &lt; 0.29.</summary>
    private static (ulong, ushort) Operand(Random random, string function)
    {
        if (random.Next(6) == 0)
        {
            // Zeros, denormals, infinities, NaNs, unsupported encodings; F2XM1 and FYL2XP1 are
            // undefined outside their domains, so they get only the specials inside them.
            var special = X87Values.Specials[random.Next(X87Values.Specials.Length)];
            int exponent = special.SignExponent & 0x7FFF;
            bool inDomain = function switch
            {
                "f2xm1" => exponent <= 16383 || exponent == 0x7FFF,
                "fyl2xp1" => exponent < 16381 || exponent == 0x7FFF,
                _ => true,
            };
            if (inDomain)
            {
                return special;
            }
        }

        ulong significand = (ulong)random.NextInt64() | (1UL << 63);
        int sign = random.Next(2) << 15;
        int e = function switch
        {
            "fsin" or "fcos" or "fsincos" or "fptan" => random.Next(-40, 62),
            "f2xm1" => random.Next(-70, 0),
            "fyl2xp1" => random.Next(-70, -2),
            "fyl2x" => random.Next(-200, 200),
            _ => random.Next(-100, 100),
        };
        if (function == "fyl2x")
        {
            sign = 0;
            if (random.Next(8) == 0)
            {
                // Near 1, where log2 cancels.
                e = random.Next(2) - 1;
                significand = e == 0 ? (1UL << 63) + (uint)random.Next(1 << 20) : ulong.MaxValue - (uint)random.Next(1 << 20);
            }
        }

        return (significand, (ushort)(sign | (16383 + e)));
    }
}
