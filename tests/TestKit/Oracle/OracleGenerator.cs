using System.Runtime.Intrinsics.X86;
using Emulator.Cpu.Simd;
using Iced.Intel;
using InstructionTable = Emulator.Cpu.Instructions.InstructionTable;

namespace Emulator.TestKit.Oracle;

/// <summary>
/// Generates random and edge-case instruction sequences for the differential harness
/// (<see cref="OracleHarness"/>). Operands are filled from Iced's operand kinds: general
/// registers other than RSP and R15 (R15 holds the data region's address), vector and x87
/// registers, immediates from edge values, and memory as [R15 + disp] inside the data region, so
/// every access lands on the page the host and the guest both have.
/// </summary>
public sealed class OracleGenerator
{
    private static readonly CpuidFeature[] s_integerFeatures = [CpuidFeature.INTEL8086, CpuidFeature.INTEL186, CpuidFeature.INTEL286, CpuidFeature.INTEL386, CpuidFeature.INTEL486, CpuidFeature.X64, CpuidFeature.CMOV, CpuidFeature.CX8, CpuidFeature.CMPXCHG16B, CpuidFeature.MULTIBYTENOP];
    private static readonly CpuidFeature[] s_sseFeatures = [CpuidFeature.MMX, CpuidFeature.SSE, CpuidFeature.SSE2, CpuidFeature.SSE3, CpuidFeature.SSSE3, CpuidFeature.SSE4_1, CpuidFeature.SSE4_2];

    /// <summary>
    /// The families. A family that lands later plugs in with one line here, like
    /// <c>OracleFamily.ByFeatures("fma", EncodingKind.VEX, CpuidFeature.FMA)</c>; instructions
    /// of an existing family join it by themselves as their handlers appear, since a family only
    /// ever draws implemented codes.
    /// </summary>
    public static readonly OracleFamily[] Families =
    [
        new("int", code => code.Encoding() == EncodingKind.Legacy && code.CpuidFeatures().All(s_integerFeatures.Contains) && !IsX87(code) && !IsString(code)),
        new("bcd", code => code.Mnemonic() is Mnemonic.Daa or Mnemonic.Das or Mnemonic.Aaa or Mnemonic.Aas or Mnemonic.Aam or Mnemonic.Aad,
            Disabled: "BCD instructions are invalid in 64-bit mode and the host runner is a 64-bit process"),
        new("string", IsString),
        new("bmi", code => (code.CpuidFeatures().All(f => f is CpuidFeature.BMI1 or CpuidFeature.BMI2 or CpuidFeature.ADX or CpuidFeature.MOVBE or CpuidFeature.POPCNT or CpuidFeature.LZCNT))
            || code.Mnemonic() == Mnemonic.Crc32),
        new("x87", code => IsX87(code) && !IsTranscendental(code)),
        // Compared within OracleComparer.TranscendentalUlps (their rounding differs between vendors).
        new("x87trans", code => IsX87(code) && IsTranscendental(code)),
        new("mmx", code => code.Encoding() == EncodingKind.Legacy && HasMmxOperand(code) && code.CpuidFeatures().All(s_sseFeatures.Contains)),
        new("sse", code => code.Encoding() == EncodingKind.Legacy && !HasMmxOperand(code) && code.CpuidFeatures().All(s_sseFeatures.Contains) && code.Mnemonic() != Mnemonic.Crc32),
        OracleFamily.ByFeatures("aes", EncodingKind.Legacy, CpuidFeature.AES, CpuidFeature.PCLMULQDQ),
        OracleFamily.ByFeatures("avx", EncodingKind.VEX, CpuidFeature.AVX, CpuidFeature.AVX2, CpuidFeature.AES, CpuidFeature.PCLMULQDQ),
        OracleFamily.ByFeatures("fma", EncodingKind.VEX, CpuidFeature.FMA),
        OracleFamily.ByFeatures("f16c", EncodingKind.VEX, CpuidFeature.F16C),
    ];

    /// <summary>
    /// Never generated, with why: control flow and system instructions (the host runs them at
    /// CPL 3, the guest at CPL 0), results that differ by design (time, random numbers, CPUID,
    /// descriptor-table addresses), implicit addresses from random registers (strings, XLAT,
    /// MASKMOVQ), RFLAGS images with IF/AC/ID, the x87 environment images (FIP/FDP/FCS/FDS are
    /// implementation-specific), FXSAVE/XSAVE (ditto), and the CET instructions.
    /// </summary>
    private static readonly HashSet<Mnemonic> s_blocked =
    [
        Mnemonic.Pushf, Mnemonic.Pushfq, Mnemonic.Popf, Mnemonic.Popfq, Mnemonic.Enter, Mnemonic.Leave, Mnemonic.Xlatb,
        Mnemonic.In, Mnemonic.Out, Mnemonic.Insb, Mnemonic.Insw, Mnemonic.Insd, Mnemonic.Outsb, Mnemonic.Outsw, Mnemonic.Outsd,
        Mnemonic.Cpuid, Mnemonic.Rdtsc, Mnemonic.Rdtscp, Mnemonic.Rdrand, Mnemonic.Rdseed, Mnemonic.Rdpid, Mnemonic.Rdpmc,
        Mnemonic.Sgdt, Mnemonic.Sidt, Mnemonic.Sldt, Mnemonic.Str, Mnemonic.Smsw, Mnemonic.Lar, Mnemonic.Lsl, Mnemonic.Verr, Mnemonic.Verw,
        Mnemonic.Fxsave, Mnemonic.Fxsave64, Mnemonic.Fxrstor, Mnemonic.Fxrstor64, Mnemonic.Xsave, Mnemonic.Xsave64, Mnemonic.Xrstor, Mnemonic.Xrstor64,
        Mnemonic.Xsaveopt, Mnemonic.Xsaveopt64, Mnemonic.Xsavec, Mnemonic.Xsavec64, Mnemonic.Xgetbv,
        Mnemonic.Fnsave, Mnemonic.Fsave, Mnemonic.Frstor, Mnemonic.Fnstenv, Mnemonic.Fstenv, Mnemonic.Fldenv,
        Mnemonic.Maskmovq, Mnemonic.Maskmovdqu, Mnemonic.Vmaskmovdqu, Mnemonic.Monitor, Mnemonic.Mwait,
        Mnemonic.Rdsspd, Mnemonic.Rdsspq, Mnemonic.Endbr32, Mnemonic.Endbr64, Mnemonic.Hlt, Mnemonic.Ud0, Mnemonic.Ud1, Mnemonic.Ud2,
        Mnemonic.Int, Mnemonic.Int1, Mnemonic.Int3, Mnemonic.Into, Mnemonic.Syscall, Mnemonic.Sysenter, Mnemonic.Cli, Mnemonic.Sti,
        Mnemonic.Clflush, Mnemonic.Prefetchw, Mnemonic.Prefetch, Mnemonic.Lfs, Mnemonic.Lgs, Mnemonic.Lss, Mnemonic.Lds, Mnemonic.Les,

        // Approximations whose exact bits are implementation-specific: SDM Vol. 2B RCPPS/RSQRTPS
        // only bound the relative error (1.5 * 2^-12); Intel and AMD parts return different bits.
        Mnemonic.Rcpps, Mnemonic.Rcpss, Mnemonic.Rsqrtps, Mnemonic.Rsqrtss, Mnemonic.Vrcpps, Mnemonic.Vrcpss, Mnemonic.Vrsqrtps, Mnemonic.Vrsqrtss,
    ];

