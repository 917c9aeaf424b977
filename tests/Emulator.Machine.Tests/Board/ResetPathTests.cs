using Emulator.Machine.Config;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Machine.Tests.Board;

/// <summary>
/// Every way a PC guest resets itself boots the firmware again (RAM survives, as on a PC), and
/// under --no-reboot ends the machine with status 0 instead (QEMU's -no-reboot): the PIIX reset
/// control register at 0xCF9 (also the FADT's ACPI reset register, value 6), the 8042's reset
/// line (command 0xFE), port 0x92's fast reset, and a triple fault. Linux's <c>reboot -f</c> tries
/// the ACPI reset register, then the 8042.
/// </summary>
public class ResetPathTests
{
    public enum Method
    {
        AcpiResetRegister,
        Keyboard8042,
        Port92,
        TripleFault,
    }

    private static string ResettingRom(Method method) => RomBuilder.Write(a =>
    {
        var second = a.CreateLabel();
        a.xor(ax, ax);
        a.mov(ds, ax);
        a.cmp(__word_ptr[0x500], 0x4321);
        a.je(second);
        a.mov(__word_ptr[0x500], 0x4321);
        a.mov(al, (byte)'1');
        a.@out(0xE9, al);
        switch (method)
        {
            case Method.AcpiResetRegister:
                a.mov(dx, 0xCF9);
                a.mov(al, 0x06); // FADT RESET_REG / RESET_VALUE: system reset with CPU reset
                a.@out(dx, al);
                break;
            case Method.Keyboard8042:
                a.mov(al, 0xFE); // pulse output port bit 0: the CPU's reset line
                a.@out(0x64, al);
                break;
            case Method.Port92:
                a.mov(al, 0x01);
                a.@out(0x92, al);
                break;
            case Method.TripleFault:
                a.push(0);
                a.push(0);
                a.push(0);
                a.mov(bx, sp);
                a.lidt(__[bx]); // IDT limit 0: INT3 -> #GP -> #DF -> triple fault
                a.int3();
                break;
        }

        a.cli();
        a.hlt();
        a.Label(ref second);
        a.mov(al, (byte)'2');
        a.@out(0xE9, al);
        RomBuilder.PowerOff(a);
    });

    [Theory]
    [InlineData(Method.AcpiResetRegister)]
    [InlineData(Method.Keyboard8042)]
    [InlineData(Method.Port92)]
    [InlineData(Method.TripleFault)]
    public void TheGuestBootsAgain(Method method)
    {
        string rom = ResettingRom(method);
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

    [Theory]
    [InlineData(Method.AcpiResetRegister)]
    [InlineData(Method.Keyboard8042)]
    [InlineData(Method.Port92)]
    [InlineData(Method.TripleFault)]
    public void NoRebootExitsWithStatusZero(Method method)
    {
        string rom = ResettingRom(method);
        try
        {
            var run = GuestRun.Boot(new MachineConfig { BiosPath = rom, Debugcon = SerialTarget.Stdio, NoReboot = true });
            Assert.True(run.ExitStatus == 0, run.Diagnostics);
            Assert.Equal("1", run.Output);
            Assert.Contains("--no-reboot", run.Diagnostics, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(rom);
        }
    }
}
