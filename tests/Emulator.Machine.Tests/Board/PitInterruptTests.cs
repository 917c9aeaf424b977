using Emulator.Machine.Config;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Machine.Tests.Board;

/// <summary>
/// The PIT's counter 0 through the PIC's IRQ 0 to the CPU: a real-mode guest programs the 8254 in
/// mode 2 (rate generator) for 1 ms ticks (count 1193 at 1.193182 MHz, 8254 datasheet), unmasks
/// IRQ 0 at the 8259A (ICW1-ICW4, OCW1), counts ten ticks in its handler while it sleeps in HLT,
/// then reports the count on the debug console and powers off.
/// </summary>
public class PitInterruptTests
{
    private static string TimerRom() => RomBuilder.Write(a =>
    {
        var handler = a.CreateLabel();
        var wait = a.CreateLabel();
        var start = a.CreateLabel();
        a.jmp(start);
        a.Label(ref handler);               // IRQ 0 handler: count a tick, EOI (OCW2 0x20)
        a.inc(__word_ptr[0x600]);
        a.push(ax);
        a.mov(al, 0x20);
        a.@out(0x20, al);
        a.pop(ax);
        a.iret();
        a.Label(ref start);
        a.xor(ax, ax);
        a.mov(ds, ax);
        a.mov(ss, ax);
        a.mov(sp, 0x7000);
        a.mov(__word_ptr[0x600], 0);
        a.mov(__word_ptr[0x08 * 4], 0xF002);  // IVT[8] = F000:F002 (the handler, after the 2-byte jump)
        a.mov(__word_ptr[(0x08 * 4) + 2], 0xF000);
        // 8259A master: ICW1 (edge, cascade, ICW4), ICW2 base 0x08, ICW3 slave on IRQ 2, ICW4 8086 mode.
        a.mov(al, 0x11); a.@out(0x20, al);
        a.mov(al, 0x08); a.@out(0x21, al);
        a.mov(al, 0x04); a.@out(0x21, al);
        a.mov(al, 0x01); a.@out(0x21, al);
        a.mov(al, 0xFE); a.@out(0x21, al);   // OCW1: only IRQ 0
        // 8254: counter 0, LSB then MSB, mode 2, binary; count 1193.
        a.mov(al, 0x34); a.@out(0x43, al);
        a.mov(al, 1193 & 0xFF); a.@out(0x40, al);
        a.mov(al, 1193 >> 8); a.@out(0x40, al);
        a.sti();
        a.Label(ref wait);
        a.hlt();
        a.cmp(__word_ptr[0x600], 10);
        a.jb(wait);
        a.cli();
        a.mov(ax, __word_ptr[0x600]);
        a.@out(0xE9, al);
        RomBuilder.PowerOff(a);
    });

    [Theory]
    [InlineData(null)]
    [InlineData(0)]
    public void TenTimerTicksWakeAHaltedGuest(int? icount)
    {
        string rom = TimerRom();
        try
        {
            var run = GuestRun.Boot(new MachineConfig { BiosPath = rom, Debugcon = SerialTarget.Stdio, IcountShift = icount });
            Assert.True(run.ExitStatus == 0, run.Diagnostics);
            Assert.Equal("\n", run.Output); // ten ticks: byte 10
        }
        finally
        {
            File.Delete(rom);
        }
    }
}
