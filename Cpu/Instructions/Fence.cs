using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// LFENCE, MFENCE and SFENCE (SDM Vol. 2A/2B): the interpreter performs each access when the
/// instruction runs, so for this vCPU they change nothing; for guests with several vCPU threads
/// a full host barrier keeps this thread's guest loads and stores in program order around them.
/// </summary>
public static class Fence
{
    public static void Barrier(X86Cpu c, in Instruction i) => Interlocked.MemoryBarrier();
}
