using Emulator.Cpu;
using Emulator.Devices.Pic8259;

namespace Emulator.Machine.Board;

/// <summary>The CPU's INTR pin and INTA cycle, over the board's 8259A pair.</summary>
public sealed class PicInterruptSource(DualPic8259 pic) : IInterruptSource
{
    public bool HasInterrupt => pic.Intr;

    public byte Acknowledge() => pic.Acknowledge();
}
