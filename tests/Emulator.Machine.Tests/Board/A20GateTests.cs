using Emulator.Machine.Config;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Machine.Tests.Board;

/// <summary>
/// The board's A20 line: the 8042's output port (commands 0xDD/0xDF) and port 0x92 bit 1 both drive
/// it, the last write deciding (as QEMU wires them). A real-mode guest checks that FFFF:0610 (linear
/// 0x100600) aliases 0000:0600 exactly while the gate is off.
/// </summary>
public class A20GateTests
{
    // Prints up (gate on, no alias) or down (gate off, alias) on the debug console.
    private static void Check(Assembler a, char up, char down)
    {
        var done = a.CreateLabel();
        a.mov(ax, 0xFFFF);
        a.mov(ds, ax);
        a.cmp(__word_ptr[0x610], 0x1234);
        a.mov(al, (byte)up);
        a.jne(done);
        a.mov(al, (byte)down);
        a.Label(ref done);
        a.@out(0xE9, al);
    }

    [Fact]
    public void KeyboardControllerAndPort92GateAddressBit20()
    {
        string rom = RomBuilder.Write(a =>
        {
            // Leave the reset alias at 0xFFFFxxxx first (its bit 20 is set): jmp far F000:F005.
            a.db(0xEA, 0x05, 0xF0, 0x00, 0xF0);
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(__word_ptr[0x600], 0x1234);
            Check(a, 'o', 'x'); // power-on: A20 enabled
            a.mov(al, 0xDD);
            a.@out(0x64, al); // 8042: disable A20
            Check(a, 'x', 'k');
            a.mov(al, 0x02);
            a.@out(0x92, al); // port 92: enable
            Check(a, 'p', 'x');
            a.xor(al, al);
            a.@out(0x92, al); // port 92: disable
            Check(a, 'x', 'q');
            a.mov(al, 0xDF);
            a.@out(0x64, al); // 8042: enable
            Check(a, 'e', 'x');
            RomBuilder.PowerOff(a);
        });
        try
        {
            var run = GuestRun.Boot(new MachineConfig { BiosPath = rom, Debugcon = SerialTarget.Stdio });
            Assert.True(run.ExitStatus == 0, run.Diagnostics);
            Assert.Equal("okpqe", run.Output);
        }
        finally
        {
            File.Delete(rom);
        }
    }
}
