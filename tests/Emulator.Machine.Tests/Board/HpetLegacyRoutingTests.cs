using Emulator.Devices.Time;
using Emulator.Machine.Board;
using Emulator.Machine.Config;
using Xunit;

namespace Emulator.Machine.Tests.Board;

/// <summary>
/// The board's side of the HPET's legacy replacement route (HPET spec 2.3.7, table 5): while
/// LEG_RT_CNF is set, timer 0 owns IRQ 0 and timer 1 owns IRQ 8, and the 8254's OUT0 and the RTC's
/// IRQ reach neither the 8259A nor the I/O APIC; clearing it gives them back. Driven through ports
/// and MMIO on a hand-stepped clock.
/// </summary>
public class HpetLegacyRoutingTests
{
    private const ulong Hpet = 0xFED0_0000;

    private sealed class NoControl : IMachineControl
    {
        public void PowerOff()
        {
        }

        public void Exit(int status)
        {
        }

        public void RequestReset()
        {
        }
    }

    [Fact]
    public void LegacyRouteTakesIrq0FromThePitAndIrq8FromTheRtc()
    {
        ulong now = 0;
        var clock = new VirtualClock(() => now);
        using var board = new PcBoard(new MachineConfig { MemoryBytes = 16 << 20 }, new NoControl(), clock);
        void RunTo(ulong time)
        {
            while (clock.NextDeadline is { } next && next <= time)
            {
                now = Math.Max(now, next);
                clock.RunDue();
            }

            now = time;
            clock.RunDue();
        }

        void Out(ushort port, byte value) => board.Ports.Write(port, 1, value);
        byte MasterIrr()
        {
            Out(0x20, 0x0A); // OCW3: read IRR
            return (byte)board.Ports.Read(0x20, 1);
        }

        // 8259A master: edge-triggered, base 0x08, everything unmasked.
        Out(0x20, 0x11);
        Out(0x21, 0x08);
        Out(0x21, 0x04);
        Out(0x21, 0x01);
        Out(0x21, 0x00);

        // 8254 counter 0 in mode 2 (1 ms): OUT0 is high between its one-clock low pulses.
        Out(0x43, 0x34);
        Out(0x40, 1193 & 0xFF);
        Out(0x40, 1193 >> 8);
        // RTC periodic interrupt at 1024 Hz: its IRQ 8 stays high until register C is read.
        Out(0x70, 0x0B);
        Out(0x71, 0x42);
        RunTo(3_000_000);
        Assert.True(board.Pic.Inputs[0].IsRaised);
        Assert.True(board.Pic.Inputs[8].IsRaised);

        // Legacy route on (counter still halted): both inputs go quiet and stay so.
        board.Memory.Write(Hpet + 0x10, 8, 2);
        Assert.False(board.Pic.Inputs[0].IsRaised);
        Assert.False(board.Pic.Inputs[8].IsRaised);
        Out(0x20, 0x20); // EOI whatever is pending, then look at IRR afresh
        Assert.Equal(1, MasterIrr() & 1); // the PIT's earlier edge is still latched
        board.Pic.Acknowledge();
        Out(0x20, 0x20);
        RunTo(6_000_000);
        Assert.False(board.Pic.Inputs[0].IsRaised);
        Assert.Equal(0, MasterIrr() & 1); // no PIT ticks through

        // HPET timer 0, periodic every 1 ms, interrupts on: its edges arrive on IRQ 0.
        board.Memory.Write(Hpet + 0x100, 8, (1 << 6) | (1 << 3) | (1 << 2));
        board.Memory.Write(Hpet + 0x108, 8, 10_000);
        board.Memory.Write(Hpet + 0x10, 8, 3);
        RunTo(7_500_000);
        Assert.Equal(1, MasterIrr() & 1);

        // Route off: the 8254 and the RTC have their lines back at their present levels.
        board.Memory.Write(Hpet + 0x10, 8, 1);
        Assert.True(board.Pic.Inputs[0].IsRaised);
        Assert.True(board.Pic.Inputs[8].IsRaised);
    }
}
