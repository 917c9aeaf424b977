using System.Runtime.CompilerServices;

namespace Emulator.Cpu.State;

/// <summary>
/// The MTRRs, inline in <see cref="CpuState"/>: the 11 fixed-range registers, then PHYSBASE/PHYSMASK
/// for the 8 variable ranges, then IA32_MTRR_DEF_TYPE (SDM Vol. 3A 11.11.2). See <see cref="Mtrr"/>
/// for the index layout.
/// </summary>
[InlineArray(28)]
public struct MtrrFile
{
    private ulong _element0;
}
