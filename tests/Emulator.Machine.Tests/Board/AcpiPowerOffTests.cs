using Emulator.Machine.Config;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Machine.Tests.Board;

/// <summary>A guest enters S5 through PM1a_CNT (SLP_TYP 0 | SLP_EN at port 0x604) and the machine powers off with status 0.</summary>
public class AcpiPowerOffTests
{
    [Fact]
    public void SleepTypeZeroWithSlpEnPowersTheMachineOff()
    {
        string rom = RomBuilder.Write(a =>
        {
            var spin = a.CreateLabel();
            a.mov(al, (byte)'S');
            a.@out(0xE9, al);
            a.mov(dx, 0x604);
            a.mov(ax, 1 << 13);
            a.@out(dx, ax);
            a.mov(al, (byte)'!'); // not reached: the write stops the machine
            a.@out(0xE9, al);
            a.cli();
            a.Label(ref spin);
            a.hlt();
            a.jmp(spin);
        });
        try
        {
            var run = GuestRun.Boot(new MachineConfig { BiosPath = rom, Debugcon = SerialTarget.Stdio });
            Assert.True(run.ExitStatus == 0, run.Diagnostics);
            Assert.Equal("S", run.Output);
            Assert.DoesNotContain("halted", run.Diagnostics, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(rom);
        }
    }
}
