using Emulator.Devices.Acpi;
using Emulator.Devices.Apic;
using Emulator.Devices.Interrupts;
using Emulator.Devices.Pci;
using Emulator.Devices.Ps2;
using Emulator.Devices.Rtc;
using Xunit;

namespace Emulator.Devices.Tests;

/// <summary>
/// STYLE.md's random-access test for the platform devices (RTC, 8042, ACPI PM, PCI host, local APIC,
/// I/O APIC): any reads and writes, with time moving and host input arriving, leave the process standing.
/// </summary>
public class PlatformRandomAccessTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RandomTrafficNeverThrows(int seed)
    {
        var random = new Random(seed);
        var bus = new ClockedPorts();
        var rtc = new Mc146818Rtc(bus.Clock, new InterruptLine("irq8"));
        var kbc = new I8042Controller(new InterruptLine("irq1"), new InterruptLine("irq12"), () => { });
        var pm = new AcpiPm(bus.Clock, new InterruptLine("irq9"), () => { });
        var lapic = new LocalApic(bus.Clock);
        var ioapic = new IoApic(lapic);
        bus.Ports.Map(0x70, 2, rtc);
        bus.Ports.Map(0x60, 1, kbc.DataPort);
        bus.Ports.Map(0x64, 1, kbc.CommandPort);
        bus.Ports.Map(0x600, 12, pm.Pm1);
        bus.Ports.Map(0x620, 4, pm.Gpe0);
        bus.Ports.Map(0xCF8, 8, new PciHostBridge(() => { }));
        ushort[] hot = [0x60, 0x64, 0x70, 0x600, 0x608, 0x620, 0xCF8, 0xCFC];
        int[] sizes = [1, 2, 4];
        for (int i = 0; i < 30_000; i++)
        {
            int size = sizes[random.Next(3)];
            ushort port = (ushort)(hot[random.Next(hot.Length)] + random.Next(-2, 6));
            ulong offset = (ulong)random.Next(0x1000) & ~3UL;
            uint value = (uint)random.NextInt64(0x1_0000_0000);
            switch (random.Next(12))
            {
                case < 3:
                    bus.Ports.Read(port, size);
                    break;
                case < 6:
                    bus.Ports.Write(port, size, value);
                    break;
                case 6:
                    lapic.Write(offset, 4, value);
                    lapic.Read(offset, 4);
                    break;
                case 7:
                    ioapic.Write(offset & 0x10, 4, value);
                    ioapic.Read(offset & 0x10, 4);
                    break;
                case 8:
                    ioapic.SetPin(random.Next(IoApic.PinCount), random.Next(2) == 0);
                    lapic.Acknowledge();
                    break;
                case 9:
                    lapic.TryWriteMsr((uint)(0x800 + random.Next(0x100)), value);
                    lapic.TryReadMsr((uint)(0x800 + random.Next(0x100)), out _);
                    break;
                case 10:
                    kbc.SendScancode((byte)random.Next(256));
                    break;
                default:
                    bus.Advance((ulong)random.Next(2_000_000));
                    break;
            }
        }

        // Still a working RTC and 8042 afterwards.
        kbc.DataPort.Reset();
        bus.Ports.Write(0x64, 1, 0xAA);
        Assert.Equal(0x55u, bus.Ports.Read(0x60, 1));
        bus.Ports.Write(0x70, 1, 0x0D);
        Assert.Equal(0x80u, bus.Ports.Read(0x71, 1));
    }
}
