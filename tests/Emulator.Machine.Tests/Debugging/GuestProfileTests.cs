using System.Globalization;
using Emulator.Machine.Config;
using Xunit;

namespace Emulator.Machine.Tests.Debugging;

/// <summary>--profile-guest: the sampled RIPs land in a file, one "virtual-ns rip" line each.</summary>
public class GuestProfileTests
{
    [Fact]
    public void TheDemoLeavesTimeOrderedSamplesEndingAtItsLastRip()
    {
        string path = Path.Combine(Path.GetTempPath(), $"emu-profile-{Guid.NewGuid():N}.txt");
        try
        {
            var stdout = new MemoryStream();
            var diagnostics = new StringWriter();
            ulong lastRip;
            using (var vm = new VirtualMachine(new MachineConfig { GuestProfilePath = path, Statistics = true }, stdout, diagnostics))
            {
                Assert.Equal(0, vm.Run());
                lastRip = vm.Cpu.S.Rip;
            }

            var samples = File.ReadAllLines(path).Select(line =>
            {
                string[] fields = line.Split(' ');
                Assert.Equal(2, fields.Length);
                return (Time: ulong.Parse(fields[0], CultureInfo.InvariantCulture), Rip: ulong.Parse(fields[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            }).ToList();

            // However short the run, the sample taken at exit is there, at the RIP the CPU stopped on.
            Assert.NotEmpty(samples);
            Assert.Equal(lastRip, samples[^1].Rip);
            for (int i = 1; i < samples.Count; i++)
            {
                Assert.True(samples[i].Time >= samples[i - 1].Time, $"sample {i} goes back in time");
            }

            Assert.Contains("emu: stats: halted (idle, waiting for an interrupt) ", diagnostics.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
