using System.Runtime;
using Emulator.Devices.Interrupts;
using Emulator.Devices.Pit8254;
using Emulator.Devices.Time;
using Xunit;

namespace Emulator.Devices.Tests.Pit8254;

/// <summary>
/// The first guest access to the PIT must not wait for .NET to compile the device code: Linux's
/// quick_pit_calibrate starts counter 2 and reads port 0x42 for the very first time while the MSB
/// it expects lasts only 214.5 us, and compiling on that read stalled the vCPU for ~450 us. Counted
/// with the JIT's per-thread compiled-method count rather than timed, so host load cannot flake it.
/// </summary>
public class PitWarmUpTests
{
    [Fact]
    public void LinuxCalibrationSequenceCompilesNothingOnAFreshPit()
    {
        ulong now = 0;
        var clock = new VirtualClock(() => now);
        var pit = new Devices.Pit8254.Pit8254(clock, new InterruptLine("irq0"));
        var portB = new SystemControlPortB(pit, clock);
        _ = clock.Nanoseconds; // compiles this test's own clock lambda outside the count

        long before = JitInfo.GetCompiledMethodCount(currentThread: true);
        portB.Write(0, 1, (portB.Read(0, 1) & ~0x02UL) | SystemControlPortB.Gate2);
        pit.Write(Devices.Pit8254.Pit8254.ControlWord, 1, 0xB0);
        pit.Write(Devices.Pit8254.Pit8254.Counter2, 1, 0xFF);
        pit.Write(Devices.Pit8254.Pit8254.Counter2, 1, 0xFF);
        now += 1_000;
        ulong lsb = pit.Read(Devices.Pit8254.Pit8254.Counter2, 1);
        ulong msb = pit.Read(Devices.Pit8254.Pit8254.Counter2, 1);
        ulong status = portB.Read(0, 1);
        long after = JitInfo.GetCompiledMethodCount(currentThread: true);

        Assert.Equal(0xFFUL, msb); // one PIT clock (838 ns) into a count of 0xFFFF
        Assert.Equal(0xFEUL, lsb);
        Assert.Equal(0UL, status & SystemControlPortB.Out2);
        Assert.Equal(before, after);
    }
}
