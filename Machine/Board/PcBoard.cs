using System.Text;
using Emulator.Devices.Acpi;
using Emulator.Devices.Apic;
using Emulator.Devices.DebugConsole;
using Emulator.Devices.DebugExit;
using Emulator.Devices.FwCfg;
using Emulator.Devices.Hpet;
using Emulator.Devices.Interrupts;
using Emulator.Devices.Pci;
using Emulator.Devices.PcTestdev;
using Emulator.Devices.Pic8259;
using Emulator.Devices.Pit8254;
using Emulator.Devices.Port92;
using Emulator.Devices.Post;
using Emulator.Devices.Ps2;
using Emulator.Devices.Rtc;
using Emulator.Devices.Shutdown;
using Emulator.Devices.Time;
using Emulator.Devices.Uart16550;
using Emulator.Machine.Config;
using Emulator.Mmu;
using Emulator.Mmu.Physical;
using Emulator.Mmu.Ports;

namespace Emulator.Machine.Board;

/// <summary>
/// The board: which devices sit where, all in one place (STYLE.md). Builds guest RAM, the
/// physical map and the port space for a <see cref="MachineConfig"/>, and prints itself as a
/// table in the manner of QEMU's <c>info mtree</c>.
/// </summary>
public sealed class PcBoard : IDisposable
{
    /// <summary>RAM above this address is moved above 4 GiB, leaving the hole for MMIO and firmware.</summary>
    public const ulong LowMemoryLimit = 0xC000_0000;

    public const ushort Com1Port = 0x3F8;
    public const int Com1Irq = 4;

    private readonly List<IBusDevice> _devices = [];

