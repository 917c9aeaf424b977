namespace Emulator.Cpu;

/// <summary>What caused an interrupt delivery; it decides the gate-DPL check and the EXT bit.</summary>
public enum InterruptKind
{
    /// <summary>A processor-detected exception.</summary>
    Exception,

    /// <summary>INT n, INT3, INTO: the gate's DPL is checked against CPL (SDM 6.12.1.1).</summary>
    Software,

    /// <summary>An interrupt from the INTR pin or NMI.</summary>
    External,
}
