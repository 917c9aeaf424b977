using Emulator.Cpu.Simd;
using Emulator.Cpu.Tests.Fma;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;

namespace Emulator.Cpu.Tests.Simd;

/// <summary>
/// The legacy SSE float instructions with OE or UE unmasked against the host (HostYmm catches the
/// #XM): the handler is meant to get the result rounded to full precision with an unbounded
/// exponent (SDM Vol. 1 4.9.1.4, 4.9.1.5, 11.5.2), so PE says whether THAT rounding was inexact,
/// not whether the denormalized or overflowed result was. Hand-picked operands for each outcome:
/// a tiny or huge result exact at full precision but not once denormalized (UE or OE alone), one
/// inexact at full precision too (UE or OE with PE), an exact denormal, and the same cases with
/// the exception masked (UE and PE, no fault). Every rounding mode.
/// </summary>
public class UnmaskedRoundingTests
{
    private static readonly Code[] s_codes =
    [
        Code.Mulss_xmm_xmmm32, Code.Mulsd_xmm_xmmm64, Code.Mulps_xmm_xmmm128, Code.Mulpd_xmm_xmmm128,
        Code.Divss_xmm_xmmm32, Code.Divsd_xmm_xmmm64, Code.Addss_xmm_xmmm32, Code.Addsd_xmm_xmmm64,
        Code.Subps_xmm_xmmm128, Code.Cvtsd2ss_xmm_xmmm64,
    ];

    /// <summary>Only UE, only OE, both, and both with PE unmasked; with DAZ+FTZ once.</summary>
    private static readonly uint[] s_environments = [0x1780, 0x1B80, 0x1380, 0x0380, 0x1780 | Mxcsr.Daz | Mxcsr.Ftz, 0x1F80];

    public static TheoryData<Engine, string> Rows()
    {
        var data = new TheoryData<Engine, string>();
        foreach (var engine in Enum.GetValues<Engine>())
        {
            foreach (var code in s_codes)
            {
                data.Add(engine, code.ToString());
            }
        }

        return data;
    }

    private static ulong Make(FloatFormat f, int exponent, ulong fraction = 0, bool negative = false) =>
        (negative ? f.SignBit : 0) | ((ulong)(exponent + f.Bias) << f.FractionBits) | fraction;

    /// <summary>The (destination, source) operand pairs for <paramref name="mnemonic"/> in format <paramref name="f"/>.</summary>
    private static List<(string Name, ulong A, ulong B)> Pairs(Mnemonic mnemonic, FloatFormat f)
    {
        int p = f.FractionBits, emax = f.Bias, emin = 1 - f.Bias;
        ulong max = f.MaxFinite(false);
        ulong tinyExact = Make(f, emin, 1);            // (1+u) * 2^emin: exact at full precision once scaled down
        ulong three = Make(f, 1, f.QuietBit);
        return mnemonic switch
        {
            Mnemonic.Mulss or Mnemonic.Mulsd or Mnemonic.Mulps or Mnemonic.Mulpd =>
            [
                ("tiny, exact at full precision, inexact denormal", tinyExact, Make(f, -3)),
                ("tiny, inexact at full precision", tinyExact, Make(f, -3, 1)),
                ("tiny, exact denormal", Make(f, emin), Make(f, -2)),
                ("tiny before rounding, normal after", Make(f, emin), Make(f, -1, f.FractionMask)),
                ("huge, exact at full precision", max, Make(f, 1)),
                ("huge, inexact at full precision", max, Make(f, 0, 1)),
                ("huge negative, exact", max | f.SignBit, Make(f, 3)),
                ("below the denormals, exact", Make(f, emin), Make(f, -p - 4, negative: true)),
            ],
            Mnemonic.Divss or Mnemonic.Divsd =>
            [
                ("tiny, exact at full precision, inexact denormal", tinyExact, Make(f, 3)),
                ("tiny, inexact at full precision", Make(f, emin), three),
                ("tiny, exact denormal", Make(f, emin), Make(f, 2)),
                ("huge, exact at full precision", max, Make(f, -1)),
                ("huge, inexact at full precision", Make(f, emax), three | Make(f, -2)),
            ],
            Mnemonic.Addss or Mnemonic.Addsd or Mnemonic.Subps =>
            [
                ("huge, exact at full precision", max, mnemonic == Mnemonic.Subps ? max | f.SignBit : max),
                ("huge, inexact at full precision", max, mnemonic == Mnemonic.Subps ? Make(f, emax - p, negative: true) : Make(f, emax - p)),
                ("huge, half an ulp (tie)", max, mnemonic == Mnemonic.Subps ? Make(f, emax - p - 1, negative: true) : Make(f, emax - p - 1)),
                ("tiny difference (always exact)", Make(f, emin, 3), mnemonic == Mnemonic.Subps ? Make(f, emin, 1) : Make(f, emin, 1, negative: true)),
            ],
            _ => [],
        };
    }

