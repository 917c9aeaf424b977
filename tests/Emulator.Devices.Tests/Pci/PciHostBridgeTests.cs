using Emulator.Devices.Pci;
using Xunit;

namespace Emulator.Devices.Tests.Pci;

/// <summary>Configuration mechanism #1 at 0xCF8/0xCFC and the reset control register at 0xCF9.</summary>
public class PciHostBridgeTests
{
    private sealed class Rig
    {
        public Rig()
        {
            Host = new PciHostBridge(() => Resets++);
            Bus.Ports.Map(0xCF8, 8, Host);
        }

        public ClockedPorts Bus { get; } = new();

        public PciHostBridge Host { get; }

        public int Resets { get; private set; }

        public uint Config(int device, int function, int register, int size = 4, int bus = 0)
        {
            Bus.Out(0xCF8, 4, 0x8000_0000u | (uint)(bus << 16) | (uint)(device << 11) | (uint)(function << 8) | (uint)(register & 0xFC));
            return Bus.In((ushort)(0xCFC + (register & 3)), size);
        }

        public void SetConfig(int device, int function, int register, uint value, int size = 4)
        {
            Bus.Out(0xCF8, 4, 0x8000_0000u | (uint)(device << 11) | (uint)(function << 8) | (uint)(register & 0xFC));
            Bus.Out((ushort)(0xCFC + (register & 3)), size, value);
        }
    }

    [Fact]
    public void Bus0HoldsThe440fxAndPiix3AndNothingElse()
    {
        var rig = new Rig();
        Assert.Equal(0x1237_8086u, rig.Config(0, 0, 0));
        Assert.Equal(0x0600_0002u, rig.Config(0, 0, 8)); // class 06/00/00, revision 2
        Assert.Equal(0x7000_8086u, rig.Config(1, 0, 0));
        Assert.Equal(0x0601u, rig.Config(1, 0, 0x0A, 2));
        Assert.Equal(0xFFFF_FFFFu, rig.Config(2, 0, 0));
        Assert.Equal(0xFFFF_FFFFu, rig.Config(1, 3, 0));
        Assert.Equal(0xFFFF_FFFFu, rig.Config(0, 0, 0, bus: 1));
        Assert.Equal(0xFFFFu, rig.Config(31, 7, 2, 2));
        Assert.Equal(0u, rig.Config(0, 0, 0x10)); // no BARs
        rig.SetConfig(0, 0, 0x10, 0xFFFF_FFFF);
        Assert.Equal(0u, rig.Config(0, 0, 0x10));
    }

    [Fact]
    public void ConfigAddressNeedsEnableAndDwordAccess()
    {
        var rig = new Rig();
        rig.Bus.Out(0xCF8, 4, 0x0000_0000); // enable bit clear
        Assert.Equal(0xFFFF_FFFFu, rig.Bus.In(0xCFC, 4));
        rig.Bus.Out(0xCF8, 4, 0x8000_0803);
        Assert.Equal(0x8000_0800u, rig.Bus.In(0xCF8, 4)); // bits 1:0 read 0
        Assert.Equal(0xFFu, rig.Bus.In(0xCFA, 1)); // byte reads of 0xCF8-0xCFB are not the address register
    }

    [Fact]
    public void PirqRouteRegistersAreStored()
    {
        var rig = new Rig();
        Assert.Equal(0x8080_8080u, rig.Config(1, 0, 0x60));
        Assert.Null(rig.Host.PirqRoute(0));
        rig.SetConfig(1, 0, 0x60, 0x0B0A_0B0A);
        Assert.Equal(0x0B0A_0B0Au, rig.Config(1, 0, 0x60));
        Assert.Equal(10, rig.Host.PirqRoute(0));
        Assert.Equal(11, rig.Host.PirqRoute(1));
        rig.SetConfig(1, 0, 0x62, 0xFF, 1); // only bits 7 and 3:0 exist
        Assert.Equal(0x8Fu, rig.Config(1, 0, 0x62, 1));
        rig.Host.Reset();
        Assert.Equal(0x8080_8080u, rig.Config(1, 0, 0x60));
    }

    [Fact]
    public void ResetControlRegisterResetsOnRstCpu()
    {
        var rig = new Rig();
        rig.Bus.Out(0xCF9, 0x02); // SYS_RST alone: selects a hard reset, starts nothing
        Assert.Equal(0, rig.Resets);
        Assert.Equal(0x02, rig.Bus.In(0xCF9));
        rig.Bus.Out(0xCF9, 0x06);
        Assert.Equal(1, rig.Resets);
        rig.Bus.Out(0xCF9, 0x06); // RST_CPU reads back 0: each write of it starts a reset
        Assert.Equal(2, rig.Resets);
    }
}
