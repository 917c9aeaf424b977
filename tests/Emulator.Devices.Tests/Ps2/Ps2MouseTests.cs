using Emulator.Devices.Interrupts;
using Emulator.Devices.Ps2;
using Xunit;

namespace Emulator.Devices.Tests.Ps2;

/// <summary>
/// The PS/2 mouse on the 8042's auxiliary port, driven only through ports 0x60/0x64 as Linux's
/// i8042 and psmouse drivers drive it (IBM PS/2 Technical Reference, pointing device commands;
/// Microsoft's IntelliMouse knock sequences).
/// </summary>
public class Ps2MouseTests
{
    private sealed class Rig
    {
        public Rig()
        {
            Controller = new I8042Controller(Irq1, Irq12, () => { });
            Bus.Ports.Map(0x60, 1, Controller.DataPort);
            Bus.Ports.Map(0x64, 1, Controller.CommandPort);
            Irq12.Sink = level =>
            {
                if (level)
                {
                    Irq12Raises++;
                }
            };
        }

        public ClockedPorts Bus { get; } = new();

        public InterruptLine Irq1 { get; } = new("irq1");

        public InterruptLine Irq12 { get; } = new("irq12");

        public int Irq12Raises { get; private set; }

        public I8042Controller Controller { get; }

        public byte Status => Bus.In(0x64);

        public void Command(byte command) => Bus.Out(0x64, command);

        /// <summary>0xD4 then the byte: the controller passes it to the mouse.</summary>
        public void ToMouse(byte value)
        {
            Bus.Out(0x64, 0xD4);
            Bus.Out(0x60, value);
        }

        /// <summary>Every byte waiting; each must come from the aux channel (status bit 5).</summary>
        public List<byte> DrainAux()
        {
            var bytes = new List<byte>();
            while ((Status & 0x01) != 0)
            {
                Assert.Equal(0x20, Status & 0x20);
                bytes.Add(Bus.In(0x60));
            }

            return bytes;
        }

        /// <summary>Sends a command and its data bytes, expecting an acknowledge for each.</summary>
        public void Acked(params byte[] bytes)
        {
            foreach (byte b in bytes)
            {
                ToMouse(b);
                Assert.Equal([0xFA], DrainAux());
            }
        }
    }

    [Fact]
    public void ResetAnswersAckSelfTestPassedAndIdZero()
    {
        var rig = new Rig();
        rig.ToMouse(0xFF);
        Assert.Equal([0xFA, 0xAA, 0x00], rig.DrainAux());
        rig.ToMouse(0xF2);
        Assert.Equal([0xFA, 0x00], rig.DrainAux());
    }

    [Fact]
    public void KnockSequencesSwitchToWheelThenExplorerProtocol()
    {
        var rig = new Rig();
        rig.Acked(0xF3, 200, 0xF3, 100, 0xF3, 80); // IntelliMouse: 200, 100, 80
        rig.ToMouse(0xF2);
        Assert.Equal([0xFA, 0x03], rig.DrainAux());
        rig.Acked(0xF3, 200, 0xF3, 200, 0xF3, 80); // Explorer: 200, 200, 80
        rig.ToMouse(0xF2);
        Assert.Equal([0xFA, 0x04], rig.DrainAux());
        rig.ToMouse(0xFF); // reset returns to the standard protocol
        Assert.Equal([0xFA, 0xAA, 0x00], rig.DrainAux());
    }

    [Fact]
    public void StatusRequestReportsModeResolutionAndRate()
    {
        var rig = new Rig();
        rig.ToMouse(0xE9);
        Assert.Equal([0xFA, 0x00, 0x02, 100], rig.DrainAux()); // defaults: stream, off, 4 counts/mm, 100/s
        rig.Acked(0xE8, 3, 0xF3, 40, 0xE7, 0xF4);
        rig.ToMouse(0xE9);
        Assert.Equal([0xFA, 0x30, 0x03, 40], rig.DrainAux()); // reporting on, scaling 2:1
        rig.Acked(0xF6); // defaults: reporting off again
        rig.ToMouse(0xE9);
        Assert.Equal([0xFA, 0x00, 0x02, 100], rig.DrainAux());
    }

