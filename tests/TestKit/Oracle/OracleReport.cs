namespace Emulator.TestKit.Oracle;

/// <summary>What one harness run did: cases, faults, mismatches, and where the time went.</summary>
public sealed class OracleReport
{
    public int Cases { get; set; }

    /// <summary>Cases in which the host raised an exception (compared like the others).</summary>
    public int Faulting { get; set; }

    public Dictionary<string, int> ByFamily { get; } = [];

    public List<string> Failures { get; } = [];

    /// <summary>Transcendental results that differed from the host's, by distance in ulps (see <see cref="OracleComparer"/>).</summary>
    public Dictionary<ulong, int> TranscendentalUlps { get; } = [];

    public TimeSpan GenerateTime { get; set; }

    public TimeSpan HostTime { get; set; }

    public TimeSpan GuestTime { get; set; }

    public TimeSpan Total => GenerateTime + HostTime + GuestTime;

    public string Summary => $"{Cases} cases ({Faulting} faulting; {string.Join(", ", ByFamily.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}"))}), "
        + $"{Failures.Count} mismatches, {Cases / Math.Max(Total.TotalSeconds, 1e-9):F0} cases/s "
        + $"(generate {GenerateTime.TotalSeconds:F2} s, host {HostTime.TotalSeconds:F2} s, ours {GuestTime.TotalSeconds:F2} s)"
        + (TranscendentalUlps.Count == 0 ? "" : $"; transcendental results off by n ulps: {string.Join(", ", TranscendentalUlps.GroupBy(kv => kv.Key <= 16 ? kv.Key : 1UL << (64 - System.Numerics.BitOperations.LeadingZeroCount(kv.Key))).OrderBy(g => g.Key).Select(g => $"{(g.Key <= 16 ? "" : "<")}{g.Key}: {g.Sum(kv => kv.Value)}"))}");
}
