using Emulator.Devices.Time;
using Emulator.Machine.Board;
using Emulator.Machine.Config;
using Xunit;

namespace Emulator.Machine.Tests;

/// <summary>The board maps every device in one place and prints the map (QEMU's info mtree is the model).</summary>
public class BoardMapTests
{
    private sealed class NoControl : IMachineControl
    {
        public void Exit(int status)
        {
        }

        public void PowerOff()
        {
        }

        public void RequestReset()
        {
        }
    }

    [Fact]
    public void MapListsRamAndEveryPortDevice()
    {
        using var board = new PcBoard(new MachineConfig { MemoryBytes = 64UL << 20, Debugcon = SerialTarget.Stdio, ExitDevice = new ExitDeviceConfig(0xF4, 4) }, new NoControl(), new VirtualClock());
        string map = board.DescribeMap();

        Assert.Contains("0000000000000000-0000000003ffffff Ram  ram-below-4g", map, StringComparison.Ordinal);
        Assert.Contains("03f8-03ff com1", map, StringComparison.Ordinal);
        Assert.Contains("0040-0043 pit8254", map, StringComparison.Ordinal);
        Assert.Contains("0061-0061 port61", map, StringComparison.Ordinal);
        Assert.Contains("0080-0080 post", map, StringComparison.Ordinal);
        Assert.Contains("00e9-00e9 debugcon", map, StringComparison.Ordinal);
        Assert.Contains("00f4-00f7 isa-debug-exit", map, StringComparison.Ordinal);
        Assert.Contains("8900-8900 bochs-shutdown", map, StringComparison.Ordinal);
        Assert.Contains("0510-0511 fw_cfg", map, StringComparison.Ordinal);
        Assert.Contains("0020-0021 pic-master", map, StringComparison.Ordinal);
        Assert.Contains("00a0-00a1 pic-slave", map, StringComparison.Ordinal);
        Assert.Contains("04d0-04d1 elcr", map, StringComparison.Ordinal);
        Assert.Contains("0070-0071 rtc-mc146818", map, StringComparison.Ordinal);
        Assert.Contains("0060-0060 i8042-data", map, StringComparison.Ordinal);
        Assert.Contains("0600-060b acpi-pm1", map, StringComparison.Ordinal);
        Assert.Contains("0620-0623 acpi-gpe0", map, StringComparison.Ordinal);
        Assert.Contains("0cf8-0cff pci-host", map, StringComparison.Ordinal);
        Assert.Contains("00000000fed00000-00000000fed00fff Mmio hpet", map, StringComparison.Ordinal);
        Assert.Contains("00000000fec00000-00000000fec00fff Mmio ioapic", map, StringComparison.Ordinal);
        Assert.Contains("00000000fee00000-00000000fee00fff Mmio lapic", map, StringComparison.Ordinal);
        Assert.Contains("0064-0064 i8042-cmd", map, StringComparison.Ordinal);
        Assert.DoesNotContain("pc-testdev", map, StringComparison.Ordinal);
    }

    [Fact]
    public void PcTestdevIsMappedOnlyWhenAsked()
    {
        using var board = new PcBoard(new MachineConfig { MemoryBytes = 64UL << 20, PcTestdev = true }, new NoControl(), new VirtualClock());
        string map = board.DescribeMap();

        // hw/misc/pc-testdev.c: ports 0xE0 (register), 0xE4 (flush page), 0xE8 (register, bytes), 0x2000 (IRQ lines), MMIO at 0xFF000000.
        Assert.Contains("00e0-00eb pc-testdev", map, StringComparison.Ordinal);
        Assert.Contains("2000-2017 pc-testdev-irq-line", map, StringComparison.Ordinal);
        Assert.Equal(Mmu.Physical.RegionKind.Mmio, board.Memory.Lookup(0xFF00_0000)?.Kind);
        board.Memory.Write(0xFF00_0040, 4, 0xFEED_F00D);
        Assert.Equal(0xFEED_F00DUL, board.Memory.Read(0xFF00_0040, 4));
        board.Ports.Write(0xE0, 4, 0x55AA);
        Assert.Equal(0x55AAUL, board.Ports.Read(0xE0, 4));
    }

    [Fact]
    public void Com1AndPcTestdevLinesReachThePic()
    {
        using var board = new PcBoard(new MachineConfig { MemoryBytes = 64UL << 20, PcTestdev = true }, new NoControl(), new VirtualClock());
        // ICW1-ICW4 for both chips (8259A datasheet), vectors 0x08 and 0x70, all unmasked.
        foreach (var (port, value) in new (ushort, byte)[] { (0x20, 0x11), (0x21, 0x08), (0x21, 0x04), (0x21, 0x01), (0xA0, 0x11), (0xA1, 0x70), (0xA1, 0x02), (0xA1, 0x01) })
        {
            board.Ports.Write(port, 1, value);
        }

        // pc-testdev line 10 (a byte write of 1 at 0x2000 + 10) is IRQ 10, on the slave.
        board.Ports.Write(0x2000 + 10, 1, 1);
        Assert.True(board.Pic.Intr);
        Assert.Equal(0x72, board.Pic.Acknowledge());
        board.Ports.Write(0x2000 + 10, 1, 0);
        board.Ports.Write(0xA0, 1, 0x20);
        board.Ports.Write(0x20, 1, 0x20);
        Assert.False(board.Pic.Intr);

        // COM1: MCR OUT2 and IER receive; a received byte raises IRQ 4.
        board.Ports.Write(0x3FC, 1, 0x08);
        board.Ports.Write(0x3F9, 1, 0x01);
        board.Com1.Receive((byte)'a');
        Assert.True(board.Pic.Intr);
        Assert.Equal(0x0C, board.Pic.Acknowledge());
    }

