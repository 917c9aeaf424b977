using Emulator.Cpu.Diagnostics;
using Emulator.TestKit;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Diagnostics;

/// <summary>The flight recorder: a ring tracer keeps exactly the last N instructions, oldest first.</summary>
public class InstructionTracerRingTests
{
    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void TheRingKeepsTheLastInstructionsInOrder(Engine engine)
    {
        using var m = new TestMachine().LongMode().Load(a =>
        {
            var loop = a.CreateLabel();
            a.mov(ecx, 10);
            a.Label(ref loop);
            a.add(eax, 3);
            a.dec(ecx);
            a.jnz(loop);
            a.mov(ebx, 7);
            a.hlt();
        });
        var ring = InstructionTracer.Ring(5);
        m.Cpu.Tracer = ring;
        m.RunToHlt(engine);

        var lines = ring.RecentLines();
        Assert.Equal(5, lines.Count);
        // ... add, dec, jnz (the last pass), mov ebx, hlt.
        string[] expected = ["add", "dec", "jne", "mov", "hlt"];
        for (int k = 0; k < 5; k++)
        {
            Assert.Contains($"  {expected[k]} ", lines[k] + " ", StringComparison.Ordinal);
        }

        Assert.Equal(30UL, m.Reg(0));
    }

    [Fact]
    public void ARingThatHasSeenFewerInstructionsThanItHoldsReturnsWhatItSaw()
    {
        using var m = new TestMachine().LongMode().Load(a =>
        {
            a.nop();
            a.hlt();
        });
        var ring = InstructionTracer.Ring(100);
        m.Cpu.Tracer = ring;
        m.RunToHlt();
        Assert.Equal(2, ring.RecentLines().Count);
    }
}
