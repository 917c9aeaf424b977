using Emulator.Machine.Config;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Machine.Tests.Board;

/// <summary>A guest talks to the 8042: the self-test answer, then a reset by the pulse-reset command 0xFE.</summary>
public class KeyboardControllerTests
{
    [Fact]
    public void GuestSelfTestsThe8042AndResetsThroughIt()
    {
        string rom = RomBuilder.Write(a =>
        {
            var second = a.CreateLabel();
            var wait = a.CreateLabel();
            var bad = a.CreateLabel();
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.cmp(__word_ptr[0x500], 0x1234);
            a.je(second);
            a.mov(__word_ptr[0x500], 0x1234);
            a.mov(al, 0xAA);
            a.@out(0x64, al); // controller self-test
            a.Label(ref wait);
            a.@in(al, 0x64);
            a.test(al, 1);
            a.jz(wait);
            a.@in(al, 0x60);
            a.cmp(al, 0x55);
            a.jne(bad);
            a.mov(al, (byte)'K');
            a.@out(0xE9, al);
            a.mov(al, 0xFE);
            a.@out(0x64, al); // pulse the reset line
            a.hlt();
            a.Label(ref bad);
            a.mov(al, (byte)'?');
            a.@out(0xE9, al);
            a.Label(ref second);
            a.mov(al, (byte)'R');
            a.@out(0xE9, al);
            RomBuilder.PowerOff(a);
        });
        try
        {
            var run = GuestRun.Boot(new MachineConfig { BiosPath = rom, Debugcon = SerialTarget.Stdio });
            Assert.True(run.ExitStatus == 0, run.Diagnostics);
            Assert.Equal("KR", run.Output);
        }
        finally
        {
            File.Delete(rom);
        }
    }
}
