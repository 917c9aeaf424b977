using System.Diagnostics;
using System.Text;

namespace Emulator.Cpu;

/// <summary>
/// What CPUID reports. The rule: advertise only what is implemented and tested (DESIGN.md and
/// the "complete instruction set" issue raise the level as families land). Leaf layouts follow
/// SDM Vol. 2A, CPUID, tables 3-8 to 3-20.
/// </summary>
public sealed class CpuidModel
{
    /// <summary>
    /// Family 6, extended model 2, model 0xC (display model 44), stepping 1: the signature of QEMU's
    /// Westmere model (CPUID.1:EAX, SDM Vol. 2A figure 3-6); also EDX after RESET (SDM Vol. 3A
    /// 9.1.4). Linux keys quirks on it: on family 6 models below 15 it turns PAT off
    /// (arch/x86/kernel/cpu/intel.c), which the old value (model 6, a Pentium II) triggered; on
    /// Skylake and later models it reports microcode errata (TSC deadline) and model-listed
    /// vulnerabilities (RETBleed, SRBDS, MMIO stale data) that no microcode of ours can clear.
    /// </summary>
    public const uint Signature = 0x000206C1;

    public const uint MaxBasicLeaf = 0xD;
    public const uint MaxExtendedLeaf = 0x80000008;

    // CPUID.1:EDX (SDM table 3-11).
    public const uint EdxFpu = 1u << 0;
    public const uint EdxDe = 1u << 2;
    public const uint EdxPse = 1u << 3;
    public const uint EdxTsc = 1u << 4;
    public const uint EdxMsr = 1u << 5;
    public const uint EdxPae = 1u << 6;
    public const uint EdxMce = 1u << 7;
    public const uint EdxCx8 = 1u << 8;
    public const uint EdxApic = 1u << 9;
    public const uint EdxSep = 1u << 11;
    public const uint EdxMtrr = 1u << 12;
    public const uint EdxPge = 1u << 13;
    public const uint EdxMca = 1u << 14;
    public const uint EdxCmov = 1u << 15;
    public const uint EdxPat = 1u << 16;
    public const uint EdxPse36 = 1u << 17;
    public const uint EdxFxsr = 1u << 24;
    public const uint EdxSse = 1u << 25;
    public const uint EdxSse2 = 1u << 26;

    // CPUID.80000001h:EDX and ECX.
    public const uint ExtEdxSyscall = 1u << 11;
    public const uint ExtEdxNx = 1u << 20;
    public const uint ExtEdxPage1Gb = 1u << 26;
    public const uint ExtEdxRdtscp = 1u << 27;
    public const uint ExtEdxLongMode = 1u << 29;
    public const uint ExtEcxLahfSahf = 1u << 0;
    public const uint ExtEcxLzcnt = 1u << 5;
    public const uint ExtEcxPrefetchw = 1u << 8;

    // CPUID.1:ECX (SDM table 3-10).
    public const uint EcxSse3 = 1u << 0;
    public const uint EcxPcid = 1u << 17;
    public const uint EcxSse41 = 1u << 19;
    public const uint EcxXsave = 1u << 26;
    public const uint EcxOsxsave = 1u << 27;
    public const uint EcxAvx = 1u << 28;
    public const uint EcxX2Apic = 1u << 21;
    public const uint EcxTscDeadline = 1u << 24;
    public const uint EcxMovbe = 1u << 22;
    public const uint EcxPopcnt = 1u << 23;
    public const uint EcxRdrand = 1u << 30;
    public const uint EcxHypervisor = 1u << 31;

    // CPUID.(EAX=7,ECX=0):EBX.
    public const uint Leaf7EbxBmi1 = 1u << 3;
    public const uint Leaf7EbxBmi2 = 1u << 8;
    public const uint Leaf7EbxRdseed = 1u << 18;
    public const uint Leaf7EbxAdx = 1u << 19;

    // CPUID.(EAX=7,ECX=0):EBX and ECX (SDM table 3-8).
    public const uint Leaf7EbxSmep = 1u << 7;
    public const uint Leaf7EbxInvpcid = 1u << 10;
    public const uint Leaf7EbxSmap = 1u << 20;
    public const uint Leaf7EcxUmip = 1u << 2;
    public const uint Leaf7EdxArchCapabilities = 1u << 29;

    private static readonly byte[] s_vendor = Encoding.ASCII.GetBytes("GenuineIntel");
    private static readonly byte[] s_brand = Encoding.ASCII.GetBytes("Emulator software x86-64 CPU".PadRight(48, '\0'));

    /// <summary>Starts as <see cref="CpuModels.DefaultModel"/>; the property values below are the bits every model shares, and those a model decides are set by <see cref="Apply"/>.</summary>
    public CpuidModel()
        : this(CpuModels.DefaultModel)
    {
    }

