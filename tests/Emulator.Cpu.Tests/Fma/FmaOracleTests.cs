using Emulator.Cpu.Instructions;
using Emulator.Cpu.Simd;
using Emulator.Cpu.Tests.Simd;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using Random = System.Random;

namespace Emulator.Cpu.Tests.Fma;

/// <summary>
/// FMA3 and F16C against the host CPU, every VEX Code of each family (132/213/231, PS/PD/SS/SD,
/// 128 and 256 bits, register and [R15] memory sources; VCVTPH2PS and VCVTPS2PH with register
/// and memory operands): YMM0-15, MXCSR, memory and the fault (#XM for an unmasked exception)
/// compared bit for bit. Inputs mix random values with the edge cases of fused arithmetic: signed
/// zeros, denormals, infinities, QNaN and SNaN, products that overflow or underflow before the
/// addition, and addends equal to minus the rounded product (where fused and unfused results
/// differ); MXCSR has every rounding mode, DAZ and FTZ, and in a quarter of the cases a random
/// set of unmasked exceptions. Seeds are fixed; a mismatch prints the environment line that
/// reruns that one case. EMU_WIDE=N multiplies the number of cases.
/// </summary>
public class FmaOracleTests
{
    /// <summary>Reruns one case: "Code:seed", as a mismatch prints it.</summary>
    public const string CaseVariable = "EMU_FMA_CASE";

    /// <summary>Cases per Code: 96 FMA3 Codes share the budget with 4 F16C ones, which get more each.</summary>
    private static int CasesPerCode(string family) => family.StartsWith("cvt", StringComparison.Ordinal) ? 160 : 40;

    private static readonly string[] s_families = ["fmadd", "fmsub", "fnmadd", "fnmsub", "fmaddsub", "fmsubadd", "cvtph2ps", "cvtps2ph"];

    private static readonly FloatFormat s_half = new(5, 10);

    /// <summary>"fnmsub" for Vfnmsub231ps, "cvtph2ps" for Vcvtph2ps; null for other mnemonics.</summary>
    private static string? Family(Mnemonic mnemonic)
    {
        string name = mnemonic.ToString().ToLowerInvariant();
        if (name is "vcvtph2ps" or "vcvtps2ph")
        {
            return name[1..];
        }

        return name.Length > 6 && name.StartsWith("vf", StringComparison.Ordinal) && name[^5..^2] is "132" or "213" or "231"
            && name[^2..] is "ps" or "pd" or "ss" or "sd" && s_families.Contains(name[1..^5]) ? name[1..^5] : null;
    }

    private static IEnumerable<Code> Codes(string family) => Enum.GetValues<Code>()
        .Where(code => code.Encoding() == EncodingKind.VEX && code.ToOpCode().Mode64 && Family(code.Mnemonic()) == family);

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

    [Fact]
    public void EveryFmaAndF16cCodeIsImplemented()
    {
        var codes = s_families.SelectMany(Codes).ToList();
        Assert.Equal(96 + 2 + 2, codes.Count); // 96 FMA3 forms; VCVTPH2PS and VCVTPS2PH in two widths (register or memory is one Code)
        var missing = codes.Where(code => !InstructionTable.IsImplemented(code)).ToList();
        Assert.True(missing.Count == 0, "unimplemented: " + string.Join(", ", missing));
    }

