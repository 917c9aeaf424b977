namespace Emulator.Cpu.Diagnostics;

public enum DisassemblySyntax
{
    Intel,
    Att,
}
