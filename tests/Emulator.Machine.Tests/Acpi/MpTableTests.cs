using System.Buffers.Binary;
using System.Text;
using Emulator.Machine.Acpi;
using Xunit;

namespace Emulator.Machine.Tests.Acpi;

/// <summary>The MP tables as an OS finds and reads them (Intel MultiProcessor Specification 1.4, chapter 4).</summary>
public class MpTableTests
{
    private static readonly byte[] s_image = MpTable.Build(0x663, 0x1234);

    private static byte Sum(ReadOnlySpan<byte> bytes)
    {
        byte sum = 0;
        foreach (byte b in bytes)
        {
            sum += b;
        }

        return sum;
    }

    [Fact]
    public void FloatingPointerIsFoundOnA16ByteBoundaryInTheBiosArea()
    {
        Assert.Equal(0u, MpTable.FloatingPointerAddress % 16);
        Assert.InRange(MpTable.FloatingPointerAddress, 0xF0000u, 0xFFFF0u);
        var pointer = s_image.AsSpan(0, 16);
        Assert.Equal("_MP_", Encoding.ASCII.GetString(pointer[..4]));
        Assert.Equal(0, Sum(pointer));
        Assert.Equal(1, pointer[8]);
        Assert.Equal(4, pointer[9]);
        Assert.Equal(0, pointer[11]); // feature byte 1: a configuration table follows
        Assert.Equal(MpTable.ConfigTableAddress, BinaryPrimitives.ReadUInt32LittleEndian(pointer[4..]));
    }

    /// <summary>The configuration table's entries, each as its bytes.</summary>
    private static List<byte[]> Entries()
    {
        var config = s_image.AsSpan((int)(MpTable.ConfigTableAddress - MpTable.FloatingPointerAddress));
        Assert.Equal("PCMP", Encoding.ASCII.GetString(config[..4]));
        int length = BinaryPrimitives.ReadUInt16LittleEndian(config[4..]);
        Assert.Equal(0, Sum(config[..length]));
        Assert.Equal(0xFEE00000u, BinaryPrimitives.ReadUInt32LittleEndian(config[36..]));
        int count = BinaryPrimitives.ReadUInt16LittleEndian(config[34..]);
        var entries = new List<byte[]>();
        int k = 44;
        for (int n = 0; n < count; n++)
        {
            int size = config[k] == 0 ? 20 : 8; // table 4-3: processor entries are 20 bytes, the rest 8
            entries.Add(config.Slice(k, size).ToArray());
            k += size;
        }

        Assert.Equal(length, k);
        return entries;
    }

    [Fact]
    public void ConfigurationTableListsTheCpuBusAndIoApic()
    {
        var entries = Entries();
        var cpu = Assert.Single(entries, e => e[0] == 0);
        Assert.Equal(0, cpu[1]); // APIC ID
        Assert.Equal(3, cpu[3]); // enabled, bootstrap processor
        Assert.Equal(0x663u, BinaryPrimitives.ReadUInt32LittleEndian(cpu.AsSpan(4)));
        Assert.Equal(0x1234u, BinaryPrimitives.ReadUInt32LittleEndian(cpu.AsSpan(8)));
        var bus = Assert.Single(entries, e => e[0] == 1);
        Assert.Equal("ISA   ", Encoding.ASCII.GetString(bus, 2, 6));
        var ioapic = Assert.Single(entries, e => e[0] == 2);
        Assert.Equal(1, ioapic[1]);
        Assert.Equal(1, ioapic[3] & 1);
        Assert.Equal(0xFEC00000u, BinaryPrimitives.ReadUInt32LittleEndian(ioapic.AsSpan(4)));
    }

    [Fact]
    public void IsaIrqsReachTheIoApicPinsLikeTheMadtSays()
    {
        // (type, flags, source IRQ, pin) of every I/O interrupt entry, all from bus 0 to I/O APIC 1.
        var routes = Entries().Where(e => e[0] == 3).ToList();
        Assert.All(routes, e => Assert.Equal((0, 1), (e[4], e[6])));
        var byIrq = routes.Where(e => e[1] == 0).ToDictionary(e => e[5], e => (Flags: BinaryPrimitives.ReadUInt16LittleEndian(e.AsSpan(2)), Pin: e[7]));
        Assert.Equal(2, byIrq[0].Pin);
        Assert.False(byIrq.ContainsKey(2));
        Assert.Equal(9, byIrq[9].Pin);
        Assert.Equal(0b1101, byIrq[9].Flags); // level, active high
        Assert.Equal(15, byIrq.Count);
        Assert.All(byIrq.Where(r => r.Key is not (0 or 9)), r => Assert.Equal((0, (int)r.Key), (r.Value.Flags, (int)r.Value.Pin)));
        var extint = Assert.Single(routes, e => e[1] == 3);
        Assert.Equal(0, extint[7]);

        var local = Entries().Where(e => e[0] == 4).Select(e => (Type: e[1], Lint: e[7])).ToList();
        Assert.Equal([(3, 0), (1, 1)], local.Select(l => ((int)l.Type, (int)l.Lint)));
    }
}
