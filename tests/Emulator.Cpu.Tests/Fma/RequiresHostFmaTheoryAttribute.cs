using Xunit;

namespace Emulator.Cpu.Tests.Fma;

/// <summary>A theory that needs the host CPU to have FMA, F16C and AVX (the oracle); skipped, with the reason, elsewhere.</summary>
public sealed class RequiresHostFmaTheoryAttribute : TheoryAttribute
{
    public RequiresHostFmaTheoryAttribute()
    {
        if (!HostHasFma())
        {
            Skip = "the host CPU lacks AVX, FMA or F16C (no oracle for FMA3/F16C)";
        }
    }

    public static bool HostHasFma()
    {
        string line = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal)) ?? ""
            : "";
        var flags = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        return flags.Contains("avx") && flags.Contains("fma") && flags.Contains("f16c");
    }
}
