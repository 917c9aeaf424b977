using Emulator.Cpu.State;

namespace Emulator.Cpu.Decode;

/// <summary>
/// A block translated by an execution engine (the JIT). It runs the block's instructions from the
/// first one and returns the index k of the last instruction it ran: instructions 0..k-1 completed
/// with nothing to report, and the run loop finishes instruction k as the interpreter would after
/// its handler (fault delivery, interrupt shadow, retired count, debug traps, leaving the block).
/// RIP and the registers in <paramref name="state"/> are up to date when it returns.
/// Called with a null <paramref name="cpu"/> it returns -1 at once: that call makes the runtime
/// compile the method on the compiling thread.
/// </summary>
public unsafe delegate int CompiledBlock(X86Cpu? cpu, CpuState* state);