    public CpuidModel(CpuModel model) => Apply(model);

    /// <summary>The model last applied; tests may have changed single bits since.</summary>
    public CpuModel Model { get; private set; }

    /// <summary>Sets the bits a model decides (<see cref="CpuModels"/>), leaving the rest (the machine's APIC bits) alone.</summary>
    public void Apply(CpuModel model)
    {
        CpuModels.Apply(this, model);
        Model = model;
    }

    /// <summary>
    /// CPUID.1:EDX. FPU: the x87 in software (Fpu/, Instructions/X87*.cs); DE: CR4.DE with DR4/DR5
    /// #UD and I/O breakpoints; MTRR: IA32_MTRRCAP and the fixed and variable ranges (Mtrr.cs);
    /// MMX, FXSR (FXSAVE/FXRSTOR and CR4.OSFXSR, SaveState.cs), SSE and SSE2 (floating point in
    /// SseFloat*.cs, packed integer in SimdInteger*.cs). Not advertised: VME (virtual-8086
    /// extensions), APIC (the machine sets it, with
    /// x2APIC and TSC-deadline in ECX, when it wires a local APIC), CLFSH, PSN, DS, ACPI, SS, HTT, TM,
    /// PBE. MCE and MCA: CR4.MCE and the machine-check MSRs (<see cref="MachineCheck"/>); no
    /// machine check ever happens, but the banks read and write as hardware's do.
    /// </summary>
    public uint Leaf1Edx { get; set; } = EdxFpu | EdxDe | EdxPse | EdxTsc | EdxMsr | EdxPae | EdxMce | EdxCx8 | EdxSep | EdxMtrr | EdxPge | EdxMca | EdxCmov | EdxPat | EdxPse36 | EdxMmx | EdxFxsr | EdxSse | EdxSse2;

    /// <summary>
    /// CPUID.1:ECX: SSE3, PCLMULQDQ, SSSE3, SSE4.1, SSE4.2, MOVBE, POPCNT, AES, RDRAND, PCID.
    /// XSAVE (bit 26) waits for AVX: XSAVE, XRSTOR, XGETBV, XSETBV and leaf 0DH work (tests switch
    /// the bit on), but an OS that sees XSAVE expects AVX with it.
    /// </summary>
    public uint Leaf1Ecx { get; set; } = EcxSse3 | EcxPclmulqdq | EcxSsse3 | EcxSse41 | EcxSse42 | EcxMovbe | EcxPopcnt | EcxAes | EcxRdrand | EcxPcid;

    /// <summary>
    /// The XSAVE state components XCR0 may enable (CPUID.(EAX=0DH,ECX=0):EDX:EAX): x87 and SSE.
    /// AVX (bit 2) joins when the AVX instructions do; SaveState.cs already saves and loads it.
    /// </summary>
    public ulong XsaveComponents { get; set; } = 3;

    public const uint EdxMmx = 1u << 23;
    public const uint EcxPclmulqdq = 1u << 1;
    public const uint EcxSsse3 = 1u << 9;
    public const uint EcxSse42 = 1u << 20;
    public const uint EcxAes = 1u << 25;

    /// <summary>CPUID.(EAX=7,ECX=0):EBX: BMI1, BMI2, RDSEED, ADX, and SMEP, SMAP, INVPCID (with STAC/CLAC and CR4.SMEP/SMAP/PCIDE).</summary>
    public uint Leaf7Ebx { get; set; } = Leaf7EbxBmi1 | Leaf7EbxBmi2 | Leaf7EbxRdseed | Leaf7EbxAdx | Leaf7EbxSmep | Leaf7EbxInvpcid | Leaf7EbxSmap;

    /// <summary>CPUID.80000001h:EDX: SYSCALL/SYSRET, NX, 1-GiB pages, RDTSCP with IA32_TSC_AUX, Intel 64.</summary>
    public uint ExtendedEdx { get; set; } = ExtEdxSyscall | ExtEdxNx | ExtEdxPage1Gb | ExtEdxRdtscp | ExtEdxLongMode;

    /// <summary>CPUID.(EAX=7,ECX=0):ECX.</summary>
    public uint Leaf7Ecx { get; set; } = Leaf7EcxUmip;

    /// <summary>CPUID.(EAX=7,ECX=0):EDX: IA32_ARCH_CAPABILITIES (Msr.ArchCapabilitiesValue).</summary>
    public uint Leaf7Edx { get; set; } = Leaf7EdxArchCapabilities;

    public uint ExtendedEcx { get; set; } = ExtEcxLahfSahf | ExtEcxLzcnt | ExtEcxPrefetchw;

