using Emulator.Cpu.Diagnostics;
using Emulator.Machine.Config;

namespace Emulator.Machine.Diagnostics;

/// <summary>What to trace, where to, and for which code addresses.</summary>
public sealed record TraceOptions
{
    public TraceCategories Categories { get; init; }

    /// <summary>The trace file; null means stderr.</summary>
    public string? File { get; init; }

    /// <summary>Linear address ranges [Start, End) that instruction and block traces are limited to; empty: everything.</summary>
    public IReadOnlyList<(ulong Start, ulong End)> Ranges { get; init; } = [];

    public DisassemblySyntax Syntax { get; init; } = DisassemblySyntax.Intel;

    /// <summary>Parses a category list: exec,int,cpu,pf,ioport,mmio,unimp (and QEMU's in_asm, guest_errors, all).</summary>
    public static TraceCategories ParseCategories(string text)
    {
        var categories = TraceCategories.None;
        foreach (string word in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            categories |= word switch
            {
                "exec" or "in_asm" => TraceCategories.Exec,
                "int" => TraceCategories.Int,
                "cpu" => TraceCategories.Cpu,
                "pf" or "page" => TraceCategories.Pf,
                "ioport" => TraceCategories.Ioport,
                "mmio" => TraceCategories.Mmio,
                "unimp" or "guest_errors" => TraceCategories.Unimp,
                "all" => TraceCategories.Exec | TraceCategories.Int | TraceCategories.Cpu | TraceCategories.Pf | TraceCategories.Ioport | TraceCategories.Mmio | TraceCategories.Unimp,
                _ => throw new ConfigException($"unknown trace category '{word}' (exec, int, cpu, pf, ioport, mmio, unimp, all)"),
            };
        }

        return categories;
    }

    /// <summary>Parses an address range: START-END, START..END (inclusive end, QEMU's -dfilter) or START+LENGTH.</summary>
    public static (ulong Start, ulong End) ParseRange(string text)
    {
        static ulong Number(string s) => ExitDeviceConfig.ParseNumber(s.Trim(), "trace range", ulong.MaxValue);
        int dots = text.IndexOf("..", StringComparison.Ordinal);
        if (dots > 0)
        {
            return (Number(text[..dots]), Number(text[(dots + 2)..]) + 1);
        }

        int plus = text.IndexOf('+', StringComparison.Ordinal);
        if (plus > 0)
        {
            ulong start = Number(text[..plus]);
            return (start, start + Number(text[(plus + 1)..]));
        }

        int dash = text.IndexOf('-', StringComparison.Ordinal);
        if (dash > 0)
        {
            return (Number(text[..dash]), Number(text[(dash + 1)..]));
        }

        throw new ConfigException($"bad trace range '{text}' (START-END, START..END or START+LENGTH)");
    }
}
