using System.Runtime.CompilerServices;

namespace Emulator.Cpu.State;

/// <summary>DR0..DR7, inline in <see cref="CpuState"/>; DR4 and DR5 alias DR6 and DR7 when CR4.DE is clear.</summary>
[InlineArray(8)]
public struct DebugRegisterFile
{
    private ulong _element0;
}