    [Fact]
    public void MovementArrivesAsPacketsOnIrq12OnlyWhileReportingIsOn()
    {
        var rig = new Rig();
        rig.Command(0x60);
        rig.Bus.Out(0x60, 0x47); // keyboard and aux interrupts on
        rig.Controller.MouseMove(5, 5, 0, 0);
        Assert.Empty(rig.DrainAux()); // reporting is off after power-on

        rig.Acked(0xF4);
        int raisesBefore = rig.Irq12Raises;
        rig.Controller.MouseMove(10, -3, 0, 0x01); // right 10, down 3, left button
        Assert.True(rig.Irq12.IsRaised);
        Assert.Equal([0x08 | 0x20 | 0x01, 10, 0xFD], rig.DrainAux()); // Y sign set, always-one bit
        Assert.True(rig.Irq12Raises > raisesBefore);
        Assert.False(rig.Irq12.IsRaised);

        rig.Controller.MouseMove(-300, 0, 0, 0); // split: -255 then -45, button released
        Assert.Equal([0x18, 0x01, 0x00, 0x18, 0xD3, 0x00], rig.DrainAux());

        rig.Acked(0xF5);
        rig.Controller.MouseMove(1, 1, 0, 0);
        Assert.Empty(rig.DrainAux());
    }

    [Fact]
    public void WheelProtocolAddsAFourthByte()
    {
        var rig = new Rig();
        rig.Acked(0xF3, 200, 0xF3, 100, 0xF3, 80, 0xF4);
        rig.Controller.MouseMove(0, 0, -1, 0);
        Assert.Equal([0x08, 0x00, 0x00, 0xFF], rig.DrainAux());
        rig.Acked(0xF3, 200, 0xF3, 200, 0xF3, 80);
        rig.Controller.MouseMove(0, 0, 2, 0x08); // Explorer: Z in bits 3:0, fourth button in bit 4
        Assert.Equal([0x08, 0x00, 0x00, 0x12], rig.DrainAux());
    }

    [Fact]
    public void RemoteModeSendsOnlyOnReadDataAndWrapModeEchoes()
    {
        var rig = new Rig();
        rig.Acked(0xF4, 0xF0); // reporting on, then remote mode
        rig.Controller.MouseMove(4, 2, 0, 0);
        Assert.Empty(rig.DrainAux());
        rig.ToMouse(0xEB);
        Assert.Equal([0xFA, 0x08, 0x04, 0x02], rig.DrainAux());

        rig.Acked(0xEE); // wrap mode: bytes come back
        rig.ToMouse(0x42);
        Assert.Equal([0x42], rig.DrainAux());
        rig.Acked(0xEC);
        rig.ToMouse(0x42); // not a command
        Assert.Equal([0xFE], rig.DrainAux());
    }

    [Fact]
    public void DisabledAuxInterfaceHoldsMouseBytesUntilEnabled()
    {
        var rig = new Rig();
        rig.Command(0xA7); // disable the aux interface
        rig.ToMouse(0xF2);
        Assert.Equal(0, rig.Status & 0x01);
        rig.Command(0xA8);
        Assert.Equal([0xFA, 0x00], rig.DrainAux());
    }

    [Fact]
    public void RandomTrafficLeavesTheHostStanding()
    {
        var rig = new Rig();
        var random = new Random(12);
        for (int k = 0; k < 20_000; k++)
        {
            switch (random.Next(5))
            {
                case 0:
                    rig.ToMouse((byte)random.Next(256));
                    break;
                case 1:
                    rig.Command((byte)random.Next(0xA0, 0xF0)); // no pulse-reset commands
                    break;
                case 2:
                    rig.Controller.MouseMove(random.Next(-1000, 1000), random.Next(-1000, 1000), random.Next(-9, 9), (byte)random.Next(32));
                    break;
                default:
                    rig.Bus.In(random.Next(2) == 0 ? (ushort)0x60 : (ushort)0x64);
                    break;
            }
        }
    }
}
