namespace Emulator.Devices.Pic8259;

/// <summary>
/// One Intel 8259A (datasheet order 231468). Not thread-safe by itself: <see cref="DualPic8259"/>
/// owns the lock and drives both chips. Register names follow the datasheet: IRR (interrupt
/// request), ISR (in service), IMR (mask).
/// </summary>
public sealed class Pic8259
{
    private byte _inputs;
    private byte _edgeArmed;
    private int _initStep;
    private bool _expectIcw4;
    private bool _single;
    private bool _levelTriggered;
    private bool _readIsr;
    private bool _poll;

    public Pic8259(bool isMaster, byte elcrWritableMask)
    {
        IsMaster = isMaster;
        ElcrWritableMask = elcrWritableMask;
        Reset();
    }

    public bool IsMaster { get; }

    /// <summary>ELCR bits the guest may set (PIIX4 datasheet 4.1.11: IRQ 0, 1, 2, 8, 13 are edge only).</summary>
    public byte ElcrWritableMask { get; }

    public byte Irr { get; private set; }

    public byte Isr { get; private set; }

    public byte Imr { get; private set; }

    public byte Elcr { get; private set; }

    public byte VectorBase { get; private set; }

    /// <summary>The IR that has the lowest priority is (<see cref="PriorityAdd"/> + 7) mod 8.</summary>
    public int PriorityAdd { get; private set; }

    public bool AutoEoi { get; private set; }

    public bool RotateOnAutoEoi { get; private set; }

    public bool SpecialMask { get; private set; }

    public bool SpecialFullyNested { get; private set; }

    /// <summary>
    /// Power-on state. The datasheet leaves it undefined until ICW1; a fully masked chip is what
    /// every BIOS programs first, and it keeps an unprogrammed board from waking a halted CPU.
    /// </summary>
    public void Reset()
    {
        Initialize();
        Imr = 0xFF;
        Elcr = 0;
        _inputs = 0;
        _levelTriggered = false;
    }

    /// <summary>ICW1's effects (datasheet, "Initialization Command Words", a-f).</summary>
    private void Initialize()
    {
        // a) the edge sense circuit is reset: a line must go low and high again to request.
        _edgeArmed = 0;
        Irr = 0;
        // b) the IMR is cleared; c) IR7 gets the lowest priority; e) special mask mode off, read IRR.
        Imr = 0;
        Isr = 0;
        PriorityAdd = 0;
        SpecialMask = false;
        _readIsr = false;
        _poll = false;
        // f) without IC4 every ICW4 function is zero.
        AutoEoi = false;
        RotateOnAutoEoi = false;
        SpecialFullyNested = false;
        VectorBase = 0;
        _initStep = 0;
        RefreshLevelInputs();
    }

    private bool IsLevel(int irq) => _levelTriggered || (Elcr & (1 << irq)) != 0;

    /// <summary>The input pin IRn changed level.</summary>
    public void SetInput(int irq, bool level)
    {
        byte bit = (byte)(1 << irq);
        if (level)
        {
            // Edge mode: a low-to-high transition sets IRR (datasheet figure 12). Level mode: the
            // high level itself requests.
            if (IsLevel(irq) || (_edgeArmed & bit) != 0)
            {
                Irr |= bit;
            }

            _inputs |= bit;
            _edgeArmed &= (byte)~bit;
        }
        else
        {
            _inputs &= (byte)~bit;
            _edgeArmed |= bit;
            // Level mode: the request goes with the level ("Edge and Level Triggered Modes": the
            // IR input must stay high until the first INTA, else a default IR7 follows). Edge mode
            // keeps the latched request: an InterruptLine.Pulse has zero width here but stands for a
            // pulse long enough for the acknowledge (QEMU's i8259 does the same).
            if (IsLevel(irq))
            {
                Irr &= (byte)~bit;
            }
        }
    }

    private void RefreshLevelInputs()
    {
        for (int irq = 0; irq < 8; irq++)
        {
            byte bit = (byte)(1 << irq);
            if ((_inputs & bit) == 0)
            {
                _edgeArmed |= bit;
            }
            else if (IsLevel(irq))
            {
                Irr |= bit;
            }
        }
    }

    public void WriteElcr(byte value)
    {
        Elcr = (byte)(value & ElcrWritableMask);
        RefreshLevelInputs();
    }

    /// <summary>Priority rank (0 highest) of the best set bit of <paramref name="mask"/>, or 8 for none.</summary>
    private int Rank(int mask)
    {
        if (mask == 0)
        {
            return 8;
        }

        int rank = 0;
        while ((mask & (1 << ((rank + PriorityAdd) & 7))) == 0)
        {
            rank++;
        }

        return rank;
    }

    /// <summary>
    /// The IR this chip would present on INT now, or -1. Fully nested mode: a request interrupts
    /// only a lower-priority service. Special mask mode: masked ISR bits do not inhibit (OCW3).
    /// Special fully nested mode: the master lets the slave interrupt its own service (ICW4 SFNM).
    /// </summary>
    public int PendingIrq()
    {
        int requestRank = Rank(Irr & ~Imr);
        if (requestRank == 8)
        {
            return -1;
        }

        int inService = Isr;
        if (SpecialMask)
        {
            inService &= ~Imr;
        }

        if (SpecialFullyNested && IsMaster)
        {
            inService &= ~(1 << Pic8259Registers.CascadeIrq);
        }

        return requestRank < Rank(inService) ? (requestRank + PriorityAdd) & 7 : -1;
    }

