using Emulator.Cpu;
using Emulator.Devices.Apic;
using Emulator.Devices.Pic8259;

namespace Emulator.Machine.Board;

/// <summary>
/// The CPU's interrupt inputs on this board: the local APIC's fixed interrupts, and the 8259A pair's
/// INTR as ExtINT through LINT0 (virtual wire mode) or straight to the CPU while the APIC is globally
/// disabled. ExtINT is taken first: like NMI it bypasses IRR and ISR (SDM Vol. 3A 10.5.1).
/// </summary>
public sealed class ApicInterruptSource(LocalApic apic, DualPic8259 pic) : IInterruptSource
{
    public bool HasInterrupt => (pic.Intr && apic.AcceptsPicInterrupt) || apic.HasInterrupt;

    /// <summary>True while something could still interrupt a halted CPU.</summary>
    public bool CanInterrupt => ((pic.CanInterrupt || pic.Intr) && apic.AcceptsPicInterrupt) || apic.CanInterrupt;

    public byte Acknowledge() => pic.Intr && apic.AcceptsPicInterrupt ? pic.Acknowledge() : apic.Acknowledge();

    public bool TakeNmi() => apic.TakeNmi();
}
