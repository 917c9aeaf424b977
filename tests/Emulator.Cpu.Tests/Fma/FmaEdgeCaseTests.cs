using Emulator.Cpu.Simd;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;

namespace Emulator.Cpu.Tests.Fma;

/// <summary>
/// Hand-picked operands where a fused multiply-add is easy to get wrong, each run as
/// VFMADD/VFMSUB/VFNMADD/VFNMSUB 231 SS and SD under every rounding mode, with and without
/// DAZ+FTZ, and with every exception unmasked, against the host: products that overflow or
/// underflow only before the addition, exact cancellation (fused and unfused results differ),
/// the signs of exact zeros, tininess after rounding at the normal boundary, sticky bits from a
/// tiny addend, invalid operations with a NaN addend, and which NaN wins among three.
/// EMU_WIDE=N (N &gt; 1) adds the 132 and 213 forms.
/// </summary>
public class FmaEdgeCaseTests
{
    private static readonly string[] s_families = ["fmadd", "fmsub", "fnmadd", "fnmsub"];

    public static TheoryData<Engine, string> Rows()
    {
        var data = new TheoryData<Engine, string>();
        foreach (var engine in Enum.GetValues<Engine>())
        {
            foreach (string family in s_families)
            {
                data.Add(engine, family);
            }
        }

        return data;
    }

    /// <summary>(-1)^sign * (1 + fraction / 2^FractionBits) * 2^exponent as bits of <paramref name="f"/>.</summary>
    private static ulong Make(FloatFormat f, int exponent, ulong fraction = 0, bool negative = false) =>
        (negative ? f.SignBit : 0) | ((ulong)(exponent + f.Bias) << f.FractionBits) | fraction;

    /// <summary>The edge operands (a, b, c) of a * b + c for format <paramref name="f"/>.</summary>
    private static List<(string Name, ulong A, ulong B, ulong C)> Triples(FloatFormat f)
    {
        int p = f.FractionBits;
        int emax = f.Bias, emin = 1 - f.Bias;
        ulong one = Make(f, 0), minusOne = Make(f, 0, negative: true), half = f.QuietBit; // 1.5 fraction
        ulong max = f.MaxFinite(false), minNormal = Make(f, emin), tinyDenormal = 1, bigDenormal = f.FractionMask;
        ulong qnan(uint payload, bool negative = false) => f.Infinity(negative) | f.QuietBit | payload;
        ulong snan(uint payload, bool negative = false) => f.Infinity(negative) | payload;
        ulong onePlusUlp = Make(f, 0, 1), oneMinusHalfUlp = Make(f, -1, f.FractionMask);
        return
        [
            ("product overflows, sum in range", Make(f, emax, half), Make(f, 0, half), max | f.SignBit),
            ("product overflows, sum overflows", max, Make(f, 1), max),
            ("max * 1 + half ulp (tie at the top)", max, one, Make(f, emax - p - 1)),
            ("product below the denormals, addend 1", Make(f, -(emax / 2) - p), Make(f, -(emax / 2) - p), one),
            ("product below the denormals, addend -1", Make(f, -(emax / 2) - p), Make(f, -(emax / 2) - p, 5), minusOne),
            ("product below the denormals, addend min normal", Make(f, -(emax / 2) - p), Make(f, -(emax / 2), 3), minNormal | f.SignBit),
            ("(1+u)(1-u/2) - 1", onePlusUlp, oneMinusHalfUlp, minusOne),
            ("(1+u)(1+u) - (1+2u)", onePlusUlp, onePlusUlp, Make(f, 0, 2, negative: true)),
            ("3 * 5 - 15 (exact zero)", Make(f, 1, half), Make(f, 2, half >> 1), Make(f, 3, (half >> 1) | (half >> 2), negative: true)),
            ("-3 * 5 + 15 (exact zero)", Make(f, 1, half, negative: true), Make(f, 2, half >> 1), Make(f, 3, (half >> 1) | (half >> 2))),
            ("+0 * 1 + -0", 0, one, f.SignBit),
            ("-0 * 1 + -0", f.SignBit, one, f.SignBit),
            ("+0 * -1 + +0", 0, minusOne, 0),
            ("denormal * 1 + 0", bigDenormal, one, 0),
            ("denormal * denormal + 1", bigDenormal, tinyDenormal, one),
            ("min normal * 0.5 + 0 (exact denormal)", minNormal, Make(f, -1), 0),
            ("min normal * (0.5+u) + 0 (inexact denormal)", minNormal, Make(f, -1, 1), 0),
            ("min normal * (1-u/2): tiny before, not after rounding", minNormal, oneMinusHalfUlp, 0),
            ("min normal * (1-u/2) - denormal", minNormal, oneMinusHalfUlp, tinyDenormal | f.SignBit),
            ("1 * 1 + smallest denormal (sticky)", one, one, tinyDenormal),
            ("1 * 1 - smallest denormal (sticky)", one, one, tinyDenormal | f.SignBit),
            ("2^(emax-1) * 2 - 2^-emax (large gap)", Make(f, emax - 1), Make(f, 1), Make(f, -emax + 3, negative: true)),
            ("inf * 0 + QNaN", f.Infinity(false), 0, qnan(7)),
            ("0 * inf + QNaN", 0, f.Infinity(true), qnan(7, true)),
            ("inf * 0 + 1", f.Infinity(false), 0, one),
            ("inf * denormal + -inf", f.Infinity(false), bigDenormal, f.Infinity(true)),
            ("inf * 1 - inf", f.Infinity(false), one, f.Infinity(true)),
            ("inf * -1 + -inf", f.Infinity(false), minusOne, f.Infinity(true)),
            ("1 * 1 + inf", one, one, f.Infinity(false)),
            ("SNaN, QNaN, QNaN", snan(1), qnan(2, true), qnan(3)),
            ("QNaN, SNaN, QNaN", qnan(1, true), snan(2), qnan(3, true)),
            ("QNaN, QNaN, SNaN", qnan(1), qnan(2), snan(3, true)),
            ("1, QNaN, SNaN", one, qnan(2, true), snan(3)),
            ("SNaN, 1, QNaN", snan(1, true), one, qnan(3)),
            ("denormal, QNaN, 1", bigDenormal, qnan(2), one),
        ];
    }

