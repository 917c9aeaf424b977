using Emulator.Devices.Interrupts;

namespace Emulator.Devices.Pic8259;

/// <summary>
/// The PC's two 8259As: the master's IR2 takes the slave's INT (datasheet, "Cascading"), giving
/// IRQ 0-7 on the master and IRQ 8-15 on the slave, plus the ELCR edge/level registers of the
/// PIIX/ICH southbridges (82371AB PIIX4 datasheet 4.1.11, ports 0x4D0/0x4D1). Inputs are
/// <see cref="InterruptLine"/>s; the CPU sees <see cref="Intr"/> and calls <see cref="Acknowledge"/>
/// for the INTA cycle. Thread-safe: lines may be driven from any thread.
/// </summary>
public sealed class DualPic8259
{
    public const ushort MasterPort = 0x20;
    public const ushort SlavePort = 0xA0;
    public const ushort ElcrPort = 0x4D0;
    public const int InputCount = 16;

    private readonly object _lock = new();
    private volatile bool _intr;

    public DualPic8259()
    {
        var inputs = new InterruptLine[InputCount];
        for (int irq = 0; irq < InputCount; irq++)
        {
            int n = irq;
            inputs[irq] = new InterruptLine($"irq{irq}") { Sink = level => SetIrq(n, level) };
        }

        Inputs = inputs;
        MasterPorts = new PicPorts("pic-master", this, Master);
        SlavePorts = new PicPorts("pic-slave", this, Slave);
        ElcrPorts = new ElcrPorts(this);
    }

    /// <summary>IRQ 0-7 (master) and IRQ 8-15 (slave); the ELCR leaves IRQ 0, 1, 2 edge-only.</summary>
    public Pic8259 Master { get; } = new(isMaster: true, elcrWritableMask: 0xF8);

    /// <summary>The ELCR leaves IRQ 8 and 13 edge-only.</summary>
    public Pic8259 Slave { get; } = new(isMaster: false, elcrWritableMask: 0xDE);

    /// <summary>The 16 input pins, IRQ 0-15. IRQ 2 is the cascade and goes nowhere from outside.</summary>
    public IReadOnlyList<InterruptLine> Inputs { get; }

    public PicPorts MasterPorts { get; }

    public PicPorts SlavePorts { get; }

    public ElcrPorts ElcrPorts { get; }

    /// <summary>The master's INT pin, wired to the CPU's INTR.</summary>
    public bool Intr => _intr;

    /// <summary>Called with the new INTR level whenever it changes (under the PIC's lock: keep it short).</summary>
    public event Action<bool>? IntrChanged;

    /// <summary>True while some IRQ is unmasked at both levels, so a request could still reach INTR.</summary>
    public bool CanInterrupt
    {
        get
        {
            lock (_lock)
            {
                byte masterOpen = (byte)~Master.Imr;
                if ((masterOpen & ~(1 << Pic8259Registers.CascadeIrq) & 0xFF) != 0)
                {
                    return true;
                }

                return (masterOpen & (1 << Pic8259Registers.CascadeIrq)) != 0 && Slave.Imr != 0xFF;
            }
        }
    }

    /// <summary>Connects a device's line to input <paramref name="irq"/> (the line's level follows into the PIC).</summary>
    public void Connect(InterruptLine line, int irq)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(irq);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(irq, InputCount);
        var input = Inputs[irq];
        line.Sink = input.Set;
        input.Set(line.IsRaised);
    }

    private void SetIrq(int irq, bool level)
    {
        lock (_lock)
        {
            if (irq < 8)
            {
                Master.SetInput(irq, level);
            }
            else
            {
                Slave.SetInput(irq - 8, level);
            }

            Update();
        }
    }

    /// <summary>
    /// The INTA cycle. Returns the vector: the master's, or for IR2 the slave's. A request that
    /// vanished before the acknowledge gives IR7 of the chip concerned with no ISR bit set
    /// (datasheet, "Edge and Level Triggered Modes": the default IR7), i.e. IRQ 7 or IRQ 15.
    /// </summary>
    public byte Acknowledge()
    {
        lock (_lock)
        {
            byte vector;
            int irq = Master.PendingIrq();
            if (irq < 0)
            {
                vector = (byte)(Master.VectorBase + Pic8259Registers.SpuriousIrq);
            }
            else
            {
                Master.Acknowledge(irq);
                if (irq == Pic8259Registers.CascadeIrq)
                {
                    int slaveIrq = Slave.PendingIrq();
                    if (slaveIrq >= 0)
                    {
                        Slave.Acknowledge(slaveIrq);
                    }
                    else
                    {
                        slaveIrq = Pic8259Registers.SpuriousIrq;
                    }

                    vector = (byte)(Slave.VectorBase + slaveIrq);
                }
                else
                {
                    vector = (byte)(Master.VectorBase + irq);
                }
            }

            Update();
            return vector;
        }
    }

    internal ulong Read(Pic8259 chip, ulong offset)
    {
        lock (_lock)
        {
            byte value;
            if (chip.PollPending)
            {
                value = chip.ReadPoll();
            }
            else
            {
                value = (offset & 1) == 0 ? chip.ReadCommand() : chip.ReadData();
            }

            Update();
            return value;
        }
    }

    internal void Write(Pic8259 chip, ulong offset, byte value)
    {
        lock (_lock)
        {
            if ((offset & 1) == 0)
            {
                chip.WriteCommand(value);
            }
            else
            {
                chip.WriteData(value);
            }

            Update();
        }
    }

    internal byte ReadElcr(int index)
    {
        lock (_lock)
        {
            return index == 0 ? Master.Elcr : Slave.Elcr;
        }
    }

    internal void WriteElcr(int index, byte value)
    {
        lock (_lock)
        {
            (index == 0 ? Master : Slave).WriteElcr(value);
            Update();
        }
    }

    public void Reset()
    {
        lock (_lock)
        {
            Master.Reset();
            Slave.Reset();
            for (int irq = 0; irq < InputCount; irq++)
            {
                if (Inputs[irq].IsRaised)
                {
                    (irq < 8 ? Master : Slave).SetInput(irq & 7, true);
                }
            }

            Update();
        }
    }

    /// <summary>Propagates the slave's INT to the master's IR2 and the master's INT to INTR.</summary>
    private void Update()
    {
        Master.SetInput(Pic8259Registers.CascadeIrq, Slave.PendingIrq() >= 0);
        bool intr = Master.PendingIrq() >= 0;
        if (intr != _intr)
        {
            _intr = intr;
            IntrChanged?.Invoke(intr);
        }
    }
}
