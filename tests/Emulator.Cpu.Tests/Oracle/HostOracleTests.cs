using Emulator.TestKit;
using Emulator.TestKit.Oracle;
using Xunit;
using Xunit.Abstractions;

namespace Emulator.Cpu.Tests.Oracle;

/// <summary>
/// The host CPU as the oracle for every implemented instruction family (<see cref="OracleHarness"/>):
/// a fast run of a fixed seed on every engine in the default suite, and the wide run and single
/// case reproductions through EMU_ORACLE_CASES, EMU_ORACLE_SEED, EMU_ORACLE_FAMILIES and
/// EMU_ORACLE_REPRO (see the harness for their meaning):
///   EMU_ORACLE_CASES=1000000 dotnet test tests/Emulator.Cpu.Tests --filter "FullyQualifiedName~HostOracleTests"
/// </summary>
public class HostOracleTests(ITestOutputHelper output)
{
    /// <summary>Cases per engine in the default run.</summary>
    public const int FastCases = 2000;

    public const int FastSeed = 20261207;

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void EveryFamilyMatchesTheHost(Engine engine)
    {
        if (OracleHarness.Unavailable is { } reason)
        {
            output.WriteLine($"skipped: {reason}");
            return;
        }

        using var harness = new OracleHarness(OracleHarness.EnvFamilies);
        foreach (string note in harness.Notes)
        {
            output.WriteLine(note);
        }

        OracleReport report;
        if (OracleHarness.EnvRepro is var (seed, index))
        {
            var c = harness.Generator.Generate(seed, index, OracleGenerator.HostYmm);
            output.WriteLine(c.Repro);
            var input = c.Input;
            output.WriteLine($"input: fcw {input.Fcw:x4} fsw {input.Fsw:x4} ftw {input.Fx[OracleState.FxFtw]:x2} mxcsr {input.Mxcsr:x} rflags {input.Rflags:x} "
                + string.Join(" ", Enumerable.Range(0, 16).Select(k => $"{OracleState.GprNames[k]}={input.Gpr(k):x}"))
                + " " + string.Join(" ", Enumerable.Range(0, 8).Select(k => $"st{k}={Convert.ToHexString(input.St(k))}"))
                + " " + string.Join(" ", Enumerable.Range(0, 16).Select(k => $"xmm{k}={Convert.ToHexString(input.Xmm(k))}")));
            report = harness.Run(engine, seed, index, 1);
        }
        else
        {
            int cases = OracleHarness.EnvInt("EMU_ORACLE_CASES") ?? FastCases;
            int seed2 = OracleHarness.EnvInt("EMU_ORACLE_SEED") ?? FastSeed;
            output.WriteLine($"seed {seed2}, {cases} cases on {engine}");
            report = harness.Run(engine, seed2, 0, cases);
        }

        output.WriteLine(report.Summary);
        foreach (string failure in report.Failures.Take(200))
        {
            output.WriteLine(failure);
        }

        Assert.True(report.Cases > 0, "no cases ran");
        Assert.True(report.Failures.Count == 0, $"{report.Failures.Count} of {report.Cases} cases differ from the host:\n{string.Join("\n", report.Failures.Take(30))}");
    }
}
