using System.Diagnostics;
using System.Globalization;

namespace Emulator.TestKit.Oracle;

/// <summary>
/// The host-CPU differential harness (the instruction-set issue, item 5). Each case — a random
/// or edge-case sequence of one to eight instructions from one family (<see cref="OracleGenerator.Families"/>)
/// with random registers, flags, x87 stack, MXCSR, vector registers and data — runs natively in
/// a child process (<see cref="HostRunner"/>) and on our CPU (<see cref="GuestRunner"/>), and
/// <see cref="OracleComparer"/> compares the two end states, exceptions included.
///
/// Environment (all optional):
///   EMU_ORACLE_CASES=N      cases per engine (default: the fast run's count)
///   EMU_ORACLE_SEED=S       the seed (default: fixed, so the fast run repeats)
///   EMU_ORACLE_FAMILIES=a,b only these families (also enables disabled ones, e.g. x87trans-range)
///   EMU_ORACLE_REPRO=S:I    run only case I of seed S and print it in full
///   EMU_ORACLE_PROGRESS=F   write each case's reproduction line to file F before our CPU runs
///                           it (to find a case that hangs the emulator)
/// A mismatch prints one line per case: the reproduction (seed, index, family, bytes, text)
/// and the differing state.
///
/// Adding a family: one entry in <see cref="OracleGenerator.Families"/>.
/// </summary>
public sealed class OracleHarness : IDisposable
{
    private readonly OracleGenerator _generator;
    private readonly HostRunner _host;
    private readonly bool _ymm;
    private readonly string? _progress = Environment.GetEnvironmentVariable("EMU_ORACLE_PROGRESS");

    public OracleHarness(IReadOnlyCollection<string>? families = null)
    {
        _ymm = OracleGenerator.HostYmm;
        var chosen = families is { Count: > 0 }
            ? OracleGenerator.Families.Where(f => families.Contains(f.Name)).ToList()
            : OracleGenerator.Families.Where(f => f.Disabled is null).ToList();
        Notes = [.. OracleGenerator.Families.Where(f => !chosen.Contains(f)).Select(f => $"family {f.Name} not run: {f.Disabled ?? "not selected"}")];
        _generator = new OracleGenerator(chosen, _ymm);
        Notes.AddRange(_generator.Skipped);
        Notes.AddRange(_generator.Codes.Select(kv => $"family {kv.Key}: {kv.Value.Length} instruction forms"));
        _host = new HostRunner(_ymm);
    }

    /// <summary>Families skipped, forms the host lacks, and how many forms each family draws from.</summary>
    public List<string> Notes { get; }

    public OracleGenerator Generator => _generator;

    /// <summary>Why the harness cannot run here, or null.</summary>
    public static string? Unavailable => HostRunner.Unavailable;

    public static int? EnvInt(string name) => int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : null;

    public static IReadOnlyCollection<string>? EnvFamilies => Environment.GetEnvironmentVariable("EMU_ORACLE_FAMILIES") is { Length: > 0 } f ? f.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : null;

    /// <summary>EMU_ORACLE_REPRO as (seed, index), or null.</summary>
    public static (int Seed, int Index)? EnvRepro
    {
        get
        {
            string? text = Environment.GetEnvironmentVariable("EMU_ORACLE_REPRO");
            if (text is null || text.Split(':') is not [var s, var i])
            {
                return null;
            }

            return (int.Parse(s, CultureInfo.InvariantCulture), int.Parse(i, CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Runs cases <paramref name="first"/> .. first+count-1 of <paramref name="seed"/> on <paramref name="engine"/>.</summary>
    public OracleReport Run(Engine engine, int seed, int first, int count)
    {
        var report = new OracleReport();
        using var guest = new GuestRunner(engine, _ymm);
        const int Chunk = 256;
        for (int start = first; start < first + count; start += Chunk)
        {
            int n = Math.Min(Chunk, first + count - start);
            var clock = Stopwatch.StartNew();
            var cases = Enumerable.Range(start, n).Select(i => _generator.Generate(seed, i, _ymm)).ToList();
            report.GenerateTime += clock.Elapsed;
            clock.Restart();
            var hostStates = cases.Select(c => c.Input.Clone()).ToList();
            _host.Run(hostStates, cases.Select(c => c.Body).ToList());
            report.HostTime += clock.Elapsed;
            clock.Restart();
            for (int k = 0; k < n; k++)
            {
                var c = cases[k];
                if (_progress is not null)
                {
                    File.WriteAllText(_progress, c.Repro + "\n");
                }

                var ours = c.Input.Clone();
                guest.Run(ours, c.Body);
                string? internalError = guest.Log.FirstOrDefault(line => line.Contains("internal error", StringComparison.Ordinal) || line.Contains("unimplemented", StringComparison.Ordinal));
                string diff = OracleComparer.Compare(c, hostStates[k], ours, _ymm, report.TranscendentalUlps);
                if (internalError is not null)
                {
                    diff += $" log: {internalError};";
                }

                report.Cases++;
                report.ByFamily[c.Family] = report.ByFamily.GetValueOrDefault(c.Family) + 1;
                if (hostStates[k].Vector != OracleLayout.NoVector)
                {
                    report.Faulting++;
                }

                if (diff.Length > 0)
                {
                    report.Failures.Add($"{c.Repro} ->{diff}");
                }
            }

            report.GuestTime += clock.Elapsed;
        }

        return report;
    }

    public void Dispose() => _host.Dispose();
}
