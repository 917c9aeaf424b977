using Emulator.Machine.Config;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Machine.Tests.Board;

/// <summary>
/// The local APIC as the CPU's interrupt source: a real-mode guest masks the whole 8259A, switches the
/// APIC to x2APIC mode through IA32_APIC_BASE, enables it (SVR), runs the timer periodic at 1 ms on
/// vector 0x40 (x2APIC MSRs 0x832, 0x83E, 0x838; SDM Vol. 3A 10.5.4 and 10.12) and counts ten ticks
/// while it sleeps in HLT, sending EOI through MSR 0x80B.
/// </summary>
public class ApicTimerTests
{
    private static string TimerRom() => RomBuilder.Write(a =>
    {
        var handler = a.CreateLabel();
        var wait = a.CreateLabel();
        var start = a.CreateLabel();
        a.jmp(start);
        a.Label(ref handler);
        a.inc(__word_ptr[0x600]);
        a.push(eax);
        a.push(ecx);
        a.push(edx);
        a.mov(ecx, 0x80B); // EOI
        a.xor(eax, eax);
        a.xor(edx, edx);
        a.wrmsr();
        a.pop(edx);
        a.pop(ecx);
        a.pop(eax);
        a.iret();
        a.Label(ref start);
        a.xor(ax, ax);
        a.mov(ds, ax);
        a.mov(ss, ax);
        a.mov(sp, 0x7000);
        a.mov(__word_ptr[0x600], 0);
        a.mov(__word_ptr[0x40 * 4], 0xF002);
        a.mov(__word_ptr[(0x40 * 4) + 2], 0xF000);
        a.mov(al, 0xFF);
        a.@out(0x21, al); // every 8259A input masked
        a.@out(0xA1, al);
        a.mov(ecx, 0x1B);
        a.rdmsr();
        a.or(eax, 0xC00); // EN | EXTD
        a.wrmsr();
        void Msr(uint index, uint value)
        {
            a.mov(ecx, index);
            a.mov(eax, value);
            a.xor(edx, edx);
            a.wrmsr();
        }

        Msr(0x80F, 0x1FF); // SVR: software enable
        Msr(0x83E, 0xB); // divide by 1
        Msr(0x832, 0x20040); // LVT timer: periodic, vector 0x40
        Msr(0x838, 1_000_000); // 1 ms at the 1 GHz bus clock
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
    public void TenApicTimerTicksWakeAHaltedGuestWithThePicMasked(int? icount)
    {
        string rom = TimerRom();
        try
        {
            var run = GuestRun.Boot(new MachineConfig { BiosPath = rom, Debugcon = SerialTarget.Stdio, IcountShift = icount, X2Apic = true });
            Assert.True(run.ExitStatus == 0, run.Diagnostics);

            // In virtual time (icount) the guest sees exactly ten ticks. In real time a late wake
            // from HLT (a loaded host) can leave the next periodic tick due as soon as the tenth's
            // EOI, and it is taken at the block boundary before the guest's CLI: at least ten.
            Assert.Equal(1, run.Output.Length);
            if (icount is null)
            {
                Assert.InRange(run.Output[0], '\n', (char)20);
            }
            else
            {
                Assert.Equal("\n", run.Output);
            }
        }
        finally
        {
            File.Delete(rom);
        }
    }
}
