namespace Emulator.TestKit.Oracle;

/// <summary>What one harness run did: cases, faults, mismatches, and where the time went.</summary>
public sealed class OracleReport
{
    public int Cases { get; set; }

    /// <summary>Cases in which the host raised an exception (compared like the others).</summary>
    public int Faulting { get; set; }

    public Dictionary<string, int> ByFamily { get; } = [];

    public List<string> Failures { get; } = [];

    public TimeSpan GenerateTime { get; set; }

    public TimeSpan HostTime { get; set; }

    public TimeSpan GuestTime { get; set; }

    public TimeSpan Total => GenerateTime + HostTime + GuestTime;

    public string Summary => $"{Cases} cases ({Faulting} faulting; {string.Join(", ", ByFamily.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}"))}), "
        + $"{Failures.Count} mismatches, {Cases / Math.Max(Total.TotalSeconds, 1e-9):F0} cases/s "
        + $"(generate {GenerateTime.TotalSeconds:F2} s, host {HostTime.TotalSeconds:F2} s, ours {GuestTime.TotalSeconds:F2} s)";
}
