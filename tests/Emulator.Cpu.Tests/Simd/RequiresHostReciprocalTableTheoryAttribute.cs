using System.Runtime.Intrinsics;
using Emulator.Cpu.Simd;
using Xunit;
using X86Sse = System.Runtime.Intrinsics.X86.Sse;

namespace Emulator.Cpu.Tests.Simd;

/// <summary>
/// A theory comparing RCPPS/RSQRTPS with the host: it runs where the host computes the
/// approximation tables this emulator models (AMD Zen) and is skipped, with the reason, on a host
/// with other tables (Intel's differ; the SDM only bounds the error).
/// </summary>
public sealed class RequiresHostReciprocalTableTheoryAttribute : TheoryAttribute
{
    public RequiresHostReciprocalTableTheoryAttribute()
    {
        if (!RequiresHostAvxTheoryAttribute.HostHasAvx2())
        {
            Skip = "the host CPU lacks AVX or AVX2 (/proc/cpuinfo flags): no native oracle for VEX code";
        }
        else if (!HostUsesModelledTables())
        {
            Skip = "the host's RCPPS/RSQRTPS tables are not the AMD Zen ones this emulator models (SDM Vol. 2 RCPPS only bounds the error)";
        }
    }

    /// <summary>True when the host agrees with the model on a sample of table entries (1.0 to 4.0, every 16th entry).</summary>
    public static bool HostUsesModelledTables()
    {
        if (!X86Sse.IsSupported)
        {
            return false;
        }

        for (uint x = 0x3F80_0000; x < 0x4080_0000; x += 16 << 11)
        {
            if (Host(x, false) != SoftFloat.Reciprocal(x, false) || Host(x, true) != SoftFloat.Reciprocal(x, true))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The host's RCPSS or RSQRTSS of <paramref name="x"/> (under .NET's MXCSR; both ignore it).</summary>
    public static uint Host(uint x, bool squareRoot)
    {
        var v = Vector128.CreateScalar(x).AsSingle();
        return (squareRoot ? X86Sse.ReciprocalSqrtScalar(v) : X86Sse.ReciprocalScalar(v)).AsUInt32().ToScalar();
    }
}
