using System.Globalization;
using Iced.Intel;

namespace Emulator.Cpu.Diagnostics;

/// <summary>
/// The executed-instruction trace (QEMU's <c>-d in_asm,exec</c> in spirit): one line per
/// instruction with its linear address and disassembly, optionally limited to address ranges so a
/// user can trace one function of a kernel. Set on <see cref="X86Cpu.Tracer"/>. Or, made by
/// <see cref="Ring"/>, a flight recorder: it keeps the last N instructions undecorated and formats
/// them only when asked (<see cref="RecentLines"/>), so a failed guest boot can show how it got there.
/// </summary>
public sealed class InstructionTracer
{
    private readonly Disassembler _disassembler;
    private readonly (ulong Start, ulong End)[] _ranges;
    private readonly Action<string>? _sink;
    private readonly (ushort Cs, ulong Linear, Instruction Instruction)[]? _ring;
    private long _recorded;

    /// <param name="sink">Receives each line (without a newline).</param>
    /// <param name="ranges">Linear address ranges [start, end) to trace; empty traces everything.</param>
    public InstructionTracer(Action<string> sink, DisassemblySyntax syntax, IReadOnlyList<(ulong Start, ulong End)> ranges)
    {
        _sink = sink;
        _disassembler = new Disassembler(syntax);
        _ranges = [.. ranges];
    }

    private InstructionTracer(int capacity, DisassemblySyntax syntax)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _disassembler = new Disassembler(syntax);
        _ranges = [];
        _ring = new (ushort, ulong, Instruction)[capacity];
    }

    /// <summary>A tracer that remembers the last <paramref name="capacity"/> instructions executed (a ring buffer).</summary>
    public static InstructionTracer Ring(int capacity, DisassemblySyntax syntax = DisassemblySyntax.Intel) => new(capacity, syntax);

    /// <summary>
    /// A ring tracer's instructions, oldest first, one line each as the streaming trace prints them.
    /// Call it while the CPU is not running (after a stop or pause).
    /// </summary>
    public IReadOnlyList<string> RecentLines()
    {
        if (_ring is null)
        {
            return [];
        }

        long count = Math.Min(_recorded, _ring.Length);
        var lines = new List<string>((int)count);
        for (long k = _recorded - count; k < _recorded; k++)
        {
            var (cs, linear, instruction) = _ring[k % _ring.Length];
            lines.Add(Format(cs, linear, instruction));
        }

        return lines;
    }

    private string Format(ushort cs, ulong linear, in Instruction instruction) =>
        string.Create(CultureInfo.InvariantCulture, $"{cs:x4}:{linear:x16}  {_disassembler.Format(instruction)}");

    public bool Covers(ulong linear)
    {
        if (_ranges.Length == 0)
        {
            return true;
        }

        foreach (var (start, end) in _ranges)
        {
            if (linear >= start && linear < end)
            {
                return true;
            }
        }

        return false;
    }

    internal void OnInstruction(X86Cpu cpu, ulong linear, in Instruction instruction)
    {
        if (_ring is not null)
        {
            _ring[_recorded++ % _ring.Length] = (cpu.S.Cs.Selector, linear, instruction);
        }
        else if (Covers(linear))
        {
            _sink!(Format(cpu.S.Cs.Selector, linear, instruction));
        }
    }
}
