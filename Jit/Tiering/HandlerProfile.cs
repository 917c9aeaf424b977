using Iced.Intel;

namespace Emulator.Jit.Tiering;

/// <summary>
/// Counts the interpreter handlers that translated code calls, per instruction <see cref="Code"/>
/// (which families are worth inline IL next), and the switch for block listings. Off unless the environment variable
/// <c>EMU_JIT_PROFILE=1</c> is set when the process starts: the emitter then adds an increment
/// before each handler call (not atomic: approximate counts with several vCPUs).
/// </summary>
public static class HandlerProfile
{
    /// <summary>True when translations count their handler calls.</summary>
    public static bool Enabled { get; } = Environment.GetEnvironmentVariable("EMU_JIT_PROFILE") == "1";

    /// <summary>One counter per <see cref="Code"/>, on the pinned heap (translations embed element addresses).</summary>
    public static long[] Counts { get; } = GC.AllocateArray<long>(Enabled ? Enum.GetValues<Code>().Length : 0, pinned: true);

    /// <summary>True when <c>EMU_JIT_DUMP=1</c>: the machine passes <see cref="WriteDump"/> as <see cref="JitOptions.Dump"/>.</summary>
    public static bool DumpRequested { get; } = Environment.GetEnvironmentVariable("EMU_JIT_DUMP") == "1";

    /// <summary>Writes one emitted block's listing to stderr.</summary>
    public static void WriteDump(string listing) => Console.Error.WriteLine(listing);

    /// <summary>Writes the <paramref name="top"/> most called handlers and their share of all calls.</summary>
    public static void Report(TextWriter w, int top = 25)
    {
        long total = Counts.Sum();
        w.WriteLine($"emu: stats: handler calls from translated code: {total}");
        foreach (var (code, count) in Counts.Select((c, k) => ((Code)k, c)).Where(p => p.c > 0).OrderByDescending(p => p.c).Take(top))
        {
            w.WriteLine($"emu: stats:   {code,-28} {count,14} {100.0 * count / total,6:F2}%");
        }
    }
}
