using System.Runtime.CompilerServices;

namespace Emulator.Cpu.State;

/// <summary>The sixteen general-purpose registers, inline in <see cref="CpuState"/> (an inline array: fixed layout, bounds-checked indexing).</summary>
[InlineArray(16)]
public struct GprFile
{
    private ulong _element0;
}
