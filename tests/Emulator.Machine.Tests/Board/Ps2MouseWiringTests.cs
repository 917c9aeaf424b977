using Emulator.Machine.Config;
using Xunit;

namespace Emulator.Machine.Tests.Board;

/// <summary>
/// The board's PS/2 mouse: behind the 8042 at 0x60/0x64, its bytes raise ISA IRQ 12 on the slave
/// 8259A's input 4 and on I/O APIC pin 12 (the DSDT's MOU device says IRQ 12), as on QEMU's pc.
/// </summary>
public class Ps2MouseWiringTests
{
    [Fact]
    public void MouseAnswersRaiseIrq12()
    {
        using var vm = new VirtualMachine(new MachineConfig { MemoryBytes = 2UL << 20 }, Stream.Null, TextWriter.Null);
        var ports = vm.Board.Ports;
        ports.Write(0x64, 1, 0x60);
        ports.Write(0x60, 1, 0x47); // command byte: keyboard and aux interrupts, translation
        ports.Write(0x64, 1, 0xD4);
        ports.Write(0x60, 1, 0xFF); // reset the mouse

        Assert.True(vm.Board.Pic.Inputs[12].IsRaised);
        Assert.False(vm.Board.Pic.Inputs[1].IsRaised);
        var bytes = new List<uint>();
        while ((ports.Read(0x64, 1) & 0x21) == 0x21)
        {
            bytes.Add(ports.Read(0x60, 1));
        }

        Assert.Equal([0xFAu, 0xAAu, 0x00u], bytes);
        Assert.False(vm.Board.Pic.Inputs[12].IsRaised);
    }
}