    [RequiresHostFmaTheory]
    [MemberData(nameof(Rows))]
    public void MatchesHost(Engine engine, string family)
    {
        bool wide = int.TryParse(Environment.GetEnvironmentVariable("EMU_WIDE"), out int w) && w > 1;
        string[] orders = wide ? ["132", "213", "231"] : ["231"];
        uint[] environments = [0x1F80, 0x1F80 | Mxcsr.Daz | Mxcsr.Ftz, 0];
        using var m = FmaState.NewMachine();
        var failures = new List<string>();
        int cases = 0;
        foreach (string order in orders)
        {
            foreach (var (type, f) in new[] { ("ss", FloatFormat.Single), ("sd", FloatFormat.Double) })
            {
                var mnemonic = Enum.Parse<Mnemonic>($"V{family}{order}{type}", ignoreCase: true);
                var code = Enum.GetValues<Code>().Single(c => c.Mnemonic() == mnemonic && c.Encoding() == EncodingKind.VEX);
                var instruction = Instruction.Create(code, Register.XMM0, Register.XMM1, Register.XMM2);
                var asm = new Assembler(64);
                asm.AddInstruction(instruction);
                byte[] bytes = asm.AssembleBytes(TestMachine.CodeAddress);

                // Operand roles from the digits (SDM: 132 is op1 * op3 + op2); XMM0-2 are op1-op3.
                int a = order[0] - '1', b = order[1] - '1', c = order[2] - '1';
                foreach (var (name, x, y, z) in Triples(f))
                {
                    foreach (uint environment in environments)
                    {
                        for (int rc = 0; rc < 4; rc++)
                        {
                            var input = new FmaState { Mxcsr = environment | ((uint)rc << Mxcsr.RoundingShift) };
                            for (int k = 0; k < input.Ymm.Length; k++)
                            {
                                input.Ymm[k] = (byte)(0xA5 ^ k);
                            }

                            Put(input, a, x, f);
                            Put(input, b, y, f);
                            Put(input, c, z, f);
                            var host = input.Clone();
                            host.RunOnHost(bytes);
                            var guest = input.Clone();
                            guest.RunOnGuest(m, bytes, engine);
                            cases++;
                            if (guest.Difference(host) is { } difference)
                            {
                                failures.Add($"`{instruction}` {name} ({x:x}, {y:x}, {z:x}) mxcsr {input.Mxcsr:x4}: guest vs host: {difference}");
                            }
                        }
                    }
                }
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {cases} cases differ:\n" + string.Join("\n", failures.Take(20)));
    }

    private static void Put(FmaState s, int register, ulong value, FloatFormat f)
    {
        for (int k = 0; k < f.Width / 8; k++)
        {
            s.Ymm[(32 * register) + k] = (byte)(value >> (8 * k));
        }
    }
}