    [RequiresHostFmaTheory]
    [MemberData(nameof(Rows))]
    public void MatchesHost(Engine engine, string family)
    {
        int wide = int.TryParse(Environment.GetEnvironmentVariable("EMU_WIDE"), out int w) && w > 0 ? w : 1;
        string? only = Environment.GetEnvironmentVariable(CaseVariable);
        using var m = FmaState.NewMachine();
        var failures = new List<string>();
        int cases = 0;
        foreach (Code code in Codes(family))
        {
            for (int n = 0; n < CasesPerCode(family) * wide; n++)
            {
                int seed = (StableHash(code.ToString()) * 7919) + n;
                if (only != null && only != $"{code}:{seed}")
                {
                    continue;
                }

                cases++;
                if (RunCase(m, engine, code, seed) is { } failure)
                {
                    failures.Add(failure);
                }
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {cases} cases differ (guest vs host):\n" + string.Join("\n", failures.Take(20)));
    }

    /// <summary>One case, reproducible from (code, seed) alone; null when guest and host agree.</summary>
    private static string? RunCase(TestMachine m, Engine engine, Code code, int seed)
    {
        var random = new Random(seed);
        var instruction = PackedIntegerOracleTests.Build(code, random, memory: random.Next(3) == 0);
        var input = RandomState(random, instruction);
        var asm = new Assembler(64);
        asm.AddInstruction(instruction);
        byte[] bytes = asm.AssembleBytes(TestMachine.CodeAddress);
        var host = input.Clone();
        host.RunOnHost(bytes);
        var guest = input.Clone();
        guest.RunOnGuest(m, bytes, engine);
        if (guest.Difference(host) is not { } difference)
        {
            return null;
        }

        return $"`{instruction}` mxcsr {input.Mxcsr:x4} inputs [{Inputs(input, instruction)}]: {difference}\n"
            + $"  rerun: {CaseVariable}={code}:{seed} dotnet test tests/Emulator.Cpu.Tests -c Release --filter \"FullyQualifiedName~FmaOracleTests&DisplayName~{engine}\"";
    }

    /// <summary>The element format of the instruction's sources.</summary>
    private static FloatFormat SourceFormat(Mnemonic mnemonic)
    {
        string name = mnemonic.ToString();
        return name == "Vcvtph2ps" ? s_half : name.EndsWith("pd", StringComparison.Ordinal) || name.EndsWith("sd", StringComparison.Ordinal) ? FloatFormat.Double : FloatFormat.Single;
    }

    private static FmaState RandomState(Random random, in Instruction instruction)
    {
        var s = new FmaState();
        var f = SourceFormat(instruction.Mnemonic);
        int bytes = f.Width / 8;
        for (int k = 0; k < s.Ymm.Length; k += bytes)
        {
            Write(s.Ymm.AsSpan(k, bytes), Value(random, f, instruction.Mnemonic == Mnemonic.Vcvtps2ph));
        }

        for (int k = 0; k < s.Data.Length; k += bytes)
        {
            Write(s.Data.AsSpan(k, bytes), Value(random, f, instruction.Mnemonic == Mnemonic.Vcvtps2ph));
        }

        if (random.Next(3) == 0 && Family(instruction.Mnemonic) is { } family && family.StartsWith('f'))
        {
            Cancel(random, s, instruction, f);
        }

        uint mxcsr = (uint)random.Next(4) << Mxcsr.RoundingShift;
        mxcsr |= random.Next(4) == 0 ? Mxcsr.Daz : 0;
        mxcsr |= random.Next(4) == 0 ? Mxcsr.Ftz : 0;
        mxcsr |= random.Next(4) == 0 ? (uint)random.Next(64) : 0;
        uint masks = Mxcsr.MaskBits;
        if (random.Next(4) == 0)
        {
            masks &= ~((uint)random.Next(1, 64) << Mxcsr.MaskShift);
        }

        s.Mxcsr = mxcsr | masks;
        return s;
    }

    /// <summary>
    /// Sets each addend element to plus or minus the rounded product of the multiplicands, so the
    /// fused result is the product's rounding error (exact cancellation when it is zero). The
    /// operand roles come from the digits of the mnemonic (SDM: 132 is op1 * op3 + op2).
    /// </summary>
    private static void Cancel(Random random, FmaState s, in Instruction instruction, FloatFormat f)
    {
        string digits = instruction.Mnemonic.ToString()[^5..^2];
        int a = digits[0] - '1', b = digits[1] - '1', c = digits[2] - '1';
        if (Aliases(instruction, c, a) || Aliases(instruction, c, b))
        {
            return;
        }

        int bytes = f.Width / 8;
        var addend = Operand(s, instruction, c);
        var x = Operand(s, instruction, a);
        var y = Operand(s, instruction, b);
        int lanes = Math.Min(addend.Length, Math.Min(x.Length, y.Length)) / bytes;
        for (int k = 0; k < lanes; k++)
        {
            ulong product;
            if (f.Width == 32)
            {
                float value = (float)((double)BitConverter.ToSingle(x[(k * 4)..]) * BitConverter.ToSingle(y[(k * 4)..]));
                product = BitConverter.SingleToUInt32Bits(value);
            }
            else
            {
                product = BitConverter.DoubleToUInt64Bits(BitConverter.ToDouble(x[(k * 8)..]) * BitConverter.ToDouble(y[(k * 8)..]));
            }

            product ^= random.Next(2) == 0 ? f.SignBit : 0;
            product += (ulong)random.Next(-1, 2) & (random.Next(4) == 0 ? ulong.MaxValue : 0); // now and then one ulp off
            Write(addend.Slice(k * bytes, bytes), product);
        }
    }

    private static bool Aliases(in Instruction instruction, int n, int other) =>
        instruction.GetOpKind(n) == OpKind.Register && instruction.GetOpKind(other) == OpKind.Register
        && instruction.GetOpRegister(n).GetNumber() == instruction.GetOpRegister(other).GetNumber();

    /// <summary>The bytes of operand <paramref name="n"/> in <paramref name="s"/>: its register, or its memory.</summary>
    private static Span<byte> Operand(FmaState s, in Instruction instruction, int n)
    {
        if (instruction.GetOpKind(n) == OpKind.Memory)
        {
            return s.Data.AsSpan((int)instruction.MemoryDisplacement64, instruction.MemorySize.GetSize());
        }

        Register r = instruction.GetOpRegister(n);
        return s.Ymm.AsSpan(32 * r.GetNumber(), r.IsYMM() ? 32 : 16);
    }

    private static string Inputs(FmaState s, in Instruction instruction)
    {
        var parts = new List<string>();
        for (int n = 0; n < instruction.OpCount; n++)
        {
            if (instruction.GetOpKind(n) is OpKind.Register or OpKind.Memory)
            {
                parts.Add(FmaState.Hex(Operand(s, instruction, n)));
            }
        }

        return string.Join(", ", parts);
    }

    private static void Write(Span<byte> target, ulong value)
    {
        for (int k = 0; k < target.Length; k++)
        {
            target[k] = (byte)(value >> (8 * k));
        }
    }

    /// <summary>
    /// A value of format <paramref name="f"/>: a special (zero, denormal, infinity, QNaN, SNaN), a
    /// number near the overflow or underflow threshold or near one, an exponent that makes a
    /// product overflow or underflow, or a number in the half-precision range for VCVTPS2PH.
    /// </summary>
    private static ulong Value(Random random, FloatFormat f, bool halfRange)
    {
        bool negative = random.Next(2) == 0;
        ulong sign = negative ? f.SignBit : 0;
        ulong fraction = (ulong)random.NextInt64() & f.FractionMask;
        if (random.Next(3) == 0)
        {
            fraction &= ~((1UL << random.Next(f.FractionBits)) - 1); // short significands: exact products and ties
        }

        int exponent;
        switch (random.Next(16))
        {
            case 0:
                return sign;
            case 1:
                return sign | Math.Max(fraction >> random.Next(f.FractionBits), 1);
            case 2:
                return f.Infinity(negative);
            case 3:
                return f.Infinity(negative) | f.QuietBit | fraction;
            case 4:
                return f.Infinity(negative) | Math.Max(fraction & ~f.QuietBit, 1);
            case 5:
                exponent = f.MaxExponent - 1 - random.Next(3);
                break;
            case 6:
                exponent = 1 + random.Next(3);
                break;
            case 7:
            case 8:
                exponent = f.Bias + ((f.Bias + 1) / 2 * (random.Next(2) == 0 ? 1 : -1)) + random.Next(-3, 4);
                break;
            case 9:
                exponent = f.Bias / 2 - random.Next(f.FractionBits + 4);
                break;
            default:
                exponent = halfRange ? f.Bias + random.Next(-27, 18) : f.Bias + random.Next(-10, 11);
                break;
        }

        return sign | ((ulong)Math.Clamp(exponent, 1, f.MaxExponent - 1) << f.FractionBits) | fraction;
    }

    private static int StableHash(string text)
    {
        uint hash = 2166136261;
        foreach (char ch in text)
        {
            hash = (hash ^ ch) * 16777619;
        }

        return (int)(hash & 0x3FFF_FFFF);
    }
}
