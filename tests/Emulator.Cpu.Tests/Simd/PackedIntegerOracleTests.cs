using System.Reflection;
using Emulator.Cpu.Instructions;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using Random = System.Random;

namespace Emulator.Cpu.Tests.Simd;

/// <summary>
/// Every Iced Code of the packed-integer families (legacy and VEX, each encoding form) against
/// the host CPU: random registers, random immediates, register and [R15] memory forms, compared
/// bit for bit (general registers, flags, MMX and x87 tag state, XMM, YMM upper halves, memory).
/// One theory row per CPUID feature set, so a failing family shows by name.
/// </summary>
public class PackedIntegerOracleTests
{
    /// <summary>The legacy mnemonics of the families under test (the VEX forms are V + the name).</summary>
    private static readonly HashSet<string> s_mnemonics =
    [
        "Paddb", "Paddw", "Paddd", "Paddq", "Psubb", "Psubw", "Psubd", "Psubq", "Paddsb", "Paddsw", "Paddusb", "Paddusw",
        "Psubsb", "Psubsw", "Psubusb", "Psubusw", "Pcmpeqb", "Pcmpeqw", "Pcmpeqd", "Pcmpeqq", "Pcmpgtb", "Pcmpgtw", "Pcmpgtd", "Pcmpgtq",
        "Pand", "Pandn", "Por", "Pxor", "Pmullw", "Pmulhw", "Pmulhuw", "Pmulld", "Pmuludq", "Pmuldq", "Pmulhrsw", "Pmaddwd", "Pmaddubsw",
        "Pavgb", "Pavgw", "Pminub", "Pmaxub", "Pminsb", "Pmaxsb", "Pminsw", "Pmaxsw", "Pminuw", "Pmaxuw", "Pminsd", "Pmaxsd", "Pminud", "Pmaxud",
        "Psadbw", "Psignb", "Psignw", "Psignd", "Packsswb", "Packuswb", "Packssdw", "Packusdw",
        "Punpcklbw", "Punpcklwd", "Punpckldq", "Punpcklqdq", "Punpckhbw", "Punpckhwd", "Punpckhdq", "Punpckhqdq",
        "Phaddw", "Phaddd", "Phaddsw", "Phsubw", "Phsubd", "Phsubsw", "Pshufb", "Palignr", "Pblendw", "Mpsadbw", "Pclmulqdq",
        "Aesenc", "Aesenclast", "Aesdec", "Aesdeclast", "Aesimc", "Aeskeygenassist",
        "Pabsb", "Pabsw", "Pabsd", "Pshufd", "Pshufw", "Pshuflw", "Pshufhw", "Phminposuw",
        "Psllw", "Pslld", "Psllq", "Psrlw", "Psrld", "Psrlq", "Psraw", "Psrad", "Pslldq", "Psrldq",
        "Movd", "Movq", "Movq2dq", "Movdq2q", "Movntq", "Movdqa", "Movdqu", "Lddqu", "Movntdq", "Movntdqa",
        "Pextrb", "Pextrw", "Pextrd", "Pextrq", "Pinsrb", "Pinsrw", "Pinsrd", "Pinsrq",
        "Pmovsxbw", "Pmovsxbd", "Pmovsxbq", "Pmovsxwd", "Pmovsxwq", "Pmovsxdq", "Pmovzxbw", "Pmovzxbd", "Pmovzxbq", "Pmovzxwd", "Pmovzxwq", "Pmovzxdq",
        "Pcmpestri", "Pcmpestri64", "Pcmpestrm", "Pcmpestrm64", "Pcmpistri", "Pcmpistrm",
        "Pmovmskb", "Ptest", "Pblendvb", "Maskmovq", "Maskmovdqu", "Emms", "Movnti", "Lfence", "Mfence", "Sfence",

        // AVX2 only (VEX forms without a legacy twin; the gathers are in GatherTests).
        "Pbroadcastb", "Pbroadcastw", "Pbroadcastd", "Pbroadcastq", "Broadcasti128", "Permd", "Permq", "Perm2i128",
        "Inserti128", "Extracti128", "Pmaskmovd", "Pmaskmovq", "Psllvd", "Psllvq", "Psrlvd", "Psrlvq", "Psravd", "Pblendd",
    ];

