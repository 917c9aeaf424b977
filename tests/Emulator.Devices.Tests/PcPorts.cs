using Emulator.Devices.DebugConsole;
using Emulator.Devices.DebugExit;
using Emulator.Devices.Interrupts;
using Emulator.Devices.Post;
using Emulator.Devices.Shutdown;
using Emulator.Devices.Uart16550;
using Emulator.Mmu.Ports;

namespace Emulator.Devices.Tests;

/// <summary>
/// The devices mapped into an <see cref="IoPortSpace"/> at the ports Machine/Board/PcBoard.cs uses
/// (COM1 0x3F8/8, POST 0x80, Bochs shutdown 0x8900, debugcon 0xE9, isa-debug-exit at a chosen
/// iobase/iosize). Tests reach the devices only through <see cref="Ports"/>, as a guest would.
/// </summary>
public sealed class PcPorts
{
    public const ushort Com1 = 0x3F8;

    public PcPorts(ushort exitBase = IsaDebugExit.DefaultPort, int exitSize = 1)
    {
        Uart = new Uart16550.Uart16550("com1", Irq4);
        Uart.Output = Transmitted.Add;
        Ports.Map(Com1, 8, Uart);
        Ports.Map(PostPort.Port, 1, Post);
        Ports.Map(BochsShutdown.Port, 1, new BochsShutdown(() => PowerOffs++));
        Debugcon.Output = DebugOutput.Add;
        Ports.Map(DebugConsole.DebugConsole.DefaultPort, 1, Debugcon);
        Ports.Map(exitBase, exitSize, new IsaDebugExit(ExitStatuses.Add));
        Irq4.Sink = IrqLevels.Add;
    }

    public IoPortSpace Ports { get; } = new();

    public InterruptLine Irq4 { get; } = new("irq4");

    public Uart16550.Uart16550 Uart { get; }

    public PostPort Post { get; } = new();

    public DebugConsole.DebugConsole Debugcon { get; } = new();

    public List<byte> Transmitted { get; } = [];

    public List<byte> DebugOutput { get; } = [];

    public List<int> ExitStatuses { get; } = [];

    public List<bool> IrqLevels { get; } = [];

    public int PowerOffs { get; private set; }

    public byte In(ushort port) => (byte)Ports.Read(port, 1);

    public void Out(ushort port, byte value) => Ports.Write(port, 1, value);

    public byte Com(int register) => In((ushort)(Com1 + register));

    public void Com(int register, byte value) => Out((ushort)(Com1 + register), value);
}
