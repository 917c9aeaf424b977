using Emulator.Devices.Interrupts;
using Emulator.Devices.Ps2;
using Xunit;

namespace Emulator.Devices.Tests.Ps2;

/// <summary>The 8042 and its keyboard through ports 0x60/0x64, against the IBM PS/2 Technical Reference.</summary>
public class I8042Tests
{
    private sealed class Rig
    {
        public Rig()
        {
            Controller = new I8042Controller(Irq1, Irq12, () => Resets++, A20Writes.Add);
            Bus.Ports.Map(0x60, 1, Controller.DataPort);
            Bus.Ports.Map(0x64, 1, Controller.CommandPort);
            Irq1.Sink = level => Irq1Edges.Add(level);
        }

        public ClockedPorts Bus { get; } = new();

        public InterruptLine Irq1 { get; } = new("irq1");

        public InterruptLine Irq12 { get; } = new("irq12");

        public List<bool> Irq1Edges { get; } = [];

        public I8042Controller Controller { get; }

        public int Resets { get; private set; }

        public List<bool> A20Writes { get; } = [];

        public byte Status => Bus.In(0x64);

        public void Command(byte command) => Bus.Out(0x64, command);

        public void Data(byte value) => Bus.Out(0x60, value);

        /// <summary>Reads every byte waiting, as a polling driver does.</summary>
        public List<byte> Drain()
        {
            var bytes = new List<byte>();
            while ((Status & 0x01) != 0)
            {
                bytes.Add(Bus.In(0x60));
            }

            return bytes;
        }
    }

    [Fact]
    public void SelfTestAndInterfaceTestsAnswer()
    {
        var rig = new Rig();
        Assert.Equal(0x10, rig.Status & 0x1F); // not inhibited, empty
        rig.Command(0xAA);
        Assert.Equal(0x0D, rig.Status & 0x0F); // output full, system flag, last write a command
        Assert.Equal([0x55], rig.Drain());
        rig.Command(0xAB);
        Assert.Equal([0x00], rig.Drain());
        rig.Command(0xA9);
        Assert.Equal([0x00], rig.Drain());
    }

    [Fact]
    public void CommandByteReadsAndWritesAndSystemFlagFollowsIt()
    {
        var rig = new Rig();
        rig.Command(0x20);
        Assert.Equal([0x45], rig.Drain());
        rig.Command(0x60);
        rig.Data(0x21);
        Assert.Equal(0, rig.Status & 0x04);
        rig.Command(0x20);
        Assert.Equal([0x21], rig.Drain());
        rig.Command(0xA8); // enable aux clears bit 5
        rig.Command(0xAD); // disable keyboard sets bit 4
        rig.Command(0x20);
        Assert.Equal([0x11], rig.Drain());
    }

    [Fact]
    public void KeyboardResetAndIdentifyThroughTheTranslatingController()
    {
        var rig = new Rig();
        rig.Data(0xFF);
        Assert.Equal([0xFA, 0xAA], rig.Drain());
        rig.Data(0xF2);
        Assert.Equal([0xFA, 0xAB, 0x41], rig.Drain()); // 0x83 translated
        rig.Command(0x60);
        rig.Data(0x05); // translation off
        rig.Data(0xF2);
        Assert.Equal([0xFA, 0xAB, 0x83], rig.Drain());
    }

    [Fact]
    public void LedsTypematicAndScancodeSetCommandsTakeADataByte()
    {
        var rig = new Rig();
        rig.Command(0x60);
        rig.Data(0x01); // no translation
        rig.Data(0xED);
        rig.Data(0x05);
        Assert.Equal([0xFA, 0xFA], rig.Drain());
        Assert.Equal(5, rig.Controller.Keyboard.Leds);
        rig.Data(0xF3);
        rig.Data(0x20);
        Assert.Equal([0xFA, 0xFA], rig.Drain());
        Assert.Equal(0x20, rig.Controller.Keyboard.TypematicByte);
        rig.Data(0xF0);
        rig.Data(0x00);
        Assert.Equal([0xFA, 0xFA, 0x02], rig.Drain());
        rig.Data(0xF0);
        rig.Data(0x01);
        rig.Data(0xF0);
        rig.Data(0x00);
        Assert.Equal([0xFA, 0xFA, 0xFA, 0xFA, 0x01], rig.Drain());
        rig.Data(0xEE);
        Assert.Equal([0xEE], rig.Drain());
        rig.Data(0x12); // not a command
        Assert.Equal([0xFE], rig.Drain());
    }

