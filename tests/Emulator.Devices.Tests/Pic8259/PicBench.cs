using Emulator.Devices.Pic8259;
using Emulator.Mmu.Ports;

namespace Emulator.Devices.Tests.Pic8259;

/// <summary>
/// The PIC pair mapped as Machine/Board/PcBoard.cs maps it (master 0x20, slave 0xA0, ELCR 0x4D0),
/// programmed as a PC BIOS does. Tests reach it only through ports and input lines, plus the INTA
/// cycle the CPU performs.
/// </summary>
public sealed class PicBench
{
    public const ushort Master = 0x20, Slave = 0xA0, Elcr = 0x4D0;

    public PicBench()
    {
        Ports.Map(Master, 2, Pic.MasterPorts);
        Ports.Map(Slave, 2, Pic.SlavePorts);
        Ports.Map(Elcr, 2, Pic.ElcrPorts);
        Pic.IntrChanged += level => IntrEdges.Add(level);
    }

    public DualPic8259 Pic { get; } = new();

    public IoPortSpace Ports { get; } = new();

    public List<bool> IntrEdges { get; } = [];

    public byte In(ushort port) => (byte)Ports.Read(port, 1);

    public void Out(ushort port, byte value) => Ports.Write(port, 1, value);

    /// <summary>ICW1-ICW4 for both chips as a PC BIOS writes them (vectors 0x08 and 0x70), all unmasked.</summary>
    public PicBench Init(byte masterBase = 0x08, byte slaveBase = 0x70, byte icw4 = 0x01)
    {
        Out(Master, 0x11); // ICW1: edge, cascade, ICW4 needed
        Out(Master + 1, masterBase); // ICW2
        Out(Master + 1, 0x04); // ICW3: slave on IR2
        Out(Master + 1, icw4); // ICW4: 8086 mode
        Out(Slave, 0x11);
        Out(Slave + 1, slaveBase);
        Out(Slave + 1, 0x02); // ICW3: slave ID 2
        Out(Slave + 1, icw4);
        return this;
    }

    public void Raise(int irq) => Pic.Inputs[irq].Raise();

    public void Lower(int irq) => Pic.Inputs[irq].Lower();

    public void Pulse(int irq) => Pic.Inputs[irq].Pulse();

    public void Eoi(int irq)
    {
        if (irq >= 8)
        {
            Out(Slave, 0x20);
        }

        Out(Master, 0x20);
    }
}
