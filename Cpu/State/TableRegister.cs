using System.Runtime.InteropServices;

namespace Emulator.Cpu.State;

/// <summary>GDTR or IDTR: a linear base and a 16-bit limit (SDM Vol. 3A 2.4).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct TableRegister
{
    public ulong Base;
    public ushort Limit;
}
