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

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void APageThatBecomesCodeAfterTheGuestWroteItSeesLaterWrites(Engine engine)
    {
        // The guest writes "mov eax, 1; ret" into a data page (its TLB entry gains a write tag,
        // as does another data page's), calls it (the page becomes code and loses the write tag),
        // patches the immediate to 2 and calls again: the patch must be seen (EBX = 1 + 2), and
        // the other data page keeps working.
        const ulong fresh = 0x6_0000, data = 0x7_0000;
        using var m = new TestMachine().LongMode();
        m.Load(a =>
        {
            a.mov(rdi, fresh);
            a.mov(rsi, data);
            a.mov(__dword_ptr[rsi], 5);
            a.mov(__dword_ptr[rdi], 0x0000_01B8);
            a.mov(__word_ptr[rdi + 4], 0xC300);
            a.call(rdi);
            a.mov(ebx, eax);
            a.mov(__byte_ptr[rdi + 1], 2);
            a.add(__dword_ptr[rsi], 1);
            a.call(rdi);
            a.add(ebx, eax);
            a.mov(ecx, __dword_ptr[rsi]);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(3UL, m.Reg(Emulator.Cpu.State.CpuState.RBX));
        Assert.Equal(6UL, m.Reg(Emulator.Cpu.State.CpuState.RCX));
    }

    [Fact]
    public void GetReturnsTheCachedBlockUntilItsCodeChanges()
    {
        using var m = new TestMachine().LongMode().Load(a =>
        {
            a.mov(eax, 1);
            a.hlt();
        });
        ulong rip = m.S.Rip;
        var first = m.Cpu.Blocks.Get(rip, rip, 64);
        Assert.Same(first, m.Cpu.Blocks.Get(rip, rip, 64));

        // The host rewrites the MOV's immediate: the block is dropped and a new one decoded.
        m.Memory.Write(rip + 1, 1, 7);
        var second = m.Cpu.Blocks.Get(rip, rip, 64);
        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.False(first.Valid);
        Assert.NotSame(first, second);
        Assert.Equal(7u, second.Instructions[0].Immediate32);

        // The same bytes under another RIP (a different key) are a block of their own.
        Assert.NotSame(second, m.Cpu.Blocks.Get(rip + 0x1000, rip, 64));
    }
}
