using Emulator.Cpu.Simd;
using Xunit;

namespace Emulator.Cpu.Tests.Simd;

/// <summary>
/// <see cref="SoftFloat.Reciprocal"/> against the host's RCPSS and RSQRTSS over every sign, every
/// exponent and every 12-bit fraction prefix (the bits the tables index), each with random low bits,
/// plus the edges: zeros, denormals, infinities, NaNs, the ends of the normal range.
/// </summary>
public class ReciprocalTableTests
{
    [RequiresHostReciprocalTableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void EveryTableEntryAndExponentMatchesHost(bool squareRoot)
    {
        var random = new Random(squareRoot ? 71 : 70);
        var failures = new List<string>();
        for (uint top = 0; top < 1u << 21; top++)
        {
            uint x = (top << 11) | (uint)random.Next(1 << 11);
            uint ours = SoftFloat.Reciprocal(x, squareRoot), host = RequiresHostReciprocalTableTheoryAttribute.Host(x, squareRoot);
            if (ours != host && failures.Count < 20)
            {
                failures.Add($"{(squareRoot ? "rsqrtss" : "rcpss")}({x:x8}): ours {ours:x8}, host {host:x8}");
            }
        }

        foreach (uint x in new uint[] { 0, 0x8000_0000, 1, 0x8000_0001, 0x007F_FFFF, 0x807F_FFFF, 0x0080_0000, 0x7F7F_FFFF, 0x7E80_0000, 0x7E7F_FFFF, 0x7F80_0000, 0xFF80_0000, 0x7FC0_0000, 0x7F80_0001, 0xFFBF_FFFF })
        {
            uint ours = SoftFloat.Reciprocal(x, squareRoot), host = RequiresHostReciprocalTableTheoryAttribute.Host(x, squareRoot);
            if (ours != host)
            {
                failures.Add($"{(squareRoot ? "rsqrtss" : "rcpss")}({x:x8}): ours {ours:x8}, host {host:x8}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