    /// <summary>The INTA pulses for <paramref name="irq"/>: set ISR (unless AEOI), reset IRR.</summary>
    public void Acknowledge(int irq)
    {
        byte bit = (byte)(1 << irq);
        if (AutoEoi)
        {
            // AEOI: the ISR bit is reset at the end of the last INTA; with rotate-in-AEOI the served
            // IR becomes the lowest priority (OCW2 R = 1, SL = 0, EOI = 0).
            if (RotateOnAutoEoi)
            {
                PriorityAdd = (irq + 1) & 7;
            }
        }
        else
        {
            Isr |= bit;
        }

        Irr &= (byte)~bit;
        if (IsLevel(irq) && (_inputs & bit) != 0)
        {
            // A level still high requests again at once; the ISR bit holds it off until EOI.
            Irr |= bit;
        }
    }

    public void WriteCommand(byte value)
    {
        if ((value & Pic8259Registers.Icw1Select) != 0)
        {
            Initialize();
            _initStep = 1;
            _expectIcw4 = (value & Pic8259Registers.Icw1Ic4) != 0;
            _single = (value & Pic8259Registers.Icw1Single) != 0;
            _levelTriggered = (value & Pic8259Registers.Icw1Ltim) != 0;
            RefreshLevelInputs();
            return;
        }

        if ((value & Pic8259Registers.Ocw3Select) != 0)
        {
            if ((value & Pic8259Registers.Ocw3Poll) != 0)
            {
                _poll = true;
            }

            if ((value & Pic8259Registers.Ocw3Rr) != 0)
            {
                _readIsr = (value & Pic8259Registers.Ocw3Ris) != 0;
            }

            if ((value & Pic8259Registers.Ocw3Esmm) != 0)
            {
                SpecialMask = (value & Pic8259Registers.Ocw3Smm) != 0;
            }

            return;
        }

        WriteOcw2(value);
    }

    /// <summary>OCW2 (datasheet table "Operation Command Words", figure 7).</summary>
    private void WriteOcw2(byte value)
    {
        int level = value & 7;
        switch (value >> 5)
        {
            case Pic8259Registers.Ocw2RotateAeoiClear:
                RotateOnAutoEoi = false;
                break;
            case Pic8259Registers.Ocw2RotateAeoiSet:
                RotateOnAutoEoi = true;
                break;
            case Pic8259Registers.Ocw2NonSpecificEoi:
            case Pic8259Registers.Ocw2RotateNonSpecificEoi:
                // Resets the highest-priority ISR bit, the one last served in fully nested mode.
                int rank = Rank(Isr);
                if (rank != 8)
                {
                    int irq = (rank + PriorityAdd) & 7;
                    Isr &= (byte)~(1 << irq);
                    if (value >> 5 == Pic8259Registers.Ocw2RotateNonSpecificEoi)
                    {
                        PriorityAdd = (irq + 1) & 7;
                    }
                }

                break;
            case Pic8259Registers.Ocw2SpecificEoi:
                Isr &= (byte)~(1 << level);
                break;
            case Pic8259Registers.Ocw2RotateSpecificEoi:
                Isr &= (byte)~(1 << level);
                PriorityAdd = (level + 1) & 7;
                break;
            case Pic8259Registers.Ocw2SetPriority:
                // L2-L0 names the lowest-priority IR.
                PriorityAdd = (level + 1) & 7;
                break;
            default:
                break; // Ocw2Nop
        }
    }

    public void WriteData(byte value)
    {
        switch (_initStep)
        {
            case 1:
                // ICW2 (8086 mode): T7-T3.
                VectorBase = (byte)(value & Pic8259Registers.Icw2VectorMask);
                _initStep = !_single ? 2 : _expectIcw4 ? 3 : 0;
                break;
            case 2:
                // ICW3: slave mask (master) or slave ID (slave); the PC's cascade is fixed on IR2.
                _initStep = _expectIcw4 ? 3 : 0;
                break;
            case 3:
                AutoEoi = (value & Pic8259Registers.Icw4AutoEoi) != 0;
                SpecialFullyNested = (value & Pic8259Registers.Icw4Sfnm) != 0;
                _initStep = 0;
                break;
            default:
                // OCW1: the IMR.
                Imr = value;
                break;
        }
    }

    /// <summary>Whether the next read is a poll word (OCW3 P): the read is then the acknowledge.</summary>
    public bool PollPending => _poll;

    /// <summary>The poll word: I (bit 7) and W2-W0; the read acts as the INTA (datasheet, "The Poll Command").</summary>
    public byte ReadPoll()
    {
        _poll = false;
        int irq = PendingIrq();
        if (irq < 0)
        {
            return 0;
        }

        Acknowledge(irq);
        return (byte)(Pic8259Registers.PollInterrupt | irq);
    }

    public byte ReadCommand() => _readIsr ? Isr : Irr;

    public byte ReadData() => Imr;
}
