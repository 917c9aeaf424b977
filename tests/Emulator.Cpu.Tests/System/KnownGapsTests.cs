using Xunit;

namespace Emulator.Cpu.Tests.SystemArchitecture;

/// <summary>The checked-in list of what the SDM specifies for segmentation and protection that is still missing.</summary>
public class KnownGapsTests
{
    [Fact]
    public void EveryKnownGapCitesTheSdm()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "System", "known-gaps.txt");
        var items = File.ReadAllLines(path).Where(line => line.Length > 0 && !line.StartsWith('#')).ToList();
        Assert.NotEmpty(items);
        Assert.All(items, line => Assert.Contains("SDM", line, StringComparison.Ordinal));
    }
}
