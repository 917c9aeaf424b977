using System.Buffers.Binary;
using Emulator.Cpu.Instructions;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using Random = System.Random;

namespace Emulator.Cpu.Tests.Simd;

/// <summary>
/// Every Iced Code of the SSE and AVX floating-point families (legacy, VEX.128 and VEX.256, each
/// encoding form) against the host CPU: registers and memory filled with edge values of both
/// formats (±0, denormals, ±inf, QNaN, SNaN, largest and smallest normals, values that round or
/// cancel), a random MXCSR (rounding, DAZ, FTZ, sticky flags; every exception masked, as the
/// host process must run), random registers and immediates, register and [R15] memory forms.
/// Compared bit for bit: general registers, flags, XMM, YMM upper halves, memory and MXCSR.
/// One theory row per family with a fixed seed; a mismatch prints the Code, the instruction and
/// the seed and case number that reproduce it (FLOAT_ORACLE_CASES widens the run).
/// </summary>
public class FloatOracleTests
{
    /// <summary>Families by legacy mnemonic (the VEX forms are V + the name); the AVX-only ones by their own.</summary>
    private static readonly Dictionary<string, string[]> s_families = new()
    {
        ["arith"] = ["Addps", "Addpd", "Addss", "Addsd", "Subps", "Subpd", "Subss", "Subsd", "Mulps", "Mulpd", "Mulss", "Mulsd", "Divps", "Divpd", "Divss", "Divsd"],
        ["minmax-sqrt"] = ["Minps", "Minpd", "Minss", "Minsd", "Maxps", "Maxpd", "Maxss", "Maxsd", "Sqrtps", "Sqrtpd", "Sqrtss", "Sqrtsd"],
        ["rcp-rsqrt"] = ["Rcpps", "Rcpss", "Rsqrtps", "Rsqrtss"],
        ["round"] = ["Roundps", "Roundpd", "Roundss", "Roundsd"],
        ["compare"] = ["Cmpps", "Cmppd", "Cmpss", "Cmpsd", "Comiss", "Comisd", "Ucomiss", "Ucomisd"],
        ["horizontal-dot"] = ["Addsubps", "Addsubpd", "Haddps", "Haddpd", "Hsubps", "Hsubpd", "Dpps", "Dppd"],
        ["moves"] = ["Movaps", "Movapd", "Movups", "Movupd", "Movntps", "Movntpd", "Movss", "Movsd", "Movlps", "Movlpd", "Movhps", "Movhpd",
            "Movhlps", "Movlhps", "Movmskps", "Movmskpd", "Movsldup", "Movshdup", "Movddup", "Insertps", "Extractps", "Stmxcsr"],
        ["logic-shuffle-blend"] = ["Andps", "Andpd", "Andnps", "Andnpd", "Orps", "Orpd", "Xorps", "Xorpd", "Shufps", "Shufpd",
            "Unpcklps", "Unpckhps", "Unpcklpd", "Unpckhpd", "Blendps", "Blendpd", "Blendvps", "Blendvpd"],
        ["convert"] = ["Cvtsi2ss", "Cvtsi2sd", "Cvtss2si", "Cvttss2si", "Cvtsd2si", "Cvttsd2si", "Cvtss2sd", "Cvtsd2ss", "Cvtps2pd", "Cvtpd2ps",
            "Cvtdq2ps", "Cvtps2dq", "Cvttps2dq", "Cvtdq2pd", "Cvtpd2dq", "Cvttpd2dq"],
        ["convert-mmx"] = ["Cvtpi2ps", "Cvtpi2pd", "Cvtps2pi", "Cvttps2pi", "Cvtpd2pi", "Cvttpd2pi"],
        ["avx-only"] = ["Vbroadcastss", "Vbroadcastsd", "Vbroadcastf128", "Vinsertf128", "Vextractf128", "Vperm2f128", "Vpermilps", "Vpermilpd",
            "Vpermps", "Vpermpd", "Vmaskmovps", "Vmaskmovpd", "Vtestps", "Vtestpd", "Vzeroupper", "Vzeroall"],
    };

    private static readonly int s_casesPerCode = int.TryParse(Environment.GetEnvironmentVariable("FLOAT_ORACLE_CASES"), out int n) ? n : 12;

