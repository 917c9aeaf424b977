using System.Globalization;
using Iced.Intel;

namespace Emulator.Cpu.Diagnostics;

/// <summary>
/// The executed-instruction trace (QEMU's <c>-d in_asm,exec</c> in spirit): one line per
/// instruction with its linear address and disassembly, optionally limited to address ranges so a
/// user can trace one function of a kernel. Set on <see cref="X86Cpu.Tracer"/>.
/// </summary>
public sealed class InstructionTracer
{
    private readonly Disassembler _disassembler;
    private readonly (ulong Start, ulong End)[] _ranges;
    private readonly Action<string> _sink;

    /// <param name="sink">Receives each line (without a newline).</param>
    /// <param name="ranges">Linear address ranges [start, end) to trace; empty traces everything.</param>
    public InstructionTracer(Action<string> sink, DisassemblySyntax syntax, IReadOnlyList<(ulong Start, ulong End)> ranges)
    {
        _sink = sink;
        _disassembler = new Disassembler(syntax);
        _ranges = [.. ranges];
    }

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
        if (Covers(linear))
        {
            _sink(string.Create(CultureInfo.InvariantCulture, $"{cpu.S.Cs.Selector:x4}:{linear:x16}  {_disassembler.Format(instruction)}"));
        }
    }
}
