using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Decode;

/// <summary>
/// Where the block builder ends a block. HLT is "next" flow to Iced, but the bytes after it are
/// usually zeroed RAM that never runs: a block must end at HLT so nothing past it is decoded or
/// compiled, and execution resumed after HLT starts a block of its own.
/// </summary>
public class BlockCacheTests
{
    [Fact]
    public void HltEndsTheBlock()
    {
        using var m = new TestMachine().LongMode().Load(a =>
        {
            a.mov(eax, 1);
            a.hlt();
            a.add(eax, 2);
            a.add(eax, 3);
        });

        var block = m.Cpu.Blocks.Get(m.S.Rip, m.S.Rip, 64);

        Assert.NotNull(block);
        Assert.Equal(2, block.Instructions.Length);
        Assert.Equal(Mnemonic.Hlt, block.Instructions[^1].Mnemonic);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void ExecutionResumesAfterHltInTheNextBlock(Engine engine)
    {
        using var m = new TestMachine().LongMode().Load(a =>
        {
            a.mov(eax, 1);
            a.hlt();
            a.add(eax, 2);
            a.hlt();
        });

        m.RunToHlt(engine);
        Assert.Equal(1UL, m.Reg(0));
        m.S.Halted = 0; // as an interrupt would wake it
        m.RunToHlt(engine);
        Assert.Equal(3UL, m.Reg(0));
    }
}
