using Emulator.Machine.Config;
using Emulator.Machine.Diagnostics;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Machine.Tests.Debugging;

/// <summary>--trace categories and ranges, and --icount determinism.</summary>
public class TraceAndIcountTests
{
    private static string[] TraceDemo(TraceOptions trace)
    {
        string path = Path.Combine(Path.GetTempPath(), $"emu-trace-{Guid.NewGuid():N}.txt");
        try
        {
            var run = GuestRun.Boot(new MachineConfig { Trace = trace with { File = path } });
            Assert.Equal(0, run.ExitStatus);
            return File.ReadAllLines(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ExecTraceLimitedToARange()
    {
        // Only the UD2 and the instruction after it (roms/demo/demo.S).
        string[] lines = TraceDemo(new TraceOptions { Categories = TraceCategories.Exec, Ranges = [(0xF01DF, 0xF01E2)] });
        Assert.Equal(2, lines.Length);
        Assert.EndsWith("00000000000f01df  ud2", lines[0], StringComparison.Ordinal);
        Assert.Contains("00000000000f01e1", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public void AttSyntax()
    {
        string[] lines = TraceDemo(new TraceOptions { Categories = TraceCategories.Exec, Ranges = [(0xFFFFFFF0, 0xFFFFFFF1)], Syntax = Cpu.Diagnostics.DisassemblySyntax.Att });
        Assert.Single(lines);
        Assert.EndsWith("cli", lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public void InterruptAndPageFaultTraces()
    {
        string[] lines = TraceDemo(new TraceOptions { Categories = TraceCategories.Int | TraceCategories.Pf });
        Assert.Contains(lines, l => l.StartsWith("int: exception #UD (0x06) error=0x0 at 0018:f01df", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("pf: exception #PF (0x0e) error=0x0", StringComparison.Ordinal) && l.EndsWith("cr2=40008000", StringComparison.Ordinal));
    }

    [Fact]
    public void PortTraceNamesTheDevice()
    {
        string[] lines = TraceDemo(new TraceOptions { Categories = TraceCategories.Ioport });
        Assert.Contains("ioport: out 0x03f8 size 1 value 0x64 (com1)", lines); // the 'd' of "demo:"
        Assert.Contains(lines, l => l.StartsWith("ioport: in  0x03fd size 1 value 0x60 (com1)", StringComparison.Ordinal)); // LSR: THRE | TEMT
        Assert.Contains("ioport: out 0x8900 size 1 value 0x53 (bochs-shutdown)", lines);
    }

    [Fact]
    public void CpuTraceGivesStatePerBlock()
    {
        string[] lines = TraceDemo(new TraceOptions { Categories = TraceCategories.Cpu, Ranges = [(0xFFFFFFF0, 0x100000000)] });
        Assert.StartsWith("cpu: rip=fff0 cs=f000", lines[0], StringComparison.Ordinal);
        Assert.Contains("real", lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public void UnimplementedInstructionsAreTraced()
    {
        // An unimplemented instruction (XTEST) takes #UD; IVT[6] points at the HLT at F000:F002.
        string rom = RomBuilder.Write(a =>
        {
            var start = a.CreateLabel();
            a.jmp(start); // EB 01: a short jump over the handler
            a.hlt();
            a.Label(ref start);
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(__word_ptr[6 * 4], 0xF002);
            a.mov(__word_ptr[(6 * 4) + 2], 0xF000);
            a.xtest(); // TSX: not implemented
            a.hlt();
        });
        string trace = Path.Combine(Path.GetTempPath(), $"emu-trace-{Guid.NewGuid():N}.txt");
        try
        {
            var run = GuestRun.Boot(new MachineConfig { BiosPath = rom, Trace = new TraceOptions { Categories = TraceCategories.Unimp, File = trace } });
            Assert.Contains("halted with interrupts disabled at f000:f003", run.Diagnostics, StringComparison.Ordinal);
            Assert.Contains("unimplemented instruction Xtest", run.Diagnostics, StringComparison.Ordinal);
            Assert.Contains(File.ReadAllLines(trace), l => l.StartsWith("unimp: unimplemented instruction Xtest", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(rom);
            File.Delete(trace);
        }
    }

    /// <summary>
    /// A guest that spins on RDTSC until 200,000 ticks have passed, counting iterations in ECX: under
    /// host time the count depends on the host; under --icount it is a function of the program.
    /// </summary>
    private static (string Trace, string Output) RunTscLoop(int? icount)
    {
        string rom = RomBuilder.Write(a =>
        {
            var spin = a.CreateLabel();
            a.rdtsc();
            a.mov(ebx, eax);
            a.xor(ecx, ecx);
            a.Label(ref spin);
            a.inc(ecx);
            a.rdtsc();
            a.sub(eax, ebx);
            a.cmp(eax, 200_000);
            a.jb(spin);
            a.mov(dx, 0xE9);
            a.mov(eax, ecx);
            a.@out(dx, al); // the low byte of the count
            RomBuilder.PowerOff(a);
        });
        string trace = Path.Combine(Path.GetTempPath(), $"emu-trace-{Guid.NewGuid():N}.txt");
        try
        {
            var run = GuestRun.Boot(new MachineConfig
            {
                BiosPath = rom,
                IcountShift = icount,
                Debugcon = SerialTarget.Stdio,
                Trace = new TraceOptions { Categories = TraceCategories.Exec | TraceCategories.Cpu, File = trace },
            });
            Assert.Equal(0, run.ExitStatus);
            return (File.ReadAllText(trace), run.Output);
        }
        finally
        {
            File.Delete(rom);
            File.Delete(trace);
        }
    }

    [Fact]
    public void IcountRunsAreIdenticalInstructionForInstruction()
    {
        var first = RunTscLoop(icount: 0);
        var second = RunTscLoop(icount: 0);
        Assert.True(first.Trace.Length > 100_000, "the loop ran long enough to be traced");
        Assert.Equal(first.Trace, second.Trace);
        Assert.Equal(first.Output, second.Output);
    }

    [Fact]
    public void IcountShiftScalesVirtualTime()
    {
        // 2^3 ns per instruction: the 200,000-tick wait takes an eighth of the instructions.
        int Lines(string trace) => trace.Split('\n').Count(l => l.Contains("rdtsc", StringComparison.Ordinal));
        int slow = Lines(RunTscLoop(icount: 0).Trace);
        int fast = Lines(RunTscLoop(icount: 3).Trace);
        Assert.InRange(slow / (double)fast, 7.5, 8.5);
    }
}