    public PcBoard(MachineConfig config, IMachineControl control, VirtualClock clock)
    {
        Clock = clock;
        Com1Irq4 = new InterruptLine("irq4");
        Com1 = new Uart16550("com1", Com1Irq4);
        Ram = new GuestRam(config.MemoryBytes);
        try
        {
            Build(config, control);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    private void Build(MachineConfig config, IMachineControl control)
    {
        Memory = new PhysicalMemory(Ram);
        ulong low = Math.Min(config.MemoryBytes, LowMemoryLimit);
        Memory.MapRam("ram-below-4g", 0, 0, low);
        if (config.MemoryBytes > low)
        {
            Memory.MapRam("ram-above-4g", 0x1_0000_0000, low, config.MemoryBytes - low);
        }

        // The local APIC's xAPIC page at 0xFEE00000 (APIC ID 0) and the I/O APIC at 0xFEC00000 (ID 1,
        // 24 pins, GSI base 0). Built first: the ISA interrupt lines below lead to both 8259A and I/O APIC.
        Lapic = new LocalApic(Clock);
        MapMmio(LocalApic.DefaultBase, LocalApic.MmioLength, Lapic);
        IoApic = new IoApic(Lapic);
        MapMmio(IoApic.DefaultBase, IoApic.MmioLength, IoApic);

        // The 8259A pair (master 0x20, slave 0xA0, cascade on IRQ 2) and the ELCR at 0x4D0/0x4D1.
        Map(DualPic8259.MasterPort, 2, Pic.MasterPorts);
        Map(DualPic8259.SlavePort, 2, Pic.SlavePorts);
        Map(DualPic8259.ElcrPort, 2, Pic.ElcrPorts);

        // COM1: 16550A at 0x3F8, IRQ 4.
        Map(Com1Port, 8, Com1);

        // 8254 PIT at 0x40-0x43, OUT0 on IRQ 0; port 0x61 gates counter 2 and shows OUT2.
        _pitIrq0 = IsaIrq(0, yieldsToHpet: true);
        Pit = new Pit8254(Clock, _pitIrq0);
        Map(Pit8254.BasePort, 4, Pit);
        Map(SystemControlPortB.Port, 1, new SystemControlPortB(Pit, Clock));

        // Port 0x92: fast reset (bit 0) and the A20 gate (bit 1). It and the 8042's output port drive
        // one A20 line, the last write deciding (as QEMU wires them); the gate masks physical address
        // bit 20 of every CPU access while it is off (PhysicalMemory.A20Mask).
        Map(SystemControlPortA.Port, 1, new SystemControlPortA(control.RequestReset, SetA20));
        ConnectIsa(Com1Irq4, Com1Irq);
        Map(PostPort.Port, 1, Post);

        Map(BochsShutdown.Port, 1, new BochsShutdown(control.PowerOff));

        // MC146818 RTC and CMOS at 0x70/0x71 on IRQ 8; the CMOS holds the memory sizes a BIOS reads.
        _rtcIrq8 = IsaIrq(Mc146818Rtc.Irq, yieldsToHpet: true);
        Rtc = new Mc146818Rtc(Clock, _rtcIrq8, config.RtcBase);
        Map(Mc146818Rtc.BasePort, 2, Rtc);
        PcCmosLayout.Apply(Rtc, low, config.MemoryBytes - low, mouse: true);

        // 8042 keyboard controller: data 0x60, status/command 0x64; keyboard on IRQ 1, the PS/2 mouse
        // on the aux port on IRQ 12; output port bit 1 is the A20 gate.
        Keyboard = new I8042Controller(IsaIrq(I8042Controller.KeyboardIrq), IsaIrq(I8042Controller.AuxIrq), control.RequestReset, SetA20);
        Map(I8042Controller.DataPortNumber, 1, Keyboard.DataPort);
        Map(I8042Controller.CommandPortNumber, 1, Keyboard.CommandPort);

        // QEMU's fw_cfg, legacy I/O interface, always present (SeaBIOS and QEMU-targeted kernels probe it).
        FwCfg = new FwCfg(config.MemoryBytes);
        Map(FwCfg.SelectorPort, FwCfg.PortCount, FwCfg);

        // ACPI fixed hardware (PIIX4-style, at the FADT's fixed addresses): PM1a_EVT 0x600, PM1a_CNT 0x604,
        // PM_TMR 0x608, GPE0 0x620; SCI on IRQ 9; S5 powers the machine off.
        AcpiPm = new AcpiPm(Clock, IsaIrq(AcpiPm.SciIrq), control.PowerOff);
        Map(AcpiPm.Pm1EventPort, AcpiPm.Pm1Length, AcpiPm.Pm1);
        Map(AcpiPm.Gpe0Port, AcpiPm.Gpe0Length, AcpiPm.Gpe0);

        // HPET at 0xFED00000 (10 MHz, 3 timers): comparators on I/O APIC pins 20-23, or with legacy
        // replacement timer 0 on IRQ 0 (I/O APIC pin 2) and timer 1 on IRQ 8.
        // The legacy route takes IRQ 0 from the 8254 and IRQ 8 from the RTC (HPET spec 2.3.7, table 5;
        // the PIIX4/ICH wiring QEMU models with its "hpet-intr" GPIOs): while it is on, their lines lead nowhere.
        Hpet = new Hpet(Clock, SetHpetLine);
        Hpet.LegacyRoutingChanged += OnHpetLegacyRouting;
        MapMmio(Hpet.DefaultBase, Hpet.MmioLength, Hpet);

        // PCI configuration mechanism #1 at 0xCF8-0xCFF: i440FX host bridge 00.0, PIIX3 ISA bridge 01.0;
        // the PIIX3 reset control register at 0xCF9 (the FADT's reset register, value 0x06).
        Pci = new PciHostBridge(control.RequestReset);
        Map(PciHostBridge.BasePort, PciHostBridge.PortCount, Pci);

        if (config.PcTestdev)
        {
            // QEMU's pc-testdev: its ports, the IRQ-line block and the MMIO window (hw/misc/pc-testdev.c).
            // Its lines 0-15 are the PIC's inputs (QEMU wires them to the ISA IRQs); lines 16-23 (I/O APIC
            // pins in QEMU) are not wired here.
            PcTestdev = new PcTestdev(Pic.Inputs);
            Map(PcTestdev.IoBase, PcTestdev.IoLength, PcTestdev);
            Map(PcTestdev.IrqPortBase, PcTestdev.IrqLineCount, PcTestdev.IrqLines);
            MapMmio(PcTestdev.MmioBase, PcTestdev.MmioLength, PcTestdev.Memory);
        }

        if (config.Debugcon is not null)
        {
            Debugcon = new DebugConsole();
            Map(config.DebugconPort, 1, Debugcon);
        }

        if (config.ExitDevice is { } exit)
        {
            Map(exit.IoBase, exit.IoSize, new IsaDebugExit(control.Exit));
        }
    }

    public GuestRam Ram { get; }

    /// <summary>The machine's one clock (host time, or retired instructions under --icount).</summary>
    public VirtualClock Clock { get; }

    public Pit8254 Pit { get; private set; } = null!;

    public PhysicalMemory Memory { get; private set; } = null!;

    public IoPortSpace Ports { get; } = new();

    public InterruptLine Com1Irq4 { get; }

    public DualPic8259 Pic { get; } = new();

    public Uart16550 Com1 { get; }

    public PostPort Post { get; } = new();

    public DebugConsole? Debugcon { get; private set; }

    public FwCfg FwCfg { get; private set; } = null!;

    public PcTestdev? PcTestdev { get; private set; }

    public Mc146818Rtc Rtc { get; private set; } = null!;

    public LocalApic Lapic { get; private set; } = null!;

    public IoApic IoApic { get; private set; } = null!;

    public AcpiPm AcpiPm { get; private set; } = null!;

    public PciHostBridge Pci { get; private set; } = null!;

    public Hpet Hpet { get; private set; } = null!;

    private InterruptLine _pitIrq0 = null!, _rtcIrq8 = null!;

    // The 8254 and the RTC lose IRQ 0 and 8 while the HPET's legacy route is on, and get them back
    // (at their line's present level) when it goes off.
    private void OnHpetLegacyRouting(bool on)
    {
        foreach (var (line, irq) in new[] { (_pitIrq0, 0), (_rtcIrq8, Mc146818Rtc.Irq) })
        {
            bool level = !on && line.IsRaised;
            Pic.Inputs[irq].Set(level);
            IoApic.SetPin(IoApicPin(irq), level);
        }
    }

    private void SetHpetLine(int line, bool level)
    {
        switch (line)
        {
            case Hpet.LegacyIrq0:
                Pic.Inputs[0].Set(level);
                IoApic.SetPin(IoApicPin(0), level);
                break;
            case Hpet.LegacyIrq8:
                Pic.Inputs[8].Set(level);
                IoApic.SetPin(IoApicPin(8), level);
                break;
            case >= 0 and < IoApic.PinCount:
                IoApic.SetPin(line, level);
                break;
        }
    }

    /// <summary>The A20 line: physical address bit 20 follows it for every CPU access.</summary>
    private void SetA20(bool enabled) => Memory.A20Enabled = enabled;

    /// <summary>The I/O APIC pin of ISA IRQ <paramref name="irq"/>: identity, except IRQ 0 on pin 2 (the MADT's interrupt source override).</summary>
    public static int IoApicPin(int irq) => irq == 0 ? 2 : irq;

    public I8042Controller Keyboard { get; private set; } = null!;

    /// <summary>
    /// A new line for ISA interrupt <paramref name="irq"/>: the board leads it to the 8259A input of
    /// that number and to the I/O APIC pin the MADT describes (<see cref="IoApicPin"/>).
    /// </summary>
    /// <param name="yieldsToHpet">IRQ 0 and 8: the HPET's legacy route disconnects this source (<see cref="Hpet.LegacyRouting"/>).</param>
    private InterruptLine IsaIrq(int irq, bool yieldsToHpet = false)
    {
        var line = new InterruptLine($"irq{irq}");
        ConnectIsa(line, irq, yieldsToHpet);
        return line;
    }

    // An ISA line drives the 8259A input and the I/O APIC pin together (the MADT tells the OS which to use).
    private void ConnectIsa(InterruptLine line, int irq, bool yieldsToHpet = false)
    {
        var picInput = Pic.Inputs[irq];
        int pin = IoApicPin(irq);
        line.Sink = level =>
        {
            if (yieldsToHpet && Hpet is { LegacyRouting: true })
            {
                return;
            }

            picInput.Set(level);
            IoApic.SetPin(pin, level);
        };
        picInput.Set(line.IsRaised);
        IoApic.SetPin(pin, line.IsRaised);
    }

    public IReadOnlyList<IBusDevice> Devices => _devices;

    private void Map(ushort port, int length, IBusDevice device)
    {
        try
        {
            Ports.Map(port, length, device);
        }
        catch (InvalidOperationException e)
        {
            throw new ConfigException(e.Message, e);
        }

        _devices.Add(device);
    }

    private void MapMmio(ulong guestBase, ulong length, IBusDevice device)
    {
        try
        {
            Memory.MapMmio(device.Name, guestBase, length, device);
        }
        catch (InvalidOperationException e)
        {
            throw new ConfigException(e.Message, e);
        }

        _devices.Add(device);
    }

    public void Reset()
    {
        foreach (var device in _devices)
        {
            device.Reset();
        }
    }

    /// <summary>The physical memory map and the port map, one range a line.</summary>
    public string DescribeMap()
    {
        var sb = new StringBuilder();
        sb.AppendLine("memory:");
        foreach (var region in Memory.Regions.OrderBy(r => r.Base))
        {
            sb.Append("  ").AppendLine(region.ToString());
        }

        sb.AppendLine("I/O ports:");
        foreach (var range in Ports.Ranges.OrderBy(r => r.Base))
        {
            sb.Append("  ").AppendLine(range.ToString());
        }

        return sb.ToString();
    }

    public void Dispose()
    {
        Memory?.Dispose();
        Ram.Dispose();
    }
}
