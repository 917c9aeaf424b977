namespace Emulator.Cpu;

/// <summary>
/// The CPUID feature bits a <see cref="CpuModel"/> decides, one flag each. The bits every model
/// has (FPU, TSC, PAE, CMOV, MMX, FXSR, SSE, SSE2, SYSCALL, NX, long mode, ...) and those the
/// machine decides (APIC, x2APIC, TSC-deadline) are not here: models leave them alone. Where each
/// lives in CPUID is in <see cref="CpuModels"/>.
/// </summary>
[Flags]
public enum IsaFeature : ulong
{
    None = 0,
    Sse3 = 1UL << 0,
    Pclmulqdq = 1UL << 1,
    Ssse3 = 1UL << 2,
    Fma = 1UL << 3,
    Cmpxchg16b = 1UL << 4,
    Pcid = 1UL << 5,
    Sse41 = 1UL << 6,
    Sse42 = 1UL << 7,
    Movbe = 1UL << 8,
    Popcnt = 1UL << 9,
    Aes = 1UL << 10,
    Xsave = 1UL << 11,
    Avx = 1UL << 12,
    F16c = 1UL << 13,
    Rdrand = 1UL << 14,
    Bmi1 = 1UL << 15,
    Avx2 = 1UL << 16,
    Smep = 1UL << 17,
    Bmi2 = 1UL << 18,
    Invpcid = 1UL << 19,
    Rdseed = 1UL << 20,
    Adx = 1UL << 21,
    Smap = 1UL << 22,
    Umip = 1UL << 23,
    Page1Gb = 1UL << 24,
    Rdtscp = 1UL << 25,
    LahfSahf = 1UL << 26,
    Lzcnt = 1UL << 27,
    Prefetchw = 1UL << 28,
}