    [Fact]
    public void KeysArriveAsSet1WithTranslationAndSet2Without()
    {
        var rig = new Rig();
        rig.Controller.KeyDown(0x1C); // 'A'
        rig.Controller.KeyUp(0x1C);
        rig.Controller.KeyDown(0xE075); // up arrow
        rig.Controller.KeyUp(0xE075);
        Assert.Equal([0x1E, 0x9E, 0xE0, 0x48, 0xE0, 0xC8], rig.Drain());

        rig.Command(0x60);
        rig.Data(0x01);
        rig.Controller.KeyDown(0x1C);
        rig.Controller.KeyUp(0x1C);
        Assert.Equal([0x1C, 0xF0, 0x1C], rig.Drain());

        // A keyboard switched to set 1 sends set 1 itself.
        rig.Data(0xF0);
        rig.Data(0x01);
        rig.Drain();
        rig.Controller.KeyDown(0x5A); // Enter
        rig.Controller.KeyUp(0x5A);
        Assert.Equal([0x1C, 0x9C], rig.Drain());
    }

    [Fact]
    public void EachByteRaisesIrq1AndReadingLowersIt()
    {
        var rig = new Rig();
        rig.Controller.SendScancode(0x1C, 0xF0, 0x1C);
        Assert.True(rig.Irq1.IsRaised);
        Assert.Equal(0x1E, rig.Bus.In(0x60));
        Assert.True(rig.Irq1.IsRaised); // the next byte came in at once
        Assert.Equal(0x9E, rig.Bus.In(0x60));
        Assert.False(rig.Irq1.IsRaised);
        Assert.Equal([true, false, true, false], rig.Irq1Edges);

        // Interrupts off in the command byte: data still arrives, the line stays low.
        rig.Command(0x60);
        rig.Data(0x44);
        rig.Controller.SendScancode(0x1C);
        Assert.False(rig.Irq1.IsRaised);
        Assert.Equal(0x01, rig.Status & 0x01);
    }

    [Fact]
    public void DisabledKeyboardInterfaceHoldsKeysUntilEnabled()
    {
        var rig = new Rig();
        rig.Command(0xAD);
        rig.Controller.KeyDown(0x1C);
        Assert.Equal(0, rig.Status & 0x01);
        rig.Command(0xAE);
        Assert.Equal([0x1E], rig.Drain());

        rig.Data(0xF5); // keyboard stops scanning
        rig.Drain();
        rig.Controller.KeyDown(0x1C);
        Assert.Empty(rig.Drain());
        rig.Data(0xF4);
        rig.Drain();
        rig.Controller.KeyDown(0x1C);
        Assert.Equal([0x1E], rig.Drain());
    }

    [Fact]
    public void OutputPortCarriesA20AndTheResetLine()
    {
        var rig = new Rig();
        rig.Command(0xD0);
        Assert.Equal(0x03, rig.Bus.In(0x60) & 0x0F);
        rig.A20Writes.Clear();
        rig.Command(0xDD);
        Assert.False(rig.Controller.A20Enabled);
        rig.Command(0xDF);
        Assert.True(rig.Controller.A20Enabled);
        rig.Command(0xD1);
        rig.Data(0x01); // A20 off, reset high
        Assert.False(rig.Controller.A20Enabled);
        Assert.Equal([false, true, false], rig.A20Writes); // each reaches the board's A20 line
        Assert.Equal(0, rig.Resets);
        rig.Command(0xD1);
        rig.Data(0x02); // reset low
        Assert.Equal(1, rig.Resets);
        rig.Command(0xFE); // pulse reset
        Assert.Equal(2, rig.Resets);
        rig.Command(0xFF); // pulse nothing
        Assert.Equal(2, rig.Resets);
    }

    [Fact]
    public void WriteBuffersEchoOnTheirOwnIrqAndAuxBytesReachTheMouse()
    {
        var rig = new Rig();
        rig.Command(0xD2);
        rig.Data(0x99);
        Assert.True(rig.Irq1.IsRaised);
        Assert.Equal([0x99], rig.Drain());

        rig.Command(0x60);
        rig.Data(0x47); // both interrupts on
        rig.Command(0xD3);
        rig.Data(0x5A);
        Assert.Equal(0x21, rig.Status & 0x21); // full, from aux
        Assert.True(rig.Irq12.IsRaised);
        Assert.False(rig.Irq1.IsRaised);
        Assert.Equal([0x5A], rig.Drain());
        Assert.False(rig.Irq12.IsRaised);

        rig.Command(0xD4);
        rig.Data(0xF2); // identify: the mouse acknowledges and sends ID 0 on the aux channel
        Assert.Equal(0x21, rig.Status & 0x21);
        Assert.True(rig.Irq12.IsRaised);
        Assert.Equal([0xFA, 0x00], rig.Drain());
    }

    [Fact]
    public void ResetReturnsToPowerOnState()
    {
        var rig = new Rig();
        rig.Command(0x60);
        rig.Data(0x00);
        rig.Controller.SendScancode(0x1C);
        rig.Controller.DataPort.Reset();
        Assert.Equal(0x10, rig.Status);
        rig.Command(0x20);
        Assert.Equal([0x45], rig.Drain());
    }
}
