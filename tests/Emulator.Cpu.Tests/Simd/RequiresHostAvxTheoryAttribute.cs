using Xunit;

namespace Emulator.Cpu.Tests.Simd;

/// <summary>
/// A theory that runs AVX and AVX2 code natively as its oracle: skipped, with the reason, on a
/// host whose CPU (or kernel, through /proc/cpuinfo) does not offer both.
/// </summary>
public sealed class RequiresHostAvxTheoryAttribute : TheoryAttribute
{
    public RequiresHostAvxTheoryAttribute()
    {
        if (!HostHasAvx2())
        {
            Skip = "the host CPU lacks AVX or AVX2 (/proc/cpuinfo flags): no native oracle for VEX code";
        }
    }

    public static bool HostHasAvx2()
    {
        if (!File.Exists("/proc/cpuinfo"))
        {
            return false;
        }

        string line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal)) ?? "";
        var flags = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return flags.Contains("avx") && flags.Contains("avx2");
    }
}