    /// <summary>The Codes of <paramref name="family"/>: legacy and VEX forms usable in 64-bit mode.</summary>
    public static List<Code> Codes(string family)
    {
        var names = new HashSet<string>(s_families[family]);
        return [.. Enum.GetValues<Code>().Where(code =>
        {
            var info = code.ToOpCode();
            if (code.Encoding() is not (EncodingKind.Legacy or EncodingKind.VEX) || !info.Mode64)
            {
                return false;
            }

            // MOVSD and CMPSD also name the string instructions.
            if (Enumerable.Range(0, info.OpCount).Any(k => info.GetOpKind(k).ToString() is "seg_rSI" or "es_rDI" or "seg_rDI"))
            {
                return false;
            }

            string name = code.Mnemonic().ToString();
            if (names.Contains(name))
            {
                return true;
            }

            return code.Encoding() == EncodingKind.VEX && name.StartsWith('V') && names.Contains(char.ToUpperInvariant(name[1]) + name[2..]);
        })];
    }

    public static TheoryData<Engine, string> Families()
    {
        var data = new TheoryData<Engine, string>();
        foreach (var engine in Enum.GetValues<Engine>())
        {
            foreach (string family in s_families.Keys.Where(f => f != ReciprocalFamily))
            {
                data.Add(engine, family);
            }
        }

        return data;
    }

    /// <summary>Every VEX Code Iced files under AVX or AVX2 alone has a handler (FMA, F16C and the newer VEX extensions are other families).</summary>
    [Fact]
    public void EveryAvxAndAvx2CodeIsImplemented()
    {
        var missing = Enum.GetValues<Code>()
            .Where(code => code.Encoding() == EncodingKind.VEX && code.CpuidFeatures() is [CpuidFeature.AVX] or [CpuidFeature.AVX2])
            .Where(code => !InstructionTable.IsImplemented(code))
            .ToList();
        Assert.True(missing.Count == 0, "unimplemented: " + string.Join(", ", missing));
    }

    [Fact]
    public void EveryFamilyCodeIsImplemented()
    {
        var missing = s_families.Keys.SelectMany(Codes).Where(code => !InstructionTable.IsImplemented(code)).ToList();
        Assert.True(missing.Count == 0, "unimplemented: " + string.Join(", ", missing));
    }

    [RequiresHostAvxTheory]
    [MemberData(nameof(Families))]
    public void MatchesHost(Engine engine, string family) => Run(engine, family);