    [RequiresHostAvxTheory]
    [MemberData(nameof(Rows))]
    public void ReportsFlagsLikeTheHost(Engine engine, string codeName)
    {
        var code = Enum.Parse<Code>(codeName);
        var instruction = Instruction.Create(code, Register.XMM0, Register.XMM1);
        var asm = new Assembler(64);
        asm.AddInstruction(instruction);
        byte[] bytes = asm.AssembleBytes(TestMachine.CodeAddress);
        bool single = code.Mnemonic() is Mnemonic.Mulss or Mnemonic.Mulps or Mnemonic.Divss or Mnemonic.Addss or Mnemonic.Subps;
        var f = single ? FloatFormat.Single : FloatFormat.Double;

        // CVTSD2SS: doubles whose float result is tiny or huge, exact at float precision or not.
        var pairs = code == Code.Cvtsd2ss_xmm_xmmm64
            ? new List<(string Name, ulong A, ulong B)>
            {
                ("tiny, exact at full precision, inexact denormal", 0, Make(FloatFormat.Double, -130, 1UL << 29)),
                ("tiny, inexact at full precision", 0, Make(FloatFormat.Double, -130, (1UL << 29) | 1)),
                ("tiny, exact denormal", 0, Make(FloatFormat.Double, -140)),
                ("huge, exact at full precision", 0, Make(FloatFormat.Double, 128)),
                ("huge, inexact at full precision", 0, Make(FloatFormat.Double, 200, 1)),
            }
            : Pairs(code.Mnemonic(), f);
        Assert.NotEmpty(pairs);

        using var m = FmaState.NewMachine();
        var failures = new List<string>();
        int cases = 0, faults = 0;
        foreach (var (name, a, b) in pairs)
        {
            foreach (uint environment in s_environments)
            {
                for (int rc = 0; rc < 4; rc++)
                {
                    var input = new FmaState { Mxcsr = environment | ((uint)rc << Mxcsr.RoundingShift) };
                    for (int k = 0; k < input.Ymm.Length; k++)
                    {
                        input.Ymm[k] = (byte)(0x5A ^ k);
                    }

                    int width = code == Code.Cvtsd2ss_xmm_xmmm64 ? 8 : f.Width / 8;
                    for (int lane = 0; lane < 16; lane += width)
                    {
                        Put(input, 0, lane, a, width);
                        Put(input, 1, lane, b, width);
                    }

                    var host = input.Clone();
                    host.RunOnHost(bytes);
                    var guest = input.Clone();
                    guest.RunOnGuest(m, bytes, engine);
                    cases++;
                    faults += host.Fault == FmaState.NoFault ? 0 : 1;
                    if (guest.Difference(host) is { } difference)
                    {
                        failures.Add($"`{instruction}` {name} ({a:x}, {b:x}) mxcsr {input.Mxcsr:x4}: guest vs host: {difference}");
                    }
                }
            }
        }

        Assert.True(faults > 0, "no case faulted on the host: the unmasked path went untested");
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases} cases differ:\n" + string.Join("\n", failures.Take(20)));
    }

    private static void Put(FmaState s, int register, int offset, ulong value, int width)
    {
        for (int k = 0; k < width; k++)
        {
            s.Ymm[(32 * register) + offset + k] = (byte)(value >> (8 * k));
        }
    }
}
