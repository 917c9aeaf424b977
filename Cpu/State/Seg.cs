namespace Emulator.Cpu.State;

/// <summary>Segment register numbers in the order of the SDM's Sreg encoding (and of <see cref="CpuState"/>).</summary>
public enum Seg
{
    ES = 0,
    CS = 1,
    SS = 2,
    DS = 3,
    FS = 4,
    GS = 5,
    LDTR = 6,
    TR = 7,
}