    /// <summary>RCP and RSQRT are approximations whose tables differ between CPU makers: compared where the host's are the modelled ones.</summary>
    [RequiresHostReciprocalTableTheory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void ReciprocalApproximationsMatchHost(Engine engine) => Run(engine, ReciprocalFamily);

    private const string ReciprocalFamily = "rcp-rsqrt";

    private static void Run(Engine engine, string family)
    {
        int seed = StableSeed(family);
        var random = new Random(seed);
        var failures = new List<string>();
        using var m = new TestMachine().LongMode();
        int cases = 0;
        foreach (Code code in Codes(family))
        {
            // The compares go through all 32 predicates (imm8[4:0]; the legacy forms read imm8[2:0]).
            bool predicates = code.Mnemonic().ToString().Contains("cmp", StringComparison.OrdinalIgnoreCase) && code.ToOpCode().OpCount == 3 + (code.Encoding() == EncodingKind.VEX ? 1 : 0);
            int count = predicates ? Math.Max(s_casesPerCode, 64) : s_casesPerCode;
            for (int n = 0; n < count; n++)
            {
                var instruction = PackedIntegerOracleTests.Build(code, random, memory: n % 3 == 2);
                if (predicates)
                {
                    instruction.Immediate8 = (byte)((n % 32) | (random.Next(8) << 5));
                }

                var input = RandomState(random);
                byte[] bytes = Assemble(instruction);
                var host = input.Clone();
                host.RunOnHost(a => a.db(bytes));
                var guest = input.Clone();
                m.S.Vector.Mxcsr = Mxcsr(guest);
                guest.RunOnGuest(m, bytes, engine);
                BinaryPrimitives.WriteUInt32LittleEndian(guest.Fxsave.AsSpan(HostSimd.MxcsrOffset), m.S.Vector.Mxcsr);
                cases++;
                var difference = guest.Difference(host);
                if (Mxcsr(guest) != Mxcsr(host))
                {
                    difference = (difference is null ? "" : difference + "; ") + $"mxcsr {Mxcsr(guest):x} vs {Mxcsr(host):x} (input {Mxcsr(input):x})";
                }

                if (difference is not null)
                {
                    failures.Add($"{code} `{instruction}` (family {family} seed {seed} case {cases}) inputs [{Inputs(instruction, input)}]: guest vs host: {difference}");
                }
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {cases} cases differ:\n" + string.Join("\n", failures.Take(25)));
    }

    /// <summary>
    /// What the instruction read, for a one-line reproduction: MXCSR, each vector or general
    /// register operand (vector registers as little-endian bytes, 32 for YMM) and the memory
    /// operand's bytes.
    /// </summary>
    public static string Inputs(in Instruction instruction, SimdMachineState input)
    {
        var parts = new List<string> { $"mxcsr={Mxcsr(input):x}" };
        for (int k = 0; k < instruction.OpCount; k++)
        {
            if (instruction.GetOpKind(k) == OpKind.Memory)
            {
                int offset = (int)instruction.MemoryDisplacement64;
                int size = Math.Min(instruction.MemorySize.GetSize(), HostSimd.DataBytes - offset);
                parts.Add($"[r15+{offset:x}]={Convert.ToHexString(input.Data.AsSpan(offset, Math.Max(size, 0)))}");
            }
            else if (instruction.GetOpKind(k) == OpKind.Register)
            {
                Register r = instruction.GetOpRegister(k);
                if (r.IsXMM() || r.IsYMM())
                {
                    int n = r.IsXMM() ? r - Register.XMM0 : r - Register.YMM0;
                    string low = Convert.ToHexString(input.Fxsave.AsSpan(HostSimd.XmmOffset + (16 * n), 16));
                    parts.Add($"{r.ToString().ToLowerInvariant()}={low}{(r.IsYMM() ? Convert.ToHexString(input.Upper.AsSpan(16 * n, 16)) : "")}");
                }
                else if (r.IsGPR())
                {
                    int slot = Array.IndexOf([Register.RAX, Register.RBX, Register.RCX, Register.RDX, Register.RSI, Register.RDI], r.GetFullRegister());
                    if (slot >= 0)
                    {
                        parts.Add($"{r.ToString().ToLowerInvariant()}={input.Gprs[slot]:x}");
                    }
                }
            }
        }

        return string.Join(" ", parts);
    }

    private static byte[] Assemble(Instruction instruction)
    {
        var asm = new Assembler(64);
        asm.AddInstruction(instruction);
        return asm.AssembleBytes(TestMachine.CodeAddress);
    }

    /// <summary>A seed from the family name that does not change between runs (string.GetHashCode does).</summary>
    private static int StableSeed(string family)
    {
        int h = 17;
        foreach (char ch in family)
        {
            h = (h * 31) + ch;
        }

        return h;
    }

    private static uint Mxcsr(SimdMachineState s) => BinaryPrimitives.ReadUInt32LittleEndian(s.Fxsave.AsSpan(HostSimd.MxcsrOffset));

    /// <summary>Random registers and memory of edge values, and a random MXCSR with every exception masked.</summary>
    public static SimdMachineState RandomState(Random random)
    {
        var s = SimdMachineState.Random(random);
        bool singles = random.Next(2) == 0;
        FillFloats(random, s.Fxsave.AsSpan(HostSimd.XmmOffset, 256), singles);
        FillFloats(random, s.Upper, singles);
        FillFloats(random, s.Data, singles);
        if (random.Next(4) == 0)
        {
            // Near-equal operands: each register close to the one before it (cancellation, equal compares).
            for (int k = 1; k < 16; k++)
            {
                var previous = s.Fxsave.AsSpan(HostSimd.XmmOffset + (16 * (k - 1)), 16);
                var current = s.Fxsave.AsSpan(HostSimd.XmmOffset + (16 * k), 16);
                previous.CopyTo(current);
                current[0] ^= (byte)random.Next(4);
            }
        }

        for (int k = 0; k < 6; k++)
        {
            if (random.Next(2) == 0)
            {
                s.Gprs[k] = Integer(random);
            }
        }

        uint mxcsr = 0x1F80 | (uint)(random.Next(4) << 13) | (random.Next(4) == 0 ? (uint)random.Next(0x40) : 0);
        mxcsr |= random.Next(3) == 0 ? 1u << 15 : 0; // FTZ
        mxcsr |= random.Next(3) == 0 ? 1u << 6 : 0;  // DAZ
        BinaryPrimitives.WriteUInt32LittleEndian(s.Fxsave.AsSpan(HostSimd.MxcsrOffset), mxcsr);
        return s;
    }

    private static void FillFloats(Random random, Span<byte> bytes, bool singles)
    {
        // A quarter of the states hold only special values, so that every pairing of them (inf/0,
        // inf-inf, 0*inf, SNaN with QNaN, denormal with zero) comes up.
        bool specials = random.Next(4) == 0;
        for (int k = 0; k + 8 <= bytes.Length; k += 8)
        {
            ulong value = singles
                ? Value(random, 8, 23, specials) | (Value(random, 8, 23, specials) << 32)
                : Value(random, 11, 52, specials);
            BinaryPrimitives.WriteUInt64LittleEndian(bytes[k..], value);
        }
    }

    private static ulong Value(Random random, int exponentBits, int fractionBits, bool specials) =>
        specials ? Special(random, exponentBits, fractionBits) : Edge(random, exponentBits, fractionBits);

    /// <summary>±0, ±inf, a QNaN, an SNaN, a denormal, ±1 or the largest finite value, with a random sign.</summary>
    public static ulong Special(Random random, int exponentBits, int fractionBits)
    {
        ulong sign = (ulong)random.Next(2) << (exponentBits + fractionBits);
        ulong maxExponent = (1UL << exponentBits) - 1;
        ulong quiet = 1UL << (fractionBits - 1);
        ulong payload = (ulong)random.Next(1, 1 << 8);
        return sign | random.Next(7) switch
        {
            0 => 0,
            1 => maxExponent << fractionBits,
            2 => (maxExponent << fractionBits) | quiet | payload,
            3 => (maxExponent << fractionBits) | payload,
            4 => payload,
            5 => (maxExponent >> 1) << fractionBits,
            _ => ((maxExponent - 1) << fractionBits) | ((1UL << fractionBits) - 1),
        };
    }

    private static ulong Integer(Random random) => random.Next(6) switch
    {
        0 => 0,
        1 => (ulong)random.Next(-1000, 1000),
        2 => 1UL << random.Next(64),
        3 => (ulong)(int)random.NextInt64(),
        4 => ((1UL << random.Next(64)) - 1) ^ (ulong)random.Next(4),
        _ => (ulong)random.NextInt64() * 0x9E37_79B9_7F4A_7C15,
    };

    /// <summary>A value of the format with edge cases weighted up (zeros, denormals, NaNs, extremes, integer boundaries, ties).</summary>
    public static ulong Edge(Random random, int exponentBits, int fractionBits)
    {
        ulong fractionMask = (1UL << fractionBits) - 1;
        ulong maxExponent = (1UL << exponentBits) - 1;
        ulong bias = maxExponent >> 1;
        ulong sign = (ulong)random.Next(2) << (exponentBits + fractionBits);
        ulong fraction = (ulong)random.NextInt64() & fractionMask;
        ulong exponent = random.Next(16) switch
        {
            0 or 1 => 0,                                                   // zero or denormal
            2 => maxExponent,                                              // infinity or NaN
            3 => 1,                                                        // smallest normals
            4 => maxExponent - 1,                                          // largest normals
            5 => (ulong)random.Next(1, 4),
            6 => maxExponent - (ulong)random.Next(1, 4),
            7 => bias + (ulong)random.Next(-3, 4),                         // around 1.0
            8 => (ulong)random.Next(1, 4) + (bias / 2),                    // products that underflow
            9 => maxExponent - (ulong)random.Next(1, 4) - (bias / 2),      // products that overflow
            10 => bias + (ulong)random.Next(29, 33),                       // around the 32-bit integer limits
            11 => bias + (ulong)random.Next(61, 65),                       // around the 64-bit integer limits
            12 => bias + (ulong)random.Next(0, 24),                        // values with a fraction part to round
            _ => (ulong)random.NextInt64(1, (long)maxExponent),
        };
        switch (random.Next(10))
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
                fraction = (fraction & ~((1UL << (fractionBits - 4)) - 1)) | (1UL << (fractionBits - 5));
                break;
            case 4:
                fraction = 1UL << random.Next(fractionBits); // one bit: SNaN or QNaN payloads, halves
                break;
        }

        return sign | (exponent << fractionBits) | fraction;
    }
}
