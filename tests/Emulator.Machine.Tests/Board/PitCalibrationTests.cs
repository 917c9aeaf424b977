using Emulator.Machine.Config;
using Iced.Intel;
using Xunit;
using Xunit.Abstractions;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Machine.Tests.Board;

/// <summary>
/// Linux's fast TSC calibration (arch/x86/kernel/tsc.c, quick_pit_calibrate and pit_expect_msb):
/// counter 2 of the 8254 in mode 0 from 0xFFFF, GATE raised through port 0x61, and the guest polls
/// the count's MSB through port 0x42 (LSB then MSB), reading the TSC after every pair that still
/// shows the expected MSB. Linux needs more than five pairs per MSB value (256 PIT clocks, 214.5 us)
/// and a last-pair TSC delta small against the elapsed TSC. A real-mode guest runs the same loop
/// for twelve MSB values and leaves each value's pair count, last delta and TSC in memory; icount
/// time makes the figures exact, so the checks are the PIT and the TSC agreeing, not host speed.
/// </summary>
public class PitCalibrationTests
{
    private const int Values = 12;
    private const ushort Results = 0x1000;

    private readonly ITestOutputHelper _output;

    public PitCalibrationTests(ITestOutputHelper output) => _output = output;

    private static string CalibrationRom() => RomBuilder.Write(a =>
    {
        var next = a.CreateLabel();
        var poll = a.CreateLabel();
        var done = a.CreateLabel();
        a.xor(ax, ax);
        a.mov(ds, ax);
        a.mov(ss, ax);
        a.mov(sp, 0x7000);
        // GATE2 high, speaker off; counter 2 LSB/MSB, mode 0, binary; count 0xFFFF.
        a.@in(al, 0x61);
        a.and(al, 0xFD);
        a.or(al, 0x01);
        a.@out(0x61, al);
        a.mov(al, 0xB0);
        a.@out(0x43, al);
        a.mov(al, 0xFF);
        a.@out(0x42, al);
        a.@out(0x42, al);
        a.@in(al, 0x42);             // pit_verify_msb(0): one read pair as a delay
        a.@in(al, 0x42);
        a.mov(bx, Results);
        a.mov(cl, 0xFF);             // the expected MSB
        a.Label(ref next);
        a.xor(esi, esi);             // count
        a.xor(edi, edi);             // prev_tsc (low half)
        a.xor(ebp, ebp);             // tsc (low half)
        a.Label(ref poll);
        a.cmp(esi, 50_000);
        a.jae(done);
        a.@in(al, 0x42);
        a.@in(al, 0x42);
        a.cmp(al, cl);
        a.jne(done);
        a.mov(edi, ebp);
        a.rdtsc();
        a.mov(ebp, eax);
        a.inc(esi);
        a.jmp(poll);
        a.Label(ref done);
        a.rdtsc();
        a.sub(eax, edi);             // delta = get_cycles() - prev_tsc
        a.mov(__dword_ptr[bx], esi);
        a.mov(__dword_ptr[bx + 4], eax);
        a.mov(__dword_ptr[bx + 8], ebp);
        a.add(bx, 12);
        a.dec(cl);
        a.cmp(cl, 0xFF - Values);
        a.jne(next);
        RomBuilder.PowerOff(a);
    });

    [Theory]
    [InlineData(Accelerator.Interpreter)]
    [InlineData(Accelerator.Jit)]
    public void FastPitCalibrationLoopSeesEveryMsb(Accelerator accel)
    {
        string rom = CalibrationRom();
        try
        {
            // icount (1 ns per instruction) makes PIT and TSC time deterministic: no host-load flakes.
            var stdout = new MemoryStream();
            var diagnostics = new StringWriter();
            using var vm = new VirtualMachine(new MachineConfig { BiosPath = rom, Accel = accel, IcountShift = 0, MaxInstructions = 50_000_000 }, stdout, diagnostics);
            int status = vm.Run();
            Assert.True(status == 0, diagnostics.ToString());
            var counts = new uint[Values];
            var deltas = new uint[Values];
            var tscs = new uint[Values];
            for (int i = 0; i < Values; i++)
            {
                counts[i] = (uint)vm.Board.Memory.Read(Results + ((ulong)i * 12), 4);
                deltas[i] = (uint)vm.Board.Memory.Read(Results + ((ulong)i * 12) + 4, 4);
                tscs[i] = (uint)vm.Board.Memory.Read(Results + ((ulong)i * 12) + 8, 4);
                _output.WriteLine($"msb {0xFF - i:x2}: pairs {counts[i]} last delta {deltas[i]} tsc {tscs[i]}");
            }

            for (int i = 0; i < Values; i++)
            {
                // pit_expect_msb: more than five read pairs saw this MSB, and the loop limit was not hit.
                Assert.InRange(counts[i], 6u, 49_999u);
                if (i > 0)
                {
                    // One MSB value lasts 256 PIT clocks (214.5 us): the 1 GHz TSC must agree.
                    Assert.InRange(tscs[i] - tscs[i - 1], 200_000u, 230_000u);
                }
            }

            // quick_pit_calibrate's exit test: d1 + d2 below 1/2048 of the TSC span.
            Assert.True((ulong)deltas[0] + deltas[Values - 1] < (tscs[Values - 1] - tscs[0]) >> 11, "last read-pair deltas too large against the span");
        }
        finally
        {
            File.Delete(rom);
        }
    }
}
