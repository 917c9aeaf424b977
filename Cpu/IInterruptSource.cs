namespace Emulator.Cpu;

/// <summary>
/// Where the CPU asks for external interrupts. <c>Machine</c> implements it over the interrupt
/// controllers, so the CPU never sees a device type (DESIGN.md, "the interrupt path").
/// </summary>
public interface IInterruptSource
{
    /// <summary>True when a maskable interrupt is waiting (the INTR pin is asserted).</summary>
    bool HasInterrupt { get; }

    /// <summary>The INTA cycle: returns the vector of the highest-priority pending interrupt.</summary>
    byte Acknowledge();

    /// <summary>
    /// Takes a pending non-maskable interrupt (an edge on the NMI pin) and returns true, or returns
    /// false when none is pending. The CPU asks only while NMIs are not blocked, so a source keeps
    /// an edge latched until it is taken (SDM Vol. 3A 6.7.1).
    /// </summary>
    bool TakeNmi() => false;
}
