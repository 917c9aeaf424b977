namespace Emulator.Cpu;

/// <summary>
/// What each <see cref="CpuModel"/> advertises, and which families are implemented well enough
/// to be advertised at all. A model's CPUID bits are its feature list intersected with
/// <see cref="Implemented"/>; the decoder raises #UD for an instruction of an extension the
/// chosen model does not advertise (<see cref="FeatureGate"/>).
/// </summary>
public static class CpuModels
{
    /// <summary>
    /// The model a machine gets without <c>--cpu</c>: the highest x86-64 level whose every feature
    /// is in <see cref="Implemented"/> (the
    /// <c>GlibcIsaLevel</c> test says which level each model reaches).
    /// </summary>
    public const CpuModel DefaultModel = CpuModel.V3;

    /// <summary>
    /// The families with complete, tested implementations; the one place to switch a family on
    /// when it lands. AVX (the VEX floating-point instructions, AvxFloat*.cs), AVX2 (integer,
    /// Avx2Integer.cs), FMA (Fma.cs), F16C and XSAVE (SaveState.cs; the AVX XSAVE component
    /// follows Avx in <see cref="Apply"/>) complete x86-64-v3.
    /// </summary>
    public const IsaFeature Implemented =
        IsaFeature.Sse3 | IsaFeature.Ssse3 | IsaFeature.Sse41 | IsaFeature.Sse42 | IsaFeature.Popcnt
        | IsaFeature.Cmpxchg16b | IsaFeature.LahfSahf
        | IsaFeature.Pclmulqdq | IsaFeature.Aes | IsaFeature.Movbe | IsaFeature.Rdrand | IsaFeature.Rdseed
        | IsaFeature.Bmi1 | IsaFeature.Bmi2 | IsaFeature.Lzcnt | IsaFeature.Adx | IsaFeature.Prefetchw
        | IsaFeature.Pcid | IsaFeature.Invpcid | IsaFeature.Smep | IsaFeature.Smap | IsaFeature.Umip
        | IsaFeature.Page1Gb | IsaFeature.Rdtscp
        | IsaFeature.Avx | IsaFeature.Avx2 | IsaFeature.Fma | IsaFeature.F16c | IsaFeature.Xsave;

    /// <summary>x86-64-v2 (glibc's level 2), plus RDTSCP as Nehalem has.</summary>
    public const IsaFeature V2Features =
        IsaFeature.Cmpxchg16b | IsaFeature.LahfSahf | IsaFeature.Popcnt | IsaFeature.Sse3 | IsaFeature.Ssse3
        | IsaFeature.Sse41 | IsaFeature.Sse42 | IsaFeature.Rdtscp;

    /// <summary>x86-64-v3 (glibc's level 3), plus what Haswell has besides: AES, PCLMULQDQ, RDRAND, PCID, INVPCID, SMEP.</summary>
    public const IsaFeature V3Features =
        V2Features | IsaFeature.Avx | IsaFeature.Avx2 | IsaFeature.Bmi1 | IsaFeature.Bmi2 | IsaFeature.F16c
        | IsaFeature.Fma | IsaFeature.Lzcnt | IsaFeature.Movbe | IsaFeature.Xsave
        | IsaFeature.Aes | IsaFeature.Pclmulqdq | IsaFeature.Rdrand | IsaFeature.Pcid | IsaFeature.Invpcid | IsaFeature.Smep;

    /// <summary>The features <paramref name="model"/> advertises today (its list within <see cref="Implemented"/>).</summary>
    public static IsaFeature Features(CpuModel model) => Implemented & model switch
    {
        CpuModel.Baseline => IsaFeature.None,
        CpuModel.V2 => V2Features,
        CpuModel.V3 => V3Features,
        _ => (IsaFeature)ulong.MaxValue,
    };

    /// <summary>The names <c>--cpu</c> accepts, ours and QEMU's.</summary>
    public static readonly IReadOnlyList<string> Names = ["x86-64", "baseline", "x86-64-v2", "v2", "x86-64-v3", "v3", "max", "host", "qemu64", "Nehalem", "Haswell"];

    /// <summary>Reads a model name: x86-64 (baseline), x86-64-v2 (v2), x86-64-v3 (v3), max, and QEMU's qemu64, Nehalem, Haswell and host.</summary>
    public static bool TryParse(string name, out CpuModel model)
    {
        // QEMU allows "+feature,-feature" after the name; we take the name alone and refuse the rest.
        CpuModel? found = name.ToLowerInvariant() switch
        {
            "x86-64" or "baseline" or "qemu64" => CpuModel.Baseline,
            "x86-64-v2" or "v2" or "nehalem" => CpuModel.V2,
            "x86-64-v3" or "v3" or "haswell" => CpuModel.V3,
            "max" or "host" => CpuModel.Max,
            _ => null,
        };
        model = found ?? DefaultModel;
        return found is not null;
    }

