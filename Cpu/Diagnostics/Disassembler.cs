using System.Globalization;
using System.Text;
using Iced.Intel;

namespace Emulator.Cpu.Diagnostics;

/// <summary>
/// Guest code as text, with Iced's formatters, for traces, the monitor's <c>x /i</c> and the
/// debugger (so that Iced stays inside Cpu and Jit, as DESIGN.md asks).
/// </summary>
public sealed class Disassembler
{
    private readonly Formatter _formatter;
    private readonly StringOutput _output = new();

    public Disassembler(DisassemblySyntax syntax = DisassemblySyntax.Intel)
    {
        _formatter = syntax == DisassemblySyntax.Att ? new GasFormatter() : new IntelFormatter();
        _formatter.Options.FirstOperandCharIndex = 8;
    }

    public string Format(in Instruction instruction)
    {
        _formatter.Format(instruction, _output);
        return _output.ToStringAndReset();
    }

    /// <summary>Decodes up to <paramref name="count"/> instructions from <paramref name="code"/> (code at <paramref name="ip"/>), one line each.</summary>
    public string Listing(byte[] code, int length, int bitness, ulong ip, ulong displayAddress, int count)
    {
        var decoder = Iced.Intel.Decoder.Create(bitness, new ByteArrayCodeReader(code, 0, length), ip);
        var sb = new StringBuilder();
        for (int k = 0; k < count; k++)
        {
            ulong at = decoder.IP;
            decoder.Decode(out var instruction);
            if (instruction.IsInvalid && decoder.LastError == DecoderError.NoMoreBytes)
            {
                break;
            }

            sb.AppendLine(CultureInfo.InvariantCulture, $"0x{displayAddress + (at - ip):x16}:  {Format(instruction)}");
        }

        return sb.ToString();
    }
}
