using System.Text;
using Emulator.Machine.Config;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Machine.Tests.Board;

/// <summary>
/// The interrupt path end to end: a real-mode guest programs the 8259A pair and COM1, halts with
/// IF = 1, and a byte arriving on the serial line wakes it through IRQ 4 (vector 0x0C).
/// </summary>
public class PicInterruptTests
{
    private const byte ReadyCode = 0x55;

    /// <summary>ICW1-ICW4 as a PC BIOS writes them (8259A datasheet, "Initialization Command Words").</summary>
    private static void InitPic(Assembler a, byte masterImr, byte slaveImr)
    {
        byte[] master = [0x11, 0x08, 0x04, 0x01, masterImr];
        byte[] slave = [0x11, 0x70, 0x02, 0x01, slaveImr];
        for (int i = 0; i < 5; i++)
        {
            a.mov(al, master[i]);
            a.@out(i == 0 ? (byte)0x20 : (byte)0x21, al);
            a.mov(al, slave[i]);
            a.@out(i == 0 ? (byte)0xA0 : (byte)0xA1, al);
        }
    }

    [Fact]
    public void SerialInputWakesAHaltedGuestThroughIrq4AndTheHandlerEchoesIt()
    {
        string rom = RomBuilder.Write(a =>
        {
            var start = a.CreateLabel();
            var wait = a.CreateLabel();
            a.jmp(start); // EB 2x: a short jump over the handler, which sits at F000:F002
            // IRQ 4 handler: read RBR, echo it to THR, note it, EOI (OCW2 non-specific), IRET.
            a.push(ax);
            a.push(dx);
            a.mov(dx, 0x3F8);
            a.@in(al, dx);
            a.@out(dx, al);
            a.mov(__byte_ptr[0x500], 1);
            a.mov(al, 0x20);
            a.@out(0x20, al);
            a.pop(dx);
            a.pop(ax);
            a.iret();
            a.Label(ref start);
            a.cli();
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(ss, ax);
            a.mov(sp, 0x7000);
            a.mov(__byte_ptr[0x500], 0);
            a.mov(__word_ptr[0x0C * 4], 0xF002);
            a.mov(__word_ptr[(0x0C * 4) + 2], 0xF000);
            InitPic(a, masterImr: 0xEF, slaveImr: 0xFF); // only IRQ 4 open
            a.mov(dx, 0x3FC);
            a.mov(al, 0x08); // MCR OUT2: the PC's gate of the UART's interrupt output
            a.@out(dx, al);
            a.mov(dx, 0x3F9);
            a.mov(al, 0x01); // IER: received data available
            a.@out(dx, al);
            a.mov(al, ReadyCode);
            a.@out(0x80, al);
            a.sti();
            a.Label(ref wait);
            a.hlt();
            a.cmp(__byte_ptr[0x500], 0);
            a.je(wait);
            RomBuilder.PowerOff(a);
        });
        try
        {
            var stdout = new MemoryStream();
            var diagnostics = new StringWriter();
            using var vm = new VirtualMachine(new MachineConfig { BiosPath = rom, MaxInstructions = 1_000_000 }, stdout, diagnostics);
            using var ready = new ManualResetEventSlim();
            vm.Board.Post.Observer = code =>
            {
                if (code == ReadyCode)
                {
                    ready.Set();
                }
            };
            int status = -1;
            var runner = new Thread(() => status = vm.Run());
            runner.Start();
            Assert.True(ready.Wait(TimeSpan.FromSeconds(10)), "the guest never got ready");
            // Give the guest time to reach HLT, so the byte has to wake it.
            Thread.Sleep(100);
            vm.SendSerialInput((byte)'x');
            if (!runner.Join(TimeSpan.FromSeconds(10)))
            {
                vm.Stop(99);
                runner.Join();
                Assert.Fail($"the guest did not power off; diagnostics: {diagnostics}");
            }

            Assert.Equal(0, status);
            Assert.Equal("x", Encoding.ASCII.GetString(stdout.ToArray()));
            Assert.DoesNotContain("halted", diagnostics.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(rom);
        }
    }

    [Fact]
    public void HaltWithInterruptsEnabledButEveryIrqMaskedStops()
    {
        string rom = RomBuilder.Write(a =>
        {
            InitPic(a, masterImr: 0xFF, slaveImr: 0xFF);
            a.sti();
            a.hlt();
        });
        try
        {
            var run = GuestRun.Boot(new MachineConfig { BiosPath = rom });
            Assert.Equal(1, run.ExitStatus);
            Assert.Contains("every IRQ masked in the interrupt controller; nothing can wake it", run.Diagnostics, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(rom);
        }
    }

    [Fact]
    public void HaltWithInterruptsEnabledOnAnUnprogrammedPicStops()
    {
        // Power-on IMR is 0xFF (see Pic8259.Reset), so nothing can reach INTR.
        string rom = RomBuilder.Write(a =>
        {
            a.sti();
            a.hlt();
        });
        try
        {
            var run = GuestRun.Boot(new MachineConfig { BiosPath = rom });
            Assert.Equal(1, run.ExitStatus);
            Assert.Contains("nothing can wake it", run.Diagnostics, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(rom);
        }
    }
}