    /// <summary>Where each feature is in CPUID (SDM Vol. 2A, CPUID, tables 3-8 to 3-20).</summary>
    private static readonly (IsaFeature Feature, Location Where, int Bit)[] s_bits =
    [
        (IsaFeature.Sse3, Location.Leaf1Ecx, 0),
        (IsaFeature.Pclmulqdq, Location.Leaf1Ecx, 1),
        (IsaFeature.Ssse3, Location.Leaf1Ecx, 9),
        (IsaFeature.Fma, Location.Leaf1Ecx, 12),
        (IsaFeature.Cmpxchg16b, Location.Leaf1Ecx, 13),
        (IsaFeature.Pcid, Location.Leaf1Ecx, 17),
        (IsaFeature.Sse41, Location.Leaf1Ecx, 19),
        (IsaFeature.Sse42, Location.Leaf1Ecx, 20),
        (IsaFeature.Movbe, Location.Leaf1Ecx, 22),
        (IsaFeature.Popcnt, Location.Leaf1Ecx, 23),
        (IsaFeature.Aes, Location.Leaf1Ecx, 25),
        (IsaFeature.Xsave, Location.Leaf1Ecx, 26),
        (IsaFeature.Avx, Location.Leaf1Ecx, 28),
        (IsaFeature.F16c, Location.Leaf1Ecx, 29),
        (IsaFeature.Rdrand, Location.Leaf1Ecx, 30),
        (IsaFeature.Bmi1, Location.Leaf7Ebx, 3),
        (IsaFeature.Avx2, Location.Leaf7Ebx, 5),
        (IsaFeature.Smep, Location.Leaf7Ebx, 7),
        (IsaFeature.Bmi2, Location.Leaf7Ebx, 8),
        (IsaFeature.Invpcid, Location.Leaf7Ebx, 10),
        (IsaFeature.Rdseed, Location.Leaf7Ebx, 18),
        (IsaFeature.Adx, Location.Leaf7Ebx, 19),
        (IsaFeature.Smap, Location.Leaf7Ebx, 20),
        (IsaFeature.Umip, Location.Leaf7Ecx, 2),
        (IsaFeature.Page1Gb, Location.ExtendedEdx, 26),
        (IsaFeature.Rdtscp, Location.ExtendedEdx, 27),
        (IsaFeature.LahfSahf, Location.ExtendedEcx, 0),
        (IsaFeature.Lzcnt, Location.ExtendedEcx, 5),
        (IsaFeature.Prefetchw, Location.ExtendedEcx, 8),
    ];

    private enum Location
    {
        Leaf1Ecx,
        Leaf7Ebx,
        Leaf7Ecx,
        ExtendedEdx,
        ExtendedEcx,
    }

    /// <summary>The CPUID leaf and register (as "1:ECX") and bit of <paramref name="feature"/>, for messages and tests.</summary>
    public static (uint Leaf, string Register, int Bit) CpuidBit(IsaFeature feature)
    {
        foreach (var (f, where, bit) in s_bits)
        {
            if (f == feature)
            {
                return where switch
                {
                    Location.Leaf1Ecx => (1u, "ECX", bit),
                    Location.Leaf7Ebx => (7u, "EBX", bit),
                    Location.Leaf7Ecx => (7u, "ECX", bit),
                    Location.ExtendedEdx => (0x80000001u, "EDX", bit),
                    _ => (0x80000001u, "ECX", bit),
                };
            }
        }

        throw new ArgumentOutOfRangeException(nameof(feature));
    }

    /// <summary>
    /// Sets the model-controlled CPUID bits of <paramref name="cpuid"/> to <paramref name="model"/>'s
    /// features; every other bit (the baseline ones, and the machine's APIC bits) stays as it is.
    /// The XSAVE components follow: x87 and SSE, and AVX when AVX is advertised.
    /// </summary>
    public static void Apply(CpuidModel cpuid, CpuModel model)
    {
        var features = Features(model);
        foreach (var (feature, where, bit) in s_bits)
        {
            uint mask = 1u << bit;
            uint set = (features & feature) != 0 ? mask : 0;
            switch (where)
            {
                case Location.Leaf1Ecx:
                    cpuid.Leaf1Ecx = (cpuid.Leaf1Ecx & ~mask) | set;
                    break;
                case Location.Leaf7Ebx:
                    cpuid.Leaf7Ebx = (cpuid.Leaf7Ebx & ~mask) | set;
                    break;
                case Location.Leaf7Ecx:
                    cpuid.Leaf7Ecx = (cpuid.Leaf7Ecx & ~mask) | set;
                    break;
                case Location.ExtendedEdx:
                    cpuid.ExtendedEdx = (cpuid.ExtendedEdx & ~mask) | set;
                    break;
                default:
                    cpuid.ExtendedEcx = (cpuid.ExtendedEcx & ~mask) | set;
                    break;
            }
        }

        cpuid.XsaveComponents = (features & IsaFeature.Avx) != 0 ? 7UL : 3UL;
    }

    /// <summary>The model-controlled features <paramref name="cpuid"/> advertises now (tests may have changed single bits).</summary>
    public static IsaFeature Advertised(CpuidModel cpuid)
    {
        var result = IsaFeature.None;
        foreach (var (feature, where, bit) in s_bits)
        {
            uint value = where switch
            {
                Location.Leaf1Ecx => cpuid.Leaf1Ecx,
                Location.Leaf7Ebx => cpuid.Leaf7Ebx,
                Location.Leaf7Ecx => cpuid.Leaf7Ecx,
                Location.ExtendedEdx => cpuid.ExtendedEdx,
                _ => cpuid.ExtendedEcx,
            };
            if ((value & (1u << bit)) != 0)
            {
                result |= feature;
            }
        }

        return result;
    }
}
