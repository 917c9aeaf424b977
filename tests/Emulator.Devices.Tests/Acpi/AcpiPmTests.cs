using Emulator.Devices.Acpi;
using Emulator.Devices.Interrupts;
using Xunit;

namespace Emulator.Devices.Tests.Acpi;

/// <summary>The ACPI PM1 event/control, PM timer and GPE0 blocks through their ports (ACPI 6.x section 4.8).</summary>
public class AcpiPmTests
{
    private sealed class Rig
    {
        public Rig()
        {
            Pm = new AcpiPm(Bus.Clock, Sci, () => PowerOffs++);
            Bus.Ports.Map(0x600, 12, Pm.Pm1);
            Bus.Ports.Map(0x620, 4, Pm.Gpe0);
        }

        public ClockedPorts Bus { get; } = new();

        public InterruptLine Sci { get; } = new("irq9");

        public AcpiPm Pm { get; }

        public int PowerOffs { get; private set; }
    }

    private static ulong TimeOfTick(ulong tick) => (ulong)(((UInt128)tick * 1_000_000_000 + 3_579_544) / 3_579_545);

    [Fact]
    public void PmTimerCounts3579545HzIn24Bits()
    {
        var rig = new Rig();
        Assert.Equal(0u, rig.Bus.In(0x608, 4));
        rig.Bus.RunTo(1_000_000_000);
        Assert.Equal(3_579_545u, rig.Bus.In(0x608, 4));
        rig.Bus.RunTo(TimeOfTick(1UL << 24) + 10);
        Assert.True(rig.Bus.In(0x608, 4) < 100); // wrapped at 24 bits
        Assert.Equal(0, rig.Bus.In(0x60B)); // bits 31:24 read 0
    }

    [Fact]
    public void TimerCarryRaisesTmrStsAndTheSciWhenEnabled()
    {
        var rig = new Rig();
        rig.Bus.Out(0x602, 2, 0x0001); // TMR_EN
        Assert.False(rig.Sci.IsRaised);
        rig.Bus.RunTo(TimeOfTick(1UL << 23) - 1);
        Assert.False(rig.Sci.IsRaised);
        rig.Bus.RunTo(TimeOfTick(1UL << 23));
        Assert.True(rig.Sci.IsRaised);
        Assert.Equal(1u, rig.Bus.In(0x600, 2) & 1);
        rig.Bus.Out(0x600, 2, 0x0001); // write 1 to clear
        Assert.False(rig.Sci.IsRaised);
        Assert.Equal(0u, rig.Bus.In(0x600, 2) & 1);
        rig.Bus.RunTo(TimeOfTick(2UL << 23));
        Assert.True(rig.Sci.IsRaised);
    }

    [Fact]
    public void SciEnIsAlwaysSetAndS5PowersOff()
    {
        var rig = new Rig();
        Assert.Equal(1u, rig.Bus.In(0x604, 2) & 1);
        rig.Bus.Out(0x604, 2, 0x0000);
        Assert.Equal(1u, rig.Bus.In(0x604, 2) & 1);
        rig.Bus.Out(0x604, 2, 5 << 10); // SLP_TYP without SLP_EN: nothing
        Assert.Equal(0, rig.PowerOffs);
        Assert.Equal((5u << 10) | 1, rig.Bus.In(0x604, 2));
        rig.Bus.Out(0x604, 2, (5 << 10) | (1 << 13)); // S1-S4 types are not supported
        Assert.Equal(0, rig.PowerOffs);
        rig.Bus.Out(0x604, 2, 1 << 13); // SLP_TYP 0 | SLP_EN: S5
        Assert.Equal(1, rig.PowerOffs);
    }

    [Fact]
    public void PowerButtonAndGpeRaiseTheSciOnlyWhenEnabled()
    {
        var rig = new Rig();
        rig.Pm.PressPowerButton();
        Assert.False(rig.Sci.IsRaised);
        Assert.Equal(0x100u, rig.Bus.In(0x600, 2));
        rig.Bus.Out(0x602, 2, 0x100);
        Assert.True(rig.Sci.IsRaised);
        rig.Bus.Out(0x601, 1, 0x01); // byte write-1-to-clear of bit 8
        Assert.False(rig.Sci.IsRaised);

        rig.Pm.RaiseGpe(3);
        Assert.False(rig.Sci.IsRaised);
        Assert.Equal(0x0008u, rig.Bus.In(0x620, 2));
        rig.Bus.Out(0x622, 2, 0x0008);
        Assert.True(rig.Sci.IsRaised);
        Assert.Equal(0x0008_0008u, rig.Bus.In(0x620, 4));
        rig.Bus.Out(0x620, 2, 0x0008);
        Assert.False(rig.Sci.IsRaised);
    }

    [Fact]
    public void ResetClearsEnablesAndStatus()
    {
        var rig = new Rig();
        rig.Bus.Out(0x602, 2, 0x0121);
        rig.Pm.PressPowerButton();
        Assert.True(rig.Sci.IsRaised);
        rig.Pm.Pm1.Reset();
        Assert.False(rig.Sci.IsRaised);
        Assert.Equal(0u, rig.Bus.In(0x602, 2));
        Assert.Null(rig.Bus.Clock.NextDeadline);
    }
}
