namespace Emulator.Cpu;

/// <summary>Why <see cref="X86Cpu.Run"/> returned.</summary>
public enum StopReason
{
    /// <summary>The instruction budget ran out; the caller services devices and calls again.</summary>
    Budget,

    /// <summary>The CPU executed HLT and waits for an interrupt.</summary>
    Halted,

    /// <summary>A fault occurred while delivering a double fault (SDM Vol. 3A 6.15, interrupt 8).</summary>
    TripleFault,

    /// <summary>Something outside asked the CPU to stop (<see cref="X86Cpu.RequestStop"/>).</summary>
    Stopped,

    /// <summary><see cref="X86Cpu.Step"/> finished its one instruction or handler entry.</summary>
    Stepped,

    /// <summary>The next instruction's linear address is a breakpoint; it has not executed.</summary>
    Breakpoint,

    /// <summary>The last instruction accessed watched memory (<see cref="X86Cpu.WatchHitAddress"/>); it has completed.</summary>
    Watchpoint,
}