    private static readonly Register[] s_gpr64 = [Register.RAX, Register.RCX, Register.RDX, Register.RBX, Register.RBP, Register.RSI, Register.RDI, Register.R8, Register.R9, Register.R10, Register.R11, Register.R12, Register.R13, Register.R14];

    private static readonly ulong[] s_edges = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, ulong.MaxValue, 0xFFFF_FFFF_FFFF_FFFE];

    private readonly Dictionary<string, Code[]> _codes = [];

    /// <summary>Builds the code lists of <paramref name="families"/>; what the host lacks is listed in <see cref="Skipped"/>.</summary>
    public OracleGenerator(IEnumerable<OracleFamily> families, bool hostYmm)
    {
        var skipped = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var family in families)
        {
            var codes = new List<Code>();
            foreach (var code in Enum.GetValues<Code>())
            {
                if (code == Code.INVALID || !family.Selects(code) || !InstructionTable.IsImplemented(code) || !Usable(code))
                {
                    continue;
                }

                if (HostLacks(code, hostYmm) is { } missing)
                {
                    skipped[$"{family.Name}: the host lacks {missing}"] = skipped.GetValueOrDefault($"{family.Name}: the host lacks {missing}") + 1;
                    continue;
                }

                codes.Add(code);
            }

            _codes[family.Name] = [.. codes];
        }

        Skipped = skipped.Select(kv => $"{kv.Key} ({kv.Value} forms skipped)").ToList();
    }

    /// <summary>One line per reason forms were skipped ("sse: the host lacks SSE4_1 (12 forms skipped)").</summary>
    public IReadOnlyList<string> Skipped { get; }

    public IReadOnlyDictionary<string, Code[]> Codes => _codes;

    /// <summary>Case <paramref name="index"/> of <paramref name="seed"/>: the same pair always gives the same case.</summary>
    public OracleCase Generate(int seed, int index, bool hostYmm)
    {
        // A fixed mix of seed and index (HashCode.Combine is randomised per process).
        var random = new Random((int)((((ulong)(uint)seed * 0x9E37_79B9_7F4A_7C15UL) ^ ((ulong)(uint)index * 0xC2B2_AE3D_27D4_EB4FUL)) >> 33));
        var names = _codes.Where(kv => kv.Value.Length > 0).Select(kv => kv.Key).ToArray();
        string family = names[random.Next(names.Length)];
        var codes = _codes[family];
        // x87trans: one instruction. Every transcendental reads ST(0), so in a sequence each one
        // would take the previous one's vendor-rounded result, and near a pole or a cancellation
        // (FPTAN near pi/2, FYL2X near 1, FSIN of a large result) a 1-ulp difference becomes any
        // difference at all; the stack handling of sequences is the x87 family's job.
        int length = family == "x87trans" ? 1 : random.Next(10) switch
        {
            < 3 => 1,
            < 6 => random.Next(2, 5),
            _ => random.Next(5, 9),
        };
        var sequence = new List<Instruction>();
        ulong undefined = 0;
        ushort x87Undefined = 0;
        bool dotProduct = false;
        var undefinedBefore = new List<ulong>();
        var x87Before = new List<ushort>();
        var rounded = new HashSet<byte> { 0 };
        var roundedBefore = new List<byte>();
        int attempts = 0;
        while (sequence.Count < length && attempts++ < 200)
        {
            var code = codes[random.Next(codes.Length)];
            if (!TryFill(code, random, out var instruction, out var before))
            {
                continue;
            }

            if ((FlagMask.ToEflags(instruction.RflagsRead) & undefined) != 0 || (x87Undefined != 0 && ReadsX87Condition(instruction)))
            {
                continue;
            }

            foreach (var setup in before)
            {
                undefinedBefore.Add(undefined);
                x87Before.Add(x87Undefined);
                roundedBefore.Add(Union(rounded));
                undefined = Track(setup, undefined);
                sequence.Add(setup);
            }

            undefinedBefore.Add(undefined);
            x87Before.Add(x87Undefined);
            roundedBefore.Add(Union(rounded));
            undefined = Track(instruction, undefined);
            if (IsX87(instruction.Code))
            {
                x87Undefined = X87Undefined(instruction, x87Undefined);
                rounded = TrackTranscendental(instruction, rounded);
            }

            dotProduct |= instruction.Mnemonic is Mnemonic.Dpps or Mnemonic.Dppd or Mnemonic.Vdpps or Mnemonic.Vdppd;
            sequence.Add(instruction);
        }

        var asm = new Assembler(64);
        var offsets = new List<ulong>();
        foreach (var instruction in sequence)
        {
            asm.AddInstruction(instruction);
        }

        asm.jmp(OracleLayout.Epilogue);
        byte[] body = asm.AssembleBytes(OracleLayout.Body);
        var decoder = Decoder.Create(64, new ByteArrayCodeReader(body), OracleLayout.Body);
        for (int k = 0; k < sequence.Count; k++)
        {
            offsets.Add(decoder.IP);
            decoder.Decode(out _);
        }
        var input = RandomState(random, hostYmm);
        if (sequence is [{ Mnemonic: Mnemonic.F2xm1 or Mnemonic.Fyl2xp1 } only])
        {
            InOperandRange(random, input.St(0), only.Mnemonic == Mnemonic.F2xm1 ? 1.0 : 1 - (Math.Sqrt(2) / 2));
        }

        uint mxcsrFlagMask = Mxcsr.FlagBits;
        if (dotProduct)
        {
            // DPPS/DPPD: AMD parts do not report DE for the products' denormal inputs, and order
            // their exceptions their own way; the SDM only lists the exceptions. Run them masked
            // and leave DE out of the comparison.
            input.Mxcsr |= Mxcsr.MaskBits;
            mxcsrFlagMask &= ~Mxcsr.DE;
        }

        return new OracleCase(seed, index, family, sequence, body, input, undefined, x87Undefined)
        {
            MxcsrFlagMask = mxcsrFlagMask,
            Addresses = offsets,
            UndefinedBefore = undefinedBefore,
            X87UndefinedBefore = x87Before,
            TranscendentalSt = Union(rounded),
            TranscendentalStBefore = roundedBefore,
        };
    }

    /// <summary>
    /// Flags after <paramref name="instruction"/> that a comparison may not look at. A shift or
    /// rotate by a count that masks to 0 changes nothing (SDM Vol. 2B, SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR):
    /// with a CL count nothing it writes is known to be defined afterwards.
    /// </summary>
    private static ulong Track(in Instruction instruction, ulong undefined)
    {
        ulong written = FlagMask.ToEflags(instruction.RflagsModified);
        ulong nowUndefined = FlagMask.ToEflags(instruction.RflagsUndefined);
        if (instruction.Mnemonic is Mnemonic.Rol or Mnemonic.Ror or Mnemonic.Rcl or Mnemonic.Rcr or Mnemonic.Shl or Mnemonic.Sal or Mnemonic.Shr or Mnemonic.Sar or Mnemonic.Shld or Mnemonic.Shrd)
        {
            int last = instruction.OpCount - 1;
            if (instruction.GetOpKind(last) == OpKind.Register)
            {
                written = 0;
            }
            else if ((instruction.Immediate8 & (instruction.Op0Register.GetSize() == 8 || instruction.MemorySize.GetSize() == 8 ? 63 : 31)) == 0)
            {
                written = 0;
                nowUndefined = 0;
            }
        }

        return (undefined & ~written) | nowUndefined;
    }

    private static bool IsX87(Code code) => code.CpuidFeatures().Any(f => f is CpuidFeature.FPU or CpuidFeature.FPU287 or CpuidFeature.FPU387);

    private static bool IsTranscendental(Code code) => code.Mnemonic() is Mnemonic.Fsin or Mnemonic.Fcos or Mnemonic.Fsincos or Mnemonic.Fptan or Mnemonic.Fpatan
        or Mnemonic.F2xm1 or Mnemonic.Fyl2x or Mnemonic.Fyl2xp1;

    /// <summary>
    /// F2XM1 and FYL2XP1 results are undefined for finite operands outside |x| &lt;= 1 and
    /// |x| &lt; 1 - sqrt(2)/2 (SDM Vol. 2A), where random operands mostly fall (and the host's
    /// results there are not ours): a finite normal ST(0) outside the range becomes a random value
    /// inside it with a full 64-bit significand. Zeros, denormals, infinities and NaNs stay.
    /// </summary>
    private static void InOperandRange(Random random, Span<byte> st, double limit)
    {
        int exponent = BitConverter.ToUInt16(st[8..]) & 0x7FFF;
        if (exponent is 0 or 0x7FFF || Math.ScaleB(BitConverter.ToUInt64(st) / Math.ScaleB(1.0, 63), exponent - 16383) < limit)
        {
            return;
        }

        double magnitude = random.NextDouble() * limit * 0.999;
        while (magnitude < 1e-30)
        {
            magnitude = random.NextDouble() * limit * 0.999;
        }

        ulong bits = BitConverter.DoubleToUInt64Bits(magnitude);
        int e = (int)((bits >> 52) & 0x7FF) - 1023 + 16383;
        ulong significand = 0x8000_0000_0000_0000 | ((bits & 0xF_FFFF_FFFF_FFFF) << 11) | (uint)random.Next(0x800);
        BitConverter.TryWriteBytes(st, significand);
        BitConverter.TryWriteBytes(st[8..], (ushort)((random.Next(2) << 15) | e));
    }

    /// <summary>
    /// Where transcendental results may sit after <paramref name="instruction"/>: each element of
    /// <paramref name="before"/> is one possible mask of the stack positions (bit i = ST(i)) that
    /// hold a transcendental result. Whether an instruction pushes or pops depends on the data
    /// (FSINCOS and FPTAN push nothing for an out-of-range operand, C2 = 1; an unmasked invalid
    /// operation leaves the stack alone), so both outcomes are kept. FSIN, FCOS, F2XM1 write ST(0);
    /// FSINCOS and FPTAN write ST(0) and push (FPTAN's pushed 1.0 is exact but harmless to
    /// include); FPATAN, FYL2X, FYL2XP1 write ST(1) and pop. Pushes and pops rotate the mask: a
    /// popped register keeps its value and FXSAVE shows it as ST(7). The x87trans family holds only these
    /// instructions, so any other instruction leaves the masks as they are.
    /// </summary>
    private static HashSet<byte> TrackTranscendental(in Instruction instruction, HashSet<byte> before)
    {
        var after = new HashSet<byte>();
        foreach (byte mask in before)
        {
            switch (instruction.Mnemonic)
            {
                case Mnemonic.Fsin or Mnemonic.Fcos or Mnemonic.F2xm1:
                    after.Add((byte)(mask | 1));
                    break;
                case Mnemonic.Fsincos or Mnemonic.Fptan:
                    after.Add((byte)(mask | 1));
                    after.Add((byte)(byte.RotateLeft(mask, 1) | 3));
                    break;
                case Mnemonic.Fpatan or Mnemonic.Fyl2x or Mnemonic.Fyl2xp1:
                    after.Add((byte)(mask | 2));
                    after.Add(byte.RotateRight((byte)(mask | 2), 1));
                    break;
                default:
                    after.Add(mask);
                    break;
            }
        }

        return after;
    }

    private static byte Union(HashSet<byte> masks) => (byte)masks.Aggregate(0, (all, mask) => all | mask);

    /// <summary>
    /// Which of C0 (bit 8), C1 (9), C2 (10) and C3 (14) are undefined after
    /// <paramref name="instruction"/> (each instruction's "FPU Flags Affected" in SDM Vol. 2):
    /// compares, FXAM, FPREM and FNINIT define all four; FFREE, FNCLEX, FNOP, FLDCW and FNSTSW/FNSTCW
    /// leave all four undefined; FCOMI and FCMOVcc touch only C1 on a stack fault; the no-ops of
    /// the 387 (FENI, FDISI, FSETPM) and FWAIT change nothing; everything else defines C1 only.
    /// </summary>
    private static ushort X87Undefined(in Instruction instruction, ushort before)
    {
        const ushort All = 0x4700, AllButC1 = 0x4500;
        if (DefinesX87Condition(instruction))
        {
            return 0;
        }

        return instruction.Mnemonic switch
        {
            Mnemonic.Ffree or Mnemonic.Ffreep or Mnemonic.Fnclex or Mnemonic.Fclex or Mnemonic.Fnop or Mnemonic.Fldcw
                or Mnemonic.Fnstsw or Mnemonic.Fstsw or Mnemonic.Fnstcw or Mnemonic.Fstcw => All,
            Mnemonic.Fcomi or Mnemonic.Fcomip or Mnemonic.Fucomi or Mnemonic.Fucomip => before,
            Mnemonic.Wait or Mnemonic.Feni or Mnemonic.Fneni or Mnemonic.Fdisi or Mnemonic.Fndisi or Mnemonic.Fsetpm or Mnemonic.Fnsetpm => before,
            _ when instruction.Mnemonic.ToString().StartsWith("Fcmov", StringComparison.Ordinal) => (ushort)(before | AllButC1),
            _ => AllButC1,
        };
    }

    /// <summary>The x87 instructions that set C0-C3 (SDM Vol. 1 table 8-7 and each instruction's "FPU Flags Affected").</summary>
    private static bool DefinesX87Condition(in Instruction instruction) => instruction.Mnemonic is Mnemonic.Fcom or Mnemonic.Fcomp or Mnemonic.Fcompp
        or Mnemonic.Fucom or Mnemonic.Fucomp or Mnemonic.Fucompp or Mnemonic.Ficom or Mnemonic.Ficomp or Mnemonic.Ftst or Mnemonic.Fxam
        or Mnemonic.Fprem or Mnemonic.Fprem1 or Mnemonic.Fninit or Mnemonic.Finit;

    private static bool ReadsX87Condition(in Instruction instruction) => instruction.Mnemonic is Mnemonic.Fnstsw or Mnemonic.Fstsw;

    private static bool HasMmxOperand(Code code)
    {
        var op = code.ToOpCode();
        for (int k = 0; k < op.OpCount; k++)
        {
            if (op.GetOpKind(k) is OpCodeOperandKind.mm_reg or OpCodeOperandKind.mm_rm or OpCodeOperandKind.mm_or_mem)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The undocumented aliases of FSTP ST(i) (D9 D8+i, DF D0+i, DF D8+i): Intel runs them as
    /// FSTP, AMD as FSTPNCE, without the stack-underflow check (AMD APM Vol. 5 FSTP; seen on the
    /// host). We model Intel; an AMD host cannot judge them.
    /// </summary>
    private static readonly HashSet<Code> s_vendorAliases = [Code.Fstpnce_sti, Code.Fstp_sti_DFD0, Code.Fstp_sti_DFD8];

    private static bool Usable(Code code)
    {
        var op = code.ToOpCode();
        if (s_vendorAliases.Contains(code))
        {
            return false;
        }

        if (!op.IsInstruction || !op.Mode64 || !op.Cpl3 || s_blocked.Contains(code.Mnemonic()) || code.Mnemonic() == Mnemonic.INVALID)
        {
            return false;
        }

        if (Instruction.Create(code).FlowControl != FlowControl.Next && code.Mnemonic() is not (Mnemonic.Ud0 or Mnemonic.Ud1 or Mnemonic.Ud2))
        {
            return false;
        }

        if (IsString(code))
        {
            return true;
        }

        for (int k = 0; k < op.OpCount; k++)
        {
            if (!Fillable(op.GetOpKind(k)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>MOVS, CMPS, STOS, LODS, SCAS: the forms with an implicit [RSI] or [RDI] operand.</summary>
    private static bool IsString(Code code)
    {
        var op = code.ToOpCode();
        for (int k = 0; k < op.OpCount; k++)
        {
            if (op.GetOpKind(k) is OpCodeOperandKind.seg_rSI or OpCodeOperandKind.es_rDI)
            {
                return code.Mnemonic() is not (Mnemonic.Outsb or Mnemonic.Outsw or Mnemonic.Outsd or Mnemonic.Insb or Mnemonic.Insw or Mnemonic.Insd);
            }
        }

        return false;
    }

    /// <summary>
    /// A string instruction with 64- or 32-bit addresses, with or without REP/REPE/REPNE, after
    /// MOVs that point RSI and RDI into the data region and give RCX a small count, so every
    /// element lands on the page both sides have, forwards or (DF = 1) backwards.
    /// </summary>
    private static bool TryFillString(Code code, Random random, out Instruction instruction, out List<Instruction> before)
    {
        int addressSize = random.Next(4) == 0 ? 32 : 64;
        bool compares = code.Mnemonic() is Mnemonic.Cmpsb or Mnemonic.Cmpsw or Mnemonic.Cmpsd or Mnemonic.Cmpsq or Mnemonic.Scasb or Mnemonic.Scasw or Mnemonic.Scasd or Mnemonic.Scasq;
        var rep = random.Next(3) switch
        {
            0 => RepPrefixKind.None,
            1 => RepPrefixKind.Repe,
            _ => compares ? RepPrefixKind.Repne : RepPrefixKind.Repe,
        };
        instruction = code switch
        {
            Code.Movsb_m8_m8 => Instruction.CreateMovsb(addressSize, Register.None, rep),
            Code.Movsw_m16_m16 => Instruction.CreateMovsw(addressSize, Register.None, rep),
            Code.Movsd_m32_m32 => Instruction.CreateMovsd(addressSize, Register.None, rep),
            Code.Movsq_m64_m64 => Instruction.CreateMovsq(addressSize, Register.None, rep),
            Code.Cmpsb_m8_m8 => Instruction.CreateCmpsb(addressSize, Register.None, rep),
            Code.Cmpsw_m16_m16 => Instruction.CreateCmpsw(addressSize, Register.None, rep),
            Code.Cmpsd_m32_m32 => Instruction.CreateCmpsd(addressSize, Register.None, rep),
            Code.Cmpsq_m64_m64 => Instruction.CreateCmpsq(addressSize, Register.None, rep),
            Code.Lodsb_AL_m8 => Instruction.CreateLodsb(addressSize, Register.None, rep),
            Code.Lodsw_AX_m16 => Instruction.CreateLodsw(addressSize, Register.None, rep),
            Code.Lodsd_EAX_m32 => Instruction.CreateLodsd(addressSize, Register.None, rep),
            Code.Lodsq_RAX_m64 => Instruction.CreateLodsq(addressSize, Register.None, rep),
            Code.Stosb_m8_AL => Instruction.CreateStosb(addressSize, rep),
            Code.Stosw_m16_AX => Instruction.CreateStosw(addressSize, rep),
            Code.Stosd_m32_EAX => Instruction.CreateStosd(addressSize, rep),
            Code.Stosq_m64_RAX => Instruction.CreateStosq(addressSize, rep),
            Code.Scasb_AL_m8 => Instruction.CreateScasb(addressSize, rep),
            Code.Scasw_AX_m16 => Instruction.CreateScasw(addressSize, rep),
            Code.Scasd_EAX_m32 => Instruction.CreateScasd(addressSize, rep),
            Code.Scasq_RAX_m64 => Instruction.CreateScasq(addressSize, rep),
            _ => default,
        };
        before =
        [
            Instruction.Create(Code.Mov_r64_imm64, Register.RSI, OracleLayout.Data + (ulong)random.Next(128, 384)),
            Instruction.Create(Code.Mov_r64_imm64, Register.RDI, OracleLayout.Data + (ulong)random.Next(128, 384)),
        ];
        if (rep != RepPrefixKind.None)
        {
            before.Add(Instruction.Create(Code.Mov_r64_imm64, Register.RCX, (ulong)random.Next(0, 13)));
        }

        return instruction.Code != Code.INVALID;
    }

    private static bool Fillable(OpCodeOperandKind kind) => kind switch
    {
        OpCodeOperandKind.r8_or_mem or OpCodeOperandKind.r16_or_mem or OpCodeOperandKind.r32_or_mem or OpCodeOperandKind.r64_or_mem or OpCodeOperandKind.mem
            or OpCodeOperandKind.r8_reg or OpCodeOperandKind.r8_opcode or OpCodeOperandKind.r16_reg or OpCodeOperandKind.r16_rm or OpCodeOperandKind.r16_opcode
            or OpCodeOperandKind.r32_reg or OpCodeOperandKind.r32_rm or OpCodeOperandKind.r32_opcode or OpCodeOperandKind.r32_vvvv
            or OpCodeOperandKind.r64_reg or OpCodeOperandKind.r64_rm or OpCodeOperandKind.r64_opcode or OpCodeOperandKind.r64_vvvv
            or OpCodeOperandKind.xmm_reg or OpCodeOperandKind.xmm_rm or OpCodeOperandKind.xmm_or_mem or OpCodeOperandKind.xmm_vvvv or OpCodeOperandKind.xmm_is4
            or OpCodeOperandKind.ymm_reg or OpCodeOperandKind.ymm_rm or OpCodeOperandKind.ymm_or_mem or OpCodeOperandKind.ymm_vvvv or OpCodeOperandKind.ymm_is4
            or OpCodeOperandKind.mm_reg or OpCodeOperandKind.mm_rm or OpCodeOperandKind.mm_or_mem
            or OpCodeOperandKind.st0 or OpCodeOperandKind.sti_opcode
            or OpCodeOperandKind.al or OpCodeOperandKind.ax or OpCodeOperandKind.eax or OpCodeOperandKind.rax or OpCodeOperandKind.cl
            or OpCodeOperandKind.imm8 or OpCodeOperandKind.imm16 or OpCodeOperandKind.imm32 or OpCodeOperandKind.imm64
            or OpCodeOperandKind.imm8sex16 or OpCodeOperandKind.imm8sex32 or OpCodeOperandKind.imm8sex64 or OpCodeOperandKind.imm32sex64
            or OpCodeOperandKind.imm8_const_1 => true,
        _ => false,
    };

    private static string? HostLacks(Code code, bool hostYmm)
    {
        foreach (var feature in code.CpuidFeatures())
        {
            if (!HostHas(feature, hostYmm))
            {
                return feature.ToString();
            }
        }

        return null;
    }

    private static bool HostHas(CpuidFeature feature, bool hostYmm)
    {
        var (_, _, ecx1, edx1) = X86Base.CpuId(1, 0);
        var (_, ebx7, _, _) = X86Base.CpuId(7, 0);
        var (_, _, ecx81, _) = X86Base.CpuId(unchecked((int)0x80000001), 0);
        bool Bit(int value, int bit) => ((value >> bit) & 1) != 0;
        return feature switch
        {
            CpuidFeature.INTEL8086 or CpuidFeature.INTEL186 or CpuidFeature.INTEL286 or CpuidFeature.INTEL386 or CpuidFeature.INTEL486 or CpuidFeature.X64
                or CpuidFeature.MULTIBYTENOP or CpuidFeature.FPU or CpuidFeature.FPU287 or CpuidFeature.FPU387 => true,
            CpuidFeature.CMOV => Bit(edx1, 15),
            CpuidFeature.CX8 => Bit(edx1, 8),
            CpuidFeature.MMX => Bit(edx1, 23),
            CpuidFeature.SSE => Bit(edx1, 25),
            CpuidFeature.SSE2 => Bit(edx1, 26),
            CpuidFeature.SSE3 => Bit(ecx1, 0),
            CpuidFeature.PCLMULQDQ => Bit(ecx1, 1),
            CpuidFeature.SSSE3 => Bit(ecx1, 9),
            CpuidFeature.FMA => Bit(ecx1, 12) && hostYmm,
            CpuidFeature.CMPXCHG16B => Bit(ecx1, 13),
            CpuidFeature.SSE4_1 => Bit(ecx1, 19),
            CpuidFeature.SSE4_2 => Bit(ecx1, 20),
            CpuidFeature.MOVBE => Bit(ecx1, 22),
            CpuidFeature.POPCNT => Bit(ecx1, 23),
            CpuidFeature.AES => Bit(ecx1, 25),
            CpuidFeature.AVX => Bit(ecx1, 28) && hostYmm,
            CpuidFeature.F16C => Bit(ecx1, 29) && hostYmm,
            CpuidFeature.BMI1 => Bit(ebx7, 3),
            CpuidFeature.AVX2 => Bit(ebx7, 5) && hostYmm,
            CpuidFeature.BMI2 => Bit(ebx7, 8),
            CpuidFeature.ADX => Bit(ebx7, 19),
            CpuidFeature.LZCNT => Bit(ecx81, 5),
            _ => false,
        };
    }

    /// <summary>True when the host runs AVX2 with the OS saving YMM state (CPUID.7:EBX.AVX2, XCR0 bits 1-2).</summary>
    public static bool HostYmm => Avx2.IsSupported;

    private static Register Gpr(Random random, int bits)
    {
        var full = s_gpr64[random.Next(s_gpr64.Length)];
        if (bits == 8 && random.Next(8) == 0)
        {
            return Register.AH + random.Next(4); // AH, CH, DH, BH (the encoder refuses them with REX)
        }

        int n = full - Register.RAX;
        return bits switch
        {
            8 => Register.AL + n,
            16 => Register.AX + n,
            32 => Register.EAX + n,
            _ => full,
        };
    }

    private static ulong Immediate(Random random) => random.Next(3) == 0 ? (ulong)random.NextInt64() : s_edges[random.Next(s_edges.Length)] + (ulong)random.Next(-1, 2);

    private static bool TryFill(Code code, Random random, out Instruction instruction, out List<Instruction> before)
    {
        if (IsString(code))
        {
            return TryFillString(code, random, out instruction, out before);
        }

        before = [];
        var op = code.ToOpCode();
        instruction = default;
        instruction.Code = code;
        int memoryOperand = -1;
        for (int k = 0; k < op.OpCount; k++)
        {
            var kind = op.GetOpKind(k);
            bool memory = kind == OpCodeOperandKind.mem
                || (kind is OpCodeOperandKind.r8_or_mem or OpCodeOperandKind.r16_or_mem or OpCodeOperandKind.r32_or_mem or OpCodeOperandKind.r64_or_mem
                    or OpCodeOperandKind.xmm_or_mem or OpCodeOperandKind.ymm_or_mem or OpCodeOperandKind.mm_or_mem && random.Next(2) == 0);
            if (memory)
            {
                memoryOperand = k;
                instruction.SetOpKind(k, OpKind.Memory);
                instruction.MemoryBase = Register.R15;
                int disp = random.Next(4) != 0 ? random.Next((OracleLayout.OperandSpace - 128) / 16) * 16 : random.Next(OracleLayout.OperandSpace - 128);
                instruction.MemoryDisplacement64 = (ulong)disp;
                instruction.MemoryDisplSize = disp == 0 ? 0 : disp < 128 ? 1 : 4;
                instruction.MemoryIndexScale = 1;
                continue;
            }

            switch (kind)
            {
                case OpCodeOperandKind.r8_or_mem or OpCodeOperandKind.r8_reg or OpCodeOperandKind.r8_opcode:
                    SetRegister(ref instruction, k, Gpr(random, 8));
                    break;
                case OpCodeOperandKind.r16_or_mem or OpCodeOperandKind.r16_reg or OpCodeOperandKind.r16_rm or OpCodeOperandKind.r16_opcode:
                    SetRegister(ref instruction, k, Gpr(random, 16));
                    break;
                case OpCodeOperandKind.r32_or_mem or OpCodeOperandKind.r32_reg or OpCodeOperandKind.r32_rm or OpCodeOperandKind.r32_opcode or OpCodeOperandKind.r32_vvvv:
                    SetRegister(ref instruction, k, Gpr(random, 32));
                    break;
                case OpCodeOperandKind.r64_or_mem or OpCodeOperandKind.r64_reg or OpCodeOperandKind.r64_rm or OpCodeOperandKind.r64_opcode or OpCodeOperandKind.r64_vvvv:
                    SetRegister(ref instruction, k, Gpr(random, 64));
                    break;
                case OpCodeOperandKind.xmm_or_mem or OpCodeOperandKind.xmm_reg or OpCodeOperandKind.xmm_rm or OpCodeOperandKind.xmm_vvvv or OpCodeOperandKind.xmm_is4:
                    SetRegister(ref instruction, k, Register.XMM0 + random.Next(16));
                    break;
                case OpCodeOperandKind.ymm_or_mem or OpCodeOperandKind.ymm_reg or OpCodeOperandKind.ymm_rm or OpCodeOperandKind.ymm_vvvv or OpCodeOperandKind.ymm_is4:
                    SetRegister(ref instruction, k, Register.YMM0 + random.Next(16));
                    break;
                case OpCodeOperandKind.mm_or_mem or OpCodeOperandKind.mm_reg or OpCodeOperandKind.mm_rm:
                    SetRegister(ref instruction, k, Register.MM0 + random.Next(8));
                    break;
                case OpCodeOperandKind.st0:
                    SetRegister(ref instruction, k, Register.ST0);
                    break;
                case OpCodeOperandKind.sti_opcode:
                    SetRegister(ref instruction, k, Register.ST0 + random.Next(8));
                    break;
                case OpCodeOperandKind.al:
                    SetRegister(ref instruction, k, Register.AL);
                    break;
                case OpCodeOperandKind.ax:
                    SetRegister(ref instruction, k, Register.AX);
                    break;
                case OpCodeOperandKind.eax:
                    SetRegister(ref instruction, k, Register.EAX);
                    break;
                case OpCodeOperandKind.rax:
                    SetRegister(ref instruction, k, Register.RAX);
                    break;
                case OpCodeOperandKind.cl:
                    SetRegister(ref instruction, k, Register.CL);
                    break;
                case OpCodeOperandKind.imm8:
                    instruction.SetOpKind(k, OpKind.Immediate8);
                    instruction.Immediate8 = IsShiftLike(code) ? (byte)random.Next(0, 70) : (byte)Immediate(random);
                    break;
                case OpCodeOperandKind.imm8_const_1:
                    instruction.SetOpKind(k, OpKind.Immediate8);
                    instruction.Immediate8 = 1;
                    break;
                case OpCodeOperandKind.imm16:
                    instruction.SetOpKind(k, OpKind.Immediate16);
                    instruction.Immediate16 = (ushort)Immediate(random);
                    break;
                case OpCodeOperandKind.imm32:
                    instruction.SetOpKind(k, OpKind.Immediate32);
                    instruction.Immediate32 = (uint)Immediate(random);
                    break;
                case OpCodeOperandKind.imm64:
                    instruction.SetOpKind(k, OpKind.Immediate64);
                    instruction.Immediate64 = Immediate(random);
                    break;
                case OpCodeOperandKind.imm8sex16:
                    instruction.SetOpKind(k, OpKind.Immediate8to16);
                    instruction.Immediate8 = (byte)Immediate(random);
                    break;
                case OpCodeOperandKind.imm8sex32:
                    instruction.SetOpKind(k, OpKind.Immediate8to32);
                    instruction.Immediate8 = (byte)Immediate(random);
                    break;
                case OpCodeOperandKind.imm8sex64:
                    instruction.SetOpKind(k, OpKind.Immediate8to64);
                    instruction.Immediate8 = (byte)Immediate(random);
                    break;
                case OpCodeOperandKind.imm32sex64:
                    instruction.SetOpKind(k, OpKind.Immediate32to64);
                    instruction.Immediate32 = (uint)Immediate(random);
                    break;
                default:
                    return false;
            }
        }

        // SHLD/SHRD with a 16-bit operand and a count above 16 leave the destination undefined
        // (SDM Vol. 2B SHLD): immediates are kept to 16, CL counts are not generated.
        if (instruction.Mnemonic is Mnemonic.Shld or Mnemonic.Shrd && op.OperandSize == 16)
        {
            if (instruction.GetOpKind(op.OpCount - 1) != OpKind.Immediate8)
            {
                return false;
            }

            instruction.Immediate8 = (byte)(instruction.Immediate8 % 17);
        }

        // BT/BTS/BTR/BTC [mem], reg: the register is a signed bit offset from the operand. Keep
        // it inside the data region with a MOV before.
        if (instruction.Mnemonic is Mnemonic.Bt or Mnemonic.Bts or Mnemonic.Btr or Mnemonic.Btc && memoryOperand == 0 && instruction.Op1Kind == OpKind.Register)
        {
            long disp = (long)instruction.MemoryDisplacement64;
            int width = instruction.Op1Register.GetSize() * 8;
            long low = Math.Max(-disp * 8, width == 16 ? short.MinValue : int.MinValue);
            long high = ((OracleLayout.OperandSpace - 8 - disp) * 8) - 1;
            long offset = random.NextInt64(low, high);
            var full = instruction.Op1Register.GetFullRegister();
            before.Add(Instruction.Create(Code.Mov_r64_imm64, full, (ulong)offset));
        }

        // LDMXCSR: bit 17 is AMD's misaligned-SSE mask (MXCSR_MASK 2FFFFh there), reserved on
        // Intel (#GP). Clear it in the operand first so both vendors see the same rule.
        if (instruction.Mnemonic is Mnemonic.Ldmxcsr or Mnemonic.Vldmxcsr)
        {
            var and = Instruction.Create(Code.And_rm32_imm32, new MemoryOperand(Register.R15, (long)instruction.MemoryDisplacement64), unchecked((int)~0x20000u));
            before.Add(and);
        }

        // DIV and IDIV: a small high half most of the time, so most cases divide rather than #DE.
        if (instruction.Mnemonic is Mnemonic.Div or Mnemonic.Idiv && op.OperandSize > 8 && random.Next(4) != 0)
        {
            before.Add(Instruction.Create(Code.Mov_r32_imm32, Register.EDX, random.Next(0, 3)));
        }

        var writer = new NullWriter();
        var encoder = Encoder.Create(64, writer);
        return encoder.TryEncode(instruction, OracleLayout.Body, out _, out _);
    }

    private static bool IsShiftLike(Code code) => code.Mnemonic() is Mnemonic.Rol or Mnemonic.Ror or Mnemonic.Rcl or Mnemonic.Rcr or Mnemonic.Shl or Mnemonic.Sal
        or Mnemonic.Shr or Mnemonic.Sar or Mnemonic.Shld or Mnemonic.Shrd;

    private static void SetRegister(ref Instruction instruction, int operand, Register register)
    {
        instruction.SetOpKind(operand, OpKind.Register);
        instruction.SetOpRegister(operand, register);
    }

    /// <summary>Special floating-point values: zeros, ones, the smallest and largest normals, denormals, infinities, NaNs.</summary>
    private static readonly uint[] s_floats = [0, 0x8000_0000, 0x3F80_0000, 0xBF80_0000, 0x0080_0000, 0x7F7F_FFFF, 0x0000_0001, 0x807F_FFFF, 0x7F80_0000, 0xFF80_0000, 0x7FC0_0000, 0xFFC0_0000, 0x7FA0_0000, 0x4F00_0000, 0xCF00_0000, 0x3F00_0000];
    private static readonly ulong[] s_doubles = [0, 0x8000_0000_0000_0000, 0x3FF0_0000_0000_0000, 0xBFF0_0000_0000_0000, 0x0010_0000_0000_0000, 0x7FEF_FFFF_FFFF_FFFF, 1, 0x800F_FFFF_FFFF_FFFF, 0x7FF0_0000_0000_0000, 0xFFF0_0000_0000_0000, 0x7FF8_0000_0000_0000, 0xFFF8_0000_0000_0000, 0x7FF4_0000_0000_0000, 0x43E0_0000_0000_0000, 0xC3E0_0000_0000_0000, 0x3FE0_0000_0000_0000];

    private static void FillVector(Random random, Span<byte> bytes)
    {
        switch (random.Next(4))
        {
            case 0:
                random.NextBytes(bytes);
                break;
            case 1:
                for (int k = 0; k + 4 <= bytes.Length; k += 4)
                {
                    uint v = random.Next(3) == 0 ? (uint)random.Next() ^ ((uint)random.Next(2) << 31) : s_floats[random.Next(s_floats.Length)];
                    BitConverter.TryWriteBytes(bytes[k..], v);
                }

                break;
            case 2:
                for (int k = 0; k + 8 <= bytes.Length; k += 8)
                {
                    ulong v = random.Next(3) == 0 ? BitConverter.DoubleToUInt64Bits((random.NextDouble() - 0.5) * Math.Pow(2, random.Next(-40, 40))) : s_doubles[random.Next(s_doubles.Length)];
                    BitConverter.TryWriteBytes(bytes[k..], v);
                }

                break;
            default:
                for (int k = 0; k + 2 <= bytes.Length; k += 2)
                {
                    ushort v = (ushort)s_edges[random.Next(s_edges.Length)];
                    BitConverter.TryWriteBytes(bytes[k..], v);
                }

                break;
        }
    }

    /// <summary>An 80-bit x87 value: specials (zeros, infinities, NaNs, denormals, unnormals rarely), round numbers and random normals.</summary>
    private static void FillExtended(Random random, Span<byte> st)
    {
        ulong significand;
        ushort signExponent;
        int sign = random.Next(2) << 15;
        switch (random.Next(12))
        {
            case 0:
                significand = 0;
                signExponent = (ushort)sign;
                break;
            case 1:
                significand = 0x8000_0000_0000_0000;
                signExponent = (ushort)(sign | 0x7FFF); // infinity
                break;
            case 2:
                significand = 0xC000_0000_0000_0000 | (uint)random.Next();
                signExponent = (ushort)(sign | 0x7FFF); // QNaN
                break;
            case 3:
                significand = 0x8000_0000_0000_0000 | (uint)random.Next(1, int.MaxValue); // SNaN
                signExponent = (ushort)(sign | 0x7FFF);
                break;
            case 4:
                significand = (ulong)random.NextInt64() >>> 1; // denormal (J = 0, exponent 0)
                signExponent = (ushort)sign;
                break;
            case 5:
                significand = 0x8000_0000_0000_0000;
                signExponent = (ushort)(sign | (0x3FFF + random.Next(-3, 4))); // powers of two
                break;
            default:
                double d = (random.NextDouble() + 0.5) * Math.Pow(2, random.Next(-70, 70));
                ulong bits = BitConverter.DoubleToUInt64Bits(d);
                int exponent = (int)((bits >> 52) & 0x7FF) - 1023 + 16383;
                significand = 0x8000_0000_0000_0000 | ((bits & 0xF_FFFF_FFFF_FFFF) << 11) | (random.Next(2) == 0 ? 0 : (ulong)random.Next(0x800));
                signExponent = (ushort)(sign | exponent);
                break;
        }

        BitConverter.TryWriteBytes(st, significand);
        BitConverter.TryWriteBytes(st[8..], signExponent);
    }

    private static OracleState RandomState(Random random, bool hostYmm)
    {
        var s = new OracleState();
        for (int k = 0; k < 16; k++)
        {
            ulong v = random.Next(3) switch
            {
                0 => s_edges[random.Next(s_edges.Length)],
                1 => (ulong)random.Next(0, 200),
                _ => (ulong)random.NextInt64() ^ ((ulong)random.Next() << 33),
            };
            s.SetGpr(k, v);
        }

        s.SetGpr(4, OracleLayout.Stack);
        s.SetGpr(15, OracleLayout.Data);
        // IF set as at CPL 3 on the host; the status flags and DF random.
        s.Rflags = 0x202 | ((ulong)random.Next(0x1000) & 0x8D5) | (random.Next(8) == 0 ? 0x400UL : 0);
        s.Vector = OracleLayout.NoVector;

        // x87: precision 24/53/64 bits, any rounding, exceptions masked (sometimes some unmasked), TOP anywhere.
        int pc = random.Next(4) switch { 0 => 0, 1 => 2, _ => 3 };
        int masks = random.Next(6) == 0 ? random.Next(0x40) | 0x20 : 0x3F;
        s.Fcw = (ushort)(0x40 | masks | (pc << 8) | (random.Next(4) << 10));
        s.Fsw = (ushort)(random.Next(8) << 11);
        s.Fx[OracleState.FxFtw] = (byte)random.Next(256);
        for (int k = 0; k < 8; k++)
        {
            FillExtended(random, s.St(k));
        }

        // MXCSR: all masked mostly, any rounding, DAZ and FTZ sometimes, sticky flags sometimes.
        uint mxcsrMasks = random.Next(5) == 0 ? (uint)random.Next(0x40) << 7 : 0x1F80;
        s.Mxcsr = mxcsrMasks | ((uint)random.Next(4) << 13) | (random.Next(5) == 0 ? 0x40u : 0) | (random.Next(5) == 0 ? 0x8000u : 0) | (random.Next(4) == 0 ? (uint)random.Next(0x40) : 0);
        for (int k = 0; k < 16; k++)
        {
            FillVector(random, s.Xmm(k));
            if (hostYmm)
            {
                FillVector(random, s.Upper.Slice(16 * k, 16));
            }
        }

        FillVector(random, s.Data);
        for (int k = 0; k < OracleLayout.DataSize; k += 64)
        {
            FillVector(random, s.Data.AsSpan(k, 64));
        }

        return s;
    }

    private sealed class NullWriter : CodeWriter
    {
        public override void WriteByte(byte value)
        {
        }
    }
}
