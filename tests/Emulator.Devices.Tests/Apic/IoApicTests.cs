using Emulator.Devices.Apic;
using Xunit;

namespace Emulator.Devices.Tests.Apic;

/// <summary>The 82093AA I/O APIC through IOREGSEL/IOWIN, delivering to a local APIC (datasheet 290566).</summary>
public class IoApicTests
{
    private const ulong Base = 0xFEC0_0000, LapicBase = 0xFEE0_0000;

    private sealed class Rig
    {
        public Rig()
        {
            Lapic = new LocalApic(Bus.Clock);
            IoApic = new IoApic(Lapic);
            Bus.MapMmio(Base, 0x1000, IoApic);
            Bus.MapMmio(LapicBase, 0x1000, Lapic);
            Bus.WriteMmio(LapicBase + 0xF0, 0x1FF); // software-enable the local APIC
        }

        public ClockedPorts Bus { get; } = new();

        public LocalApic Lapic { get; }

        public IoApic IoApic { get; }

        public uint Get(int index)
        {
            Bus.WriteMmio(Base, (uint)index);
            return (uint)Bus.ReadMmio(Base + 0x10);
        }

        public void Set(int index, uint value)
        {
            Bus.WriteMmio(Base, (uint)index);
            Bus.WriteMmio(Base + 0x10, value);
        }

        public void Route(int pin, uint low, uint high = 0)
        {
            Set(0x11 + (2 * pin), high);
            Set(0x10 + (2 * pin), low);
        }

        public void Eoi() => Bus.WriteMmio(LapicBase + 0xB0, 0);
    }

    [Fact]
    public void IdVersionAndMaskedEntriesAfterReset()
    {
        var rig = new Rig();
        Assert.Equal(0x0100_0000u, rig.Get(0));
        Assert.Equal(0x0017_0011u, rig.Get(1));
        for (int pin = 0; pin < 24; pin++)
        {
            Assert.Equal(0x10000u, rig.Get(0x10 + (2 * pin)));
        }

        rig.Set(0, 0x0F00_0000);
        Assert.Equal(0x0F00_0000u, rig.Get(0));
        rig.Set(1, 0);
        Assert.Equal(0x0017_0011u, rig.Get(1));
        rig.Set(0x11, 0xFF00_0000);
        Assert.Equal(0xFF00_0000u, rig.Get(0x11));
    }

    [Fact]
    public void EdgeEntryDeliversOnARisingEdgeOnlyWhenUnmasked()
    {
        var rig = new Rig();
        rig.IoApic.SetPin(4, true);
        rig.IoApic.SetPin(4, false);
        Assert.False(rig.Lapic.HasInterrupt); // masked: lost
        rig.Route(4, 0x34);
        rig.IoApic.SetPin(4, true);
        Assert.Equal(0x34, rig.Lapic.Acknowledge());
        rig.Eoi();
        rig.IoApic.SetPin(4, true); // no new edge
        Assert.False(rig.Lapic.HasInterrupt);
        rig.IoApic.SetPin(4, false);
        rig.IoApic.SetPin(4, true);
        Assert.True(rig.Lapic.HasInterrupt);
    }

    [Fact]
    public void LevelEntrySetsRemoteIrrUntilEoiAndRedeliversWhileAsserted()
    {
        var rig = new Rig();
        rig.IoApic.SetPin(9, true); // electrically high: idle for an active-low line
        rig.Route(9, 0xA049); // level, active low (bit 13), vector 0x49
        Assert.False(rig.Lapic.HasInterrupt);
        rig.IoApic.SetPin(9, false); // asserted
        Assert.Equal(0x4000u, rig.Get(0x10 + 18) & 0x4000); // Remote IRR
        Assert.Equal(0x49, rig.Lapic.Acknowledge());
        rig.Eoi(); // still asserted: cleared and sent again
        Assert.Equal(0x4000u, rig.Get(0x10 + 18) & 0x4000);
        Assert.Equal(0x49, rig.Lapic.Acknowledge());
        rig.IoApic.SetPin(9, true); // the device drops its request
        rig.Eoi();
        Assert.Equal(0u, rig.Get(0x10 + 18) & 0x4000);
        Assert.False(rig.Lapic.HasInterrupt);
    }

    [Fact]
    public void MaskedLevelInputIsDeliveredWhenUnmasked()
    {
        var rig = new Rig();
        rig.Route(8, 0x18058); // level, active high, masked
        rig.IoApic.SetPin(8, true);
        Assert.False(rig.Lapic.HasInterrupt);
        rig.Route(8, 0x8058);
        Assert.Equal(0x58, rig.Lapic.Acknowledge());
    }

    [Fact]
    public void NmiDeliveryAndDestinations()
    {
        var rig = new Rig();
        rig.Route(5, 0x400); // NMI
        rig.IoApic.SetPin(5, true);
        Assert.True(rig.Lapic.TakeNmi());
        rig.Route(6, 0x36, 0x0300_0000); // physical APIC ID 3: no such CPU
        rig.IoApic.SetPin(6, true);
        Assert.False(rig.Lapic.HasInterrupt);
        rig.Route(7, 0x837, 0x0100_0000); // logical, destination 1
        rig.IoApic.SetPin(7, true);
        Assert.Equal(0x37, rig.Lapic.Acknowledge());
    }
}
