namespace Emulator.Devices.Pic8259;

/// <summary>
/// Command words of the Intel 8259A (datasheet "8259A Programmable Interrupt Controller",
/// order 231468, section "Programming the 8259A", figures 6 and 7). A0 = 0 is the command port,
/// A0 = 1 the data port.
/// </summary>
public static class Pic8259Registers
{
    /// <summary>ICW1 (A0 = 0, D4 = 1): starts the initialization sequence.</summary>
    public const byte Icw1Select = 0x10;

    /// <summary>ICW1 D0 (IC4): ICW4 follows.</summary>
    public const byte Icw1Ic4 = 0x01;

    /// <summary>ICW1 D1 (SNGL): single chip, no ICW3.</summary>
    public const byte Icw1Single = 0x02;

    /// <summary>ICW1 D3 (LTIM): level-triggered inputs for the whole chip.</summary>
    public const byte Icw1Ltim = 0x08;

    /// <summary>ICW2: T7-T3 of the vector; the low three bits come from the IR number.</summary>
    public const byte Icw2VectorMask = 0xF8;

    /// <summary>ICW4 D1 (AEOI): automatic end of interrupt.</summary>
    public const byte Icw4AutoEoi = 0x02;

    /// <summary>ICW4 D4 (SFNM): special fully nested mode.</summary>
    public const byte Icw4Sfnm = 0x10;

    /// <summary>OCW3 is told from OCW2 by D3 = 1 (with D4 = 0).</summary>
    public const byte Ocw3Select = 0x08;

    /// <summary>OCW3 D0 (RIS) and D1 (RR): read ISR (RIS = 1) or IRR (RIS = 0) on the next read.</summary>
    public const byte Ocw3Ris = 0x01, Ocw3Rr = 0x02;

    /// <summary>OCW3 D2 (P): poll command.</summary>
    public const byte Ocw3Poll = 0x04;

    /// <summary>OCW3 D5 (SMM) and D6 (ESMM): set or reset special mask mode.</summary>
    public const byte Ocw3Smm = 0x20, Ocw3Esmm = 0x40;

    /// <summary>OCW2 R, SL, EOI (D7-D5) commands.</summary>
    public const int Ocw2RotateAeoiClear = 0b000, Ocw2NonSpecificEoi = 0b001, Ocw2Nop = 0b010, Ocw2SpecificEoi = 0b011,
        Ocw2RotateAeoiSet = 0b100, Ocw2RotateNonSpecificEoi = 0b101, Ocw2SetPriority = 0b110, Ocw2RotateSpecificEoi = 0b111;

    /// <summary>Poll word bit 7 (I): an interrupt was pending; W2-W0 name it.</summary>
    public const byte PollInterrupt = 0x80;

    /// <summary>The IR on which the cascade input of the master sits on a PC.</summary>
    public const int CascadeIrq = 2;

    /// <summary>The IR whose vector a spurious acknowledge returns (datasheet, "Edge and Level Triggered Modes").</summary>
    public const int SpuriousIrq = 7;
}
