namespace Emulator.Cpu;

/// <summary>
/// The CPU models <c>--cpu</c> (QEMU's <c>-cpu</c>) chooses between: which instruction-set
/// extensions CPUID advertises and the decoder lets through (<see cref="CpuModels"/> holds the
/// feature list of each, <see cref="FeatureGate"/> the #UD rule). The levels are the x86-64
/// psABI's microarchitecture levels, as glibc checks them (sysdeps/x86/get-isa-level.h).
/// </summary>
public enum CpuModel
{
    /// <summary>x86-64 (level 1): CMOV, CX8, FPU, FXSR, MMX, SSE, SSE2, SYSCALL; QEMU's qemu64.</summary>
    Baseline,

    /// <summary>x86-64-v2: adds CMPXCHG16B, LAHF/SAHF in 64-bit mode, POPCNT, SSE3, SSSE3, SSE4.1, SSE4.2; QEMU's Nehalem.</summary>
    V2,

    /// <summary>x86-64-v3: adds AVX, AVX2, BMI1, BMI2, F16C, FMA, LZCNT, MOVBE, XSAVE; QEMU's Haswell.</summary>
    V3,

    /// <summary>Everything implemented (QEMU's max and host).</summary>
    Max,
}
