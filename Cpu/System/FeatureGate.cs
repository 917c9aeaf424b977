using Iced.Intel;

namespace Emulator.Cpu;

/// <summary>
/// The decoder's half of the CPU model: an instruction of an extension the model does not
/// advertise raises #UD, as on a real CPU without it (SDM Vol. 2A 2.x, each instruction's
/// "#UD If CPUID.xxx = 0"). Which extension an instruction belongs to comes from Iced
/// (<see cref="InstructionInfoExtensions.CpuidFeatures(Code)"/>); only the extensions a model
/// decides (<see cref="IsaFeature"/>) are checked, so the baseline and the hint-space instructions
/// (ENDBR, RDSSP, PREFETCHW: NOPs where absent) are never refused here.
/// Two encodings mean something else without their feature, and run as that: LZCNT is BSR and
/// TZCNT is BSF with an ignored F3 prefix (SDM Vol. 2A LZCNT and Vol. 2B TZCNT, "on processors
/// that do not support ... the instruction byte encoding is executed as BSR / BSF").
/// </summary>
public static class FeatureGate
{
    private static readonly IsaFeature[] s_required = BuildRequired();
    private static readonly Code[] s_fallback = BuildFallback();

    /// <summary>The model-controlled features <paramref name="code"/> needs (LAHF/SAHF's 64-bit rule aside).</summary>
    public static IsaFeature Required(Code code) => s_required[(int)code];

    /// <summary>
    /// True when <paramref name="instruction"/> may run on a CPU advertising
    /// <paramref name="advertised"/> in a <paramref name="bitness"/>-bit code segment; LZCNT and TZCNT
    /// become BSR and BSF in place when their feature is absent. False: the instruction raises #UD,
    /// and <paramref name="missing"/> says why.
    /// </summary>
    public static bool Allows(ref Instruction instruction, IsaFeature advertised, int bitness, out IsaFeature missing)
    {
        var code = instruction.Code;
        missing = s_required[(int)code] & ~advertised;
        // SDM Vol. 2A LAHF/SAHF: in 64-bit mode #UD when CPUID.80000001H:ECX.LAHF-SAHF[bit 0] = 0.
        if (bitness == 64 && (code == Code.Lahf || code == Code.Sahf) && (advertised & IsaFeature.LahfSahf) == 0)
        {
            missing = IsaFeature.LahfSahf;
        }

        if (missing == IsaFeature.None)
        {
            return true;
        }

        if (s_fallback[(int)code] is var fallback && fallback != Code.INVALID)
        {
            instruction.Code = fallback;
            missing = IsaFeature.None;
            return true;
        }

        return false;
    }

    private static IsaFeature Map(CpuidFeature feature) => feature switch
    {
        CpuidFeature.SSE3 => IsaFeature.Sse3,
        CpuidFeature.SSSE3 => IsaFeature.Ssse3,
        CpuidFeature.SSE4_1 => IsaFeature.Sse41,
        CpuidFeature.SSE4_2 => IsaFeature.Sse42,
        CpuidFeature.POPCNT => IsaFeature.Popcnt,
        CpuidFeature.CMPXCHG16B => IsaFeature.Cmpxchg16b,
        CpuidFeature.MOVBE => IsaFeature.Movbe,
        CpuidFeature.AES => IsaFeature.Aes,
        CpuidFeature.PCLMULQDQ => IsaFeature.Pclmulqdq,
        CpuidFeature.AVX => IsaFeature.Avx,
        CpuidFeature.AVX2 => IsaFeature.Avx2,
        CpuidFeature.FMA => IsaFeature.Fma,
        CpuidFeature.F16C => IsaFeature.F16c,
        CpuidFeature.BMI1 => IsaFeature.Bmi1,
        CpuidFeature.BMI2 => IsaFeature.Bmi2,
        CpuidFeature.LZCNT => IsaFeature.Lzcnt,
        CpuidFeature.ADX => IsaFeature.Adx,
        CpuidFeature.RDRAND => IsaFeature.Rdrand,
        CpuidFeature.RDSEED => IsaFeature.Rdseed,
        // XSAVEOPT and XSAVEC are reported in leaf 0DH subleaf 1 whenever XSAVE is.
        CpuidFeature.XSAVE or CpuidFeature.XSAVEOPT or CpuidFeature.XSAVEC => IsaFeature.Xsave,
        CpuidFeature.INVPCID => IsaFeature.Invpcid,
        CpuidFeature.SMAP => IsaFeature.Smap,
        CpuidFeature.RDTSCP => IsaFeature.Rdtscp,
        _ => IsaFeature.None,
    };

    private static IsaFeature[] BuildRequired()
    {
        var table = new IsaFeature[Enum.GetValues<Code>().Length];
        for (int k = 1; k < table.Length; k++)
        {
            foreach (var feature in ((Code)k).CpuidFeatures())
            {
                table[k] |= Map(feature);
            }
        }

        return table;
    }

    private static Code[] BuildFallback()
    {
        var table = new Code[Enum.GetValues<Code>().Length];
        foreach (var (from, to) in (ReadOnlySpan<(Code, Code)>)[
            (Code.Lzcnt_r16_rm16, Code.Bsr_r16_rm16), (Code.Lzcnt_r32_rm32, Code.Bsr_r32_rm32), (Code.Lzcnt_r64_rm64, Code.Bsr_r64_rm64),
            (Code.Tzcnt_r16_rm16, Code.Bsf_r16_rm16), (Code.Tzcnt_r32_rm32, Code.Bsf_r32_rm32), (Code.Tzcnt_r64_rm64, Code.Bsf_r64_rm64)])
        {
            table[(int)from] = to;
        }

        return table;
    }
}
