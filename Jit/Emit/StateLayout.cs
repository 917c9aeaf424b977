using System.Runtime.CompilerServices;
using Emulator.Cpu.State;

namespace Emulator.Jit.Emit;

/// <summary>
/// Byte offsets of the <see cref="CpuState"/> fields that emitted code touches. The state lives in
/// native memory at a fixed layout (DESIGN.md, "State"), so a field is "state pointer + constant".
/// </summary>
public static class StateLayout
{
    private static readonly CpuState[] s_sample = new CpuState[1];

    public static readonly int Rip = Offset(ref s_sample[0].Rip);
    public static readonly int Rflags = Offset(ref s_sample[0].Rflags);
    public static readonly int ExitRequest = Offset(ref s_sample[0].ExitRequest);
    public static readonly int LoopBudget = Offset(ref s_sample[0].LoopBudget);
    public static readonly int RegionTransitions = Offset(ref s_sample[0].RegionTransitions);
    public static readonly int InterruptPoll = Offset(ref s_sample[0].InterruptPoll);
    public static readonly int TlbSet = Offset(ref s_sample[0].TlbSet);
    public static readonly int JitAddress = Offset(ref s_sample[0].JitAddress);
    public static readonly int JitValue = Offset(ref s_sample[0].JitValue);
    public static readonly int FsBase = Offset(ref s_sample[0].Fs.Base);
    public static readonly int GsBase = Offset(ref s_sample[0].Gs.Base);
    private static readonly int s_gpr0 = Offset(ref s_sample[0].Gpr[0]);

    /// <summary>The offset of general-purpose register <paramref name="index"/> (encoding order, RAX = 0).</summary>
    public static int Gpr(int index) => s_gpr0 + (8 * index);

    private static int Offset<T>(ref T field) => (int)Unsafe.ByteOffset(ref Unsafe.As<CpuState, byte>(ref s_sample[0]), ref Unsafe.As<T, byte>(ref field));
}