    /// <summary>
    /// The four registers CPUID returns. <paramref name="miscEnable"/> is IA32_MISC_ENABLE: its
    /// "limit CPUID maxval" bit caps leaf 0 at 2 and its "XD bit disable" bit hides NX (SDM Vol. 4, table 2-2).
    /// CPUID.1:ECX.OSXSAVE mirrors <paramref name="cr4"/>.OSXSAVE; leaf 0DH sizes follow <paramref name="xcr0"/>.
    /// </summary>
    public (uint Eax, uint Ebx, uint Ecx, uint Edx) Query(uint leaf, uint subleaf, ulong miscEnable = 0, ulong cr4 = 0, ulong xcr0 = 1)
    {
        uint maxBasic = (miscEnable & Msr.MiscLimitCpuidMaxval) != 0 ? 2 : MaxBasicLeaf;
        if (leaf > maxBasic && leaf < 0x80000000)
        {
            // Intel: an unknown basic leaf answers as the highest basic leaf does.
            leaf = maxBasic;
        }
        else if (leaf > MaxExtendedLeaf)
        {
            // Past the highest extended leaf too (SDM Vol. 2A, CPUID, "invalid input").
            leaf = maxBasic;
        }

        uint extendedEdx = (miscEnable & Msr.MiscXdDisable) != 0 ? ExtendedEdx & ~ExtEdxNx : ExtendedEdx;
        return leaf switch
        {
            0 => (maxBasic, Word(s_vendor, 0), Word(s_vendor, 8), Word(s_vendor, 4)),
            // EBX: brand index 0, CLFLUSH line size 8 qwords (bits 15:8), one logical processor
            // (23:16, meaningful only with HTT), initial APIC ID 0 (31:24).
            1 => (Signature, (8u << 8) | (1u << 16), Leaf1Ecx | ((cr4 & State.ControlBits.Cr4OSXSAVE) != 0 ? EcxOsxsave : 0), Leaf1Edx),
            2 => CacheInfo.Leaf2,
            4 => CacheInfo.Leaf4(subleaf),
            // Leaf 7 subleaf 0: EAX = the highest subleaf (0); structured feature flags.
            7 => subleaf == 0 ? (0u, Leaf7Ebx, Leaf7Ecx, Leaf7Edx) : (0u, 0u, 0u, 0u),
            0xD => XsaveLeaf(subleaf, xcr0),
            0x80000000 => (MaxExtendedLeaf, 0, 0, 0),
            0x80000001 => (0, 0, ExtendedEcx, extendedEdx),
            >= 0x80000002 and <= 0x80000004 => Brand((int)(leaf - 0x80000002) * 16),
            0x80000006 => CacheInfo.Leaf80000006,
            // 40 physical address bits (Mmu's PhysicalAddressBits), 48 linear.
            0x80000008 => ((48u << 8) | Mmu.Physical.PhysicalMemory.PhysicalAddressBits, 0, 0, 0),
            // Leaves 3, 5, 6 and 80000007h: no serial number, MONITOR, power management or
            // invariant-TSC information. 80000005h is reserved on Intel processors (zero).
            _ => (0, 0, 0, 0),
        };
    }

    /// <summary>
    /// CPUID leaf 0DH (SDM Vol. 2A table 3-8, Vol. 1 13.2): subleaf 0 gives the supported XCR0 bits
    /// and the standard-format sizes for XCR0 and for every component (all zero while XSAVE is not reported); subleaf 1 reports XSAVEOPT,
    /// XSAVEC and XGETBV with ECX = 1 (no XSAVES) and the compacted size; subleaf 2 the AVX
    /// component (256 bytes at offset 576), when supported.
    /// </summary>
    private (uint, uint, uint, uint) XsaveLeaf(uint subleaf, ulong xcr0)
    {
        if ((Leaf1Ecx & EcxXsave) == 0)
        {
            return (0, 0, 0, 0);
        }

        return subleaf switch
        {
            0 => ((uint)XsaveComponents, (uint)Instructions.SaveState.AreaSize(xcr0), (uint)Instructions.SaveState.AreaSize(XsaveComponents), (uint)(XsaveComponents >> 32)),
            1 => (0b111u, (uint)Instructions.SaveState.AreaSize(xcr0), 0, 0),
            2 when (XsaveComponents & 4) != 0 => ((uint)Instructions.SaveState.AvxSize, (uint)Instructions.SaveState.AvxOffset, 0, 0),
            _ => (0, 0, 0, 0),
        };
    }

    private static (uint, uint, uint, uint) Brand(int offset) =>
        (Word(s_brand, offset), Word(s_brand, offset + 4), Word(s_brand, offset + 8), Word(s_brand, offset + 12));

    private static uint Word(byte[] bytes, int offset) => BitConverter.ToUInt32(bytes, offset);

    /// <summary>Host time as a 1 GHz time-stamp counter.</summary>
    public static ulong HostTsc() => (ulong)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency));
}
