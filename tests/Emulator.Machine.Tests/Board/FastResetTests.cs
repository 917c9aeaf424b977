using Emulator.Machine.Config;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Machine.Tests.Board;

/// <summary>A guest that resets itself through port 0x92 boots again from the reset vector (RAM survives a reset, as on a PC).</summary>
public class FastResetTests
{
    [Fact]
    public void Port92ResetRestartsTheFirmware()
    {
        string rom = RomBuilder.Write(a =>
        {
            var second = a.CreateLabel();
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.cmp(__word_ptr[0x500], 0x1234);
            a.je(second);
            a.mov(__word_ptr[0x500], 0x1234);
            a.mov(al, (byte)'1');
            a.@out(0xE9, al);
            a.mov(al, 0x01);
            a.@out(0x92, al); // fast reset
            a.hlt();
            a.Label(ref second);
            a.mov(al, (byte)'2');
            a.@out(0xE9, al);
            RomBuilder.PowerOff(a);
        });
        try
        {
            var run = GuestRun.Boot(new MachineConfig { BiosPath = rom, Debugcon = SerialTarget.Stdio });
            Assert.True(run.ExitStatus == 0, run.Diagnostics);
            Assert.Equal("12", run.Output);
        }
        finally
        {
            File.Delete(rom);
        }
    }
}