    private static readonly HashSet<string> s_hostFlags = HostFlags();

    private static HashSet<string> HostFlags()
    {
        string line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal)) ?? "";
        return [.. line.Split(' ', StringSplitOptions.RemoveEmptyEntries)];
    }

    private static string HostFlag(CpuidFeature f) => f switch
    {
        CpuidFeature.SSE3 => "pni",
        _ => f.ToString().ToLowerInvariant(),
    };

    /// <summary>The Codes under test: legacy and VEX forms of the mnemonics above, usable in 64-bit mode.</summary>
    private static IEnumerable<Code> Codes() =>
        Enum.GetValues<Code>().Where(code =>
        {
            if (code.Encoding() is not (EncodingKind.Legacy or EncodingKind.VEX) || !code.ToOpCode().Mode64)
            {
                return false;
            }

            string name = code.Mnemonic().ToString();
            return s_mnemonics.Contains(code.Encoding() == EncodingKind.VEX && name.StartsWith('V') ? char.ToUpperInvariant(name[1]) + name[2..] : name);
        });

    private static string Family(Code code) => string.Join("+", code.CpuidFeatures());

    public static TheoryData<Engine, string> Families()
    {
        var data = new TheoryData<Engine, string>();
        foreach (var engine in Enum.GetValues<Engine>())
        {
            foreach (string family in Codes().Select(Family).Distinct().Order())
            {
                data.Add(engine, family);
            }
        }

        return data;
    }

    [Fact]
    public void EveryCodeOfTheFamiliesIsImplemented()
    {
        var missing = Codes().Where(code => !InstructionTable.IsImplemented(code)).ToList();
        Assert.True(missing.Count == 0, "unimplemented: " + string.Join(", ", missing));
    }

    /// <summary>
    /// CPUID.1 advertises MMX (EDX bit 23), PCLMULQDQ (ECX 1), SSSE3 (9), SSE4.2 (20) and AES (25)
    /// (SDM Vol. 2A, CPUID, tables 3-10 and 3-11), and every legacy Code Iced files under those
    /// features has a handler.
    /// </summary>
    [Fact]
    public void CpuidAdvertisesThePackedIntegerFamilies()
    {
        var (_, _, ecx, edx) = new CpuidModel(CpuModel.Max).Query(1, 0);
        Assert.Equal(1u << 23, edx & (1u << 23));
        uint bits = (1u << 1) | (1u << 9) | (1u << 20) | (1u << 25);
        Assert.Equal(bits, ecx & bits);
        CpuidFeature[] features = [CpuidFeature.MMX, CpuidFeature.SSSE3, CpuidFeature.SSE4_2, CpuidFeature.AES, CpuidFeature.PCLMULQDQ];
        var missing = Enum.GetValues<Code>()
            .Where(code => code.Encoding() == EncodingKind.Legacy && code.CpuidFeatures().Length == 1 && features.Contains(code.CpuidFeatures()[0]))
            .Where(code => !InstructionTable.IsImplemented(code))
            .ToList();
        Assert.True(missing.Count == 0, "advertised but unimplemented: " + string.Join(", ", missing));
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void MatchesHost(Engine engine, string family)
    {
        var codes = Codes().Where(code => Family(code) == family).ToList();
        if (!HostSupports(codes[0]))
        {
            // The host lacks the feature (VAES on an older CPU): nothing to compare against.
            return;
        }

        var random = new Random(family.GetHashCode(StringComparison.Ordinal) ^ 12345);
        var failures = new List<string>();
        using var m = new TestMachine().LongMode();
        int cases = 0;
        foreach (Code code in codes)
        {
            for (int n = 0; n < 24; n++)
            {
                var instruction = Build(code, random, memory: n % 3 == 2);
                var input = SimdMachineState.Random(random);
                if (code.Mnemonic().ToString().Contains("cmpestr", StringComparison.Ordinal))
                {
                    input.Gprs[0] = (ulong)(long)random.Next(-20, 21);
                    input.Gprs[3] = (ulong)(long)random.Next(-20, 21);
                }

                bool maskedStore = code.Mnemonic().ToString().Contains("maskmov", StringComparison.OrdinalIgnoreCase);
                var asm = new Assembler(64);
                if (maskedStore)
                {
                    asm.lea(AssemblerRegisters.rdi, AssemblerRegisters.__[AssemblerRegisters.r15 + 16]);
                }

                asm.AddInstruction(instruction);
                byte[] bytes = asm.AssembleBytes(TestMachine.CodeAddress);
                var host = input.Clone();
                host.RunOnHost(a => a.db(bytes));
                var guest = input.Clone();
                guest.RunOnGuest(m, bytes, engine);
                cases++;
                if (guest.Difference(host, compareRdi: !maskedStore) is { } difference)
                {
                    failures.Add($"{code} `{instruction}`: guest vs host: {difference}");
                }
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {cases} cases differ:\n" + string.Join("\n", failures.Take(25)));
    }

    private static bool HostSupports(Code code) => code.CpuidFeatures().All(f => s_hostFlags.Contains(HostFlag(f)));

    private static readonly Register[] s_gpr32 = [Register.EAX, Register.EBX, Register.ECX, Register.EDX, Register.ESI, Register.EDI];

    /// <summary>An instance of <paramref name="code"/> with random registers (general ones from the six exchanged), immediates, and [R15] or [R15+32] as memory.</summary>
    public static Instruction Build(Code code, Random random, bool memory)
    {
        var info = code.ToOpCode();
        var operands = new List<object>();
        for (int k = 0; k < info.OpCount; k++)
        {
            string kind = info.GetOpKind(k).ToString();
            bool useMemory = kind == "mem" || (memory && kind.EndsWith("_or_mem", StringComparison.Ordinal));
            if (kind == "seg_rDI")
            {
                continue;
            }

            if (useMemory)
            {
                operands.Add(new MemoryOperand(Register.R15, random.Next(2) * 32));
            }
            else if (kind.StartsWith("imm8", StringComparison.Ordinal))
            {
                operands.Add(random.Next(256));
            }
            else if (kind.StartsWith("xmm", StringComparison.Ordinal))
            {
                operands.Add(Register.XMM0 + random.Next(16));
            }
            else if (kind.StartsWith("ymm", StringComparison.Ordinal))
            {
                operands.Add(Register.YMM0 + random.Next(16));
            }
            else if (kind.StartsWith("mm", StringComparison.Ordinal))
            {
                operands.Add(Register.MM0 + random.Next(8));
            }
            else if (kind.StartsWith("r32", StringComparison.Ordinal))
            {
                operands.Add(s_gpr32[random.Next(6)]);
            }
            else if (kind.StartsWith("r64", StringComparison.Ordinal))
            {
                operands.Add(s_gpr32[random.Next(6)] - Register.EAX + Register.RAX);
            }
            else
            {
                throw new NotSupportedException($"{code}: operand kind {kind}");
            }
        }

        if (info.OpCount > 0 && info.GetOpKind(0) == OpCodeOperandKind.seg_rDI)
        {
            var (r1, r2) = ((Register)operands[0], (Register)operands[1]);
            return code switch
            {
                Code.Maskmovq_rDI_mm_mm => Instruction.CreateMaskmovq(64, r1, r2),
                Code.Maskmovdqu_rDI_xmm_xmm => Instruction.CreateMaskmovdqu(64, r1, r2),
                _ => Instruction.CreateVmaskmovdqu(64, r1, r2),
            };
        }

        object[] args = [code, .. operands];
        var method = typeof(Instruction).GetMethods(BindingFlags.Public | BindingFlags.Static).SingleOrDefault(mi =>
            mi.Name == "Create" && mi.GetParameters().Length == args.Length
            && mi.GetParameters().Select((p, k) => (p.ParameterType.IsByRef ? p.ParameterType.GetElementType() : p.ParameterType) == args[k].GetType()).All(ok => ok))
            ?? throw new NotSupportedException($"{code}: no Instruction.Create for ({string.Join(", ", args.Select(a => a.GetType().Name))})");
        return (Instruction)method.Invoke(null, args)!;
    }
}