    [Fact]
    public void FwCfgReportsTheConfiguredRamSize()
    {
        using var board = new PcBoard(new MachineConfig { MemoryBytes = 64UL << 20 }, new NoControl(), new VirtualClock());
        board.Ports.Write(0x510, 2, 0x0003);
        ulong size = 0;
        for (int k = 0; k < 8; k++)
        {
            size |= board.Ports.Read(0x511, 1) << (8 * k);
        }

        Assert.Equal(64UL << 20, size);
    }

    [Theory]
    [InlineData(64UL << 20, 0xFC00, 0x0300, 0)]
    [InlineData(4UL << 30, 0xFFFF, 0xBF00, 0x4000)] // 3 GiB below the hole, 1 GiB above 4 GiB
    public void CmosHoldsTheMemorySizesABiosReads(ulong bytes, int extendedKiB, int above16M, int above4G)
    {
        using var board = new PcBoard(new MachineConfig { MemoryBytes = bytes }, new NoControl(), new VirtualClock());
        int Cmos(int index)
        {
            board.Ports.Write(0x70, 1, (uint)index);
            return (int)board.Ports.Read(0x71, 1);
        }

        Assert.Equal(640, Cmos(0x15) | Cmos(0x16) << 8);
        Assert.Equal(extendedKiB, Cmos(0x17) | Cmos(0x18) << 8);
        Assert.Equal(extendedKiB, Cmos(0x30) | Cmos(0x31) << 8);
        Assert.Equal(above16M, Cmos(0x34) | Cmos(0x35) << 8);
        Assert.Equal(above4G, Cmos(0x5B) | Cmos(0x5C) << 8 | Cmos(0x5D) << 16);
        Assert.Equal(0x06, Cmos(0x14)); // FPU present, PS/2 mouse present, no floppy

        int sum = 0;
        for (int i = 0x10; i <= 0x2D; i++)
        {
            sum += Cmos(i);
        }

        Assert.Equal(sum, Cmos(0x2E) << 8 | Cmos(0x2F));
    }

    [Fact]
    public void RtcRaisesIrq8OnThePic()
    {
        ulong now = 0;
        using var board = new PcBoard(new MachineConfig { MemoryBytes = 64UL << 20 }, new NoControl(), new VirtualClock(() => now));
        foreach (var (port, value) in new (ushort, byte)[] { (0x20, 0x11), (0x21, 0x08), (0x21, 0x04), (0x21, 0x01), (0xA0, 0x11), (0xA1, 0x70), (0xA1, 0x02), (0xA1, 0x01) })
        {
            board.Ports.Write(port, 1, value);
        }

        board.Ports.Write(0x70, 1, 0x0B);
        board.Ports.Write(0x71, 1, 0x42); // PIE at the default 1024 Hz
        now = 1_000_000;
        board.Clock.RunDue();
        Assert.True(board.Pic.Intr);
        Assert.Equal(0x70, board.Pic.Acknowledge());
    }

    [Fact]
    public void PitIrq0ReachesIoApicPin2AndTheLocalApic()
    {
        ulong now = 0;
        using var board = new PcBoard(new MachineConfig { MemoryBytes = 64UL << 20 }, new NoControl(), new VirtualClock(() => now));
        board.Memory.Write(0xFEC0_0000, 4, 0x00);
        Assert.Equal(1UL << 24, board.Memory.Read(0xFEC0_0010, 4)); // I/O APIC ID 1
        board.Memory.Write(0xFEE0_00F0, 4, 0x1FF); // local APIC software enable
        board.Memory.Write(0xFEC0_0000, 4, 0x10 + (2 * 2)); // IOREDTBL2 low: vector 0x30, edge, unmasked
        board.Memory.Write(0xFEC0_0010, 4, 0x30);
        board.Ports.Write(0x43, 1, 0x34); // PIT counter 0 mode 2, 1193 counts (1 ms)
        board.Ports.Write(0x40, 1, 0xA9);
        board.Ports.Write(0x40, 1, 0x04);
        while (board.Lapic.HasInterrupt)
        {
            board.Lapic.Acknowledge(); // the control word's OUT0 edge
            board.Memory.Write(0xFEE0_00B0, 4, 0);
        }

        now = 1_000_000; // past the first reload
        board.Clock.RunDue();
        Assert.Equal(0x30, board.Lapic.Acknowledge());
    }

    [Fact]
    public void RamAboveTheHoleMovesAbove4GiB()
    {
        using var board = new PcBoard(new MachineConfig { MemoryBytes = 4UL << 30 }, new NoControl(), new VirtualClock());
        Assert.Equal(Mmu.Physical.RegionKind.Ram, board.Memory.Lookup(0xBFFF_F000)?.Kind);
        Assert.Null(board.Memory.Lookup(0xC000_0000));
        Assert.Equal(Mmu.Physical.RegionKind.Ram, board.Memory.Lookup(0x1_3FFF_F000)?.Kind);
        Assert.Null(board.Memory.Lookup(0x1_4000_0000));
    }

    [Fact]
    public void DevicesOnTheSamePortAreRefused()
    {
        var e = Assert.Throws<ConfigException>(() => new PcBoard(new MachineConfig { ExitDevice = new ExitDeviceConfig(0x3F8, 1) }, new NoControl(), new VirtualClock()));
        Assert.Contains("already mapped", e.Message, StringComparison.Ordinal);
    }
}
