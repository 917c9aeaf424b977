using Emulator.Cpu.State;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.Tests.Cache;

/// <summary>
/// DESIGN.md, "Self-modifying code": compiled blocks are dropped exactly with their interpreted
/// blocks, whether the code is rewritten by the host, by the guest on another page, or by a block
/// writing into itself.
/// </summary>
public class SelfModifyingCodeTests
{
    private const ulong OtherPage = TestMachine.CodeAddress + 0x3000;

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void CodeRewrittenByTheHostRunsInItsNewForm(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        for (int round = 0; round < 4; round++)
        {
            int increment = round + 1;
            m.Load(a =>
            {
                var loop = a.CreateLabel();
                a.xor(eax, eax);
                a.mov(ecx, 100);
                a.Label(ref loop);
                a.add(eax, increment);
                a.dec(ecx);
                a.jnz(loop);
                a.hlt();
            });
            m.S.Rip = TestMachine.CodeAddress;
            m.S.Halted = 0;
            m.RunToHlt(engine);
            Assert.Equal((ulong)(100 * increment), m.Reg(CpuState.RAX));
        }

        if (engine == Engine.Jit)
        {
            Assert.True(m.Jit!.Statistics.Invalidated >= 3, $"dropped {m.Jit.Statistics.Invalidated}");
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void GuestPatchingAFunctionOnAnotherPageSeesEachNewVersion(Engine engine)
    {
        using var m = new TestMachine().LongMode();

        // The function at OtherPage is "mov eax, imm32; ret"; the caller patches imm32's low byte
        // after each call, so call i returns i - 1 (and the first returns 0).
        m.Load(a =>
        {
            a.mov(eax, 0);
            a.ret();
        }, OtherPage);
        m.Load(a =>
        {
            var loop = a.CreateLabel();
            a.xor(ebx, ebx);
            a.xor(ecx, ecx);
            a.mov(rdi, OtherPage);
            a.Label(ref loop);
            a.call(rdi);
            a.add(ebx, eax);
            a.mov(__byte_ptr[rdi + 1], cl);
            a.inc(ecx);
            a.cmp(ecx, 100);
            a.jne(loop);
            a.hlt();
        });
        m.RunToHlt(engine);
        Assert.Equal((ulong)(99 * 98 / 2), m.Reg(CpuState.RBX));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void ABlockWritingIntoItselfRunsTheNewInstructionAfterTheWrite(Engine engine)
    {
        using var m = new TestMachine().LongMode();

        // One straight-line block stores a new imm32 into a later "mov ebx, imm32" of the same
        // block, 50 times with different values: each pass must see its own store.
        m.Load(a =>
        {
            var loop = a.CreateLabel();
            var patched = a.CreateLabel();
            a.xor(esi, esi);
            a.mov(ecx, 1);
            a.Label(ref loop);
            a.lea(rdi, __[patched]);
            a.mov(__dword_ptr[rdi + 1], ecx);
            a.nop();
            a.Label(ref patched);
            a.mov(ebx, 0);
            a.add(esi, ebx);
            a.inc(ecx);
            a.cmp(ecx, 51);
            a.jne(loop);
            a.hlt();
        });
        m.RunToHlt(engine);
        Assert.Equal((ulong)(50 * 51 / 2), m.Reg(CpuState.RSI));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void WritesBesideCodeOnItsPageKeepTheBlocksAndPatchesInsideThemAreSeen(Engine engine)
    {
        using var m = new TestMachine().LongMode();

        // A counter lives on the function's own page, after its code: the guest increments it on
        // every call. Those writes touch no decoded byte, so no block is dropped or rebuilt. Then
        // the caller patches the function's imm32 every 10th call: each patch is seen at once.
        const ulong Counter = OtherPage + 0x800;
        m.Load(a =>
        {
            a.mov(eax, 0);
            a.ret();
        }, OtherPage);
        m.Load(a =>
        {
            var loop = a.CreateLabel();
            var skip = a.CreateLabel();
            a.xor(ebx, ebx);
            a.xor(ecx, ecx);
            a.mov(rdi, OtherPage);
            a.mov(rsi, Counter);
            a.Label(ref loop);
            a.call(rdi);
            a.add(ebx, eax);
            a.inc(__dword_ptr[rsi]);
            a.inc(ecx);
            a.test(ecx, 0xF);
            a.jnz(skip);
            a.mov(__dword_ptr[rdi + 1], ecx); // mov eax, imm32: the imm32 becomes the call count
            a.Label(ref skip);
            a.cmp(ecx, 200);
            a.jne(loop);
            a.hlt();
        });
        m.RunToHlt(engine);

        ulong expected = 0, imm = 0;
        for (ulong c = 1; c <= 200; c++)
        {
            expected += imm;
            if ((c & 0xF) == 0)
            {
                imm = c;
            }
        }

        Assert.Equal(expected, m.Reg(CpuState.RBX));
        Assert.Equal(200UL, m.Memory.Read(Counter, 4));

        // Twelve patches drop the function's block twelve times (once each); the 200 counter
        // writes drop nothing. Before blocks were dropped by the bytes they cover, every counter
        // write dropped the function's block.
        Assert.InRange(m.Cpu.Blocks.Invalidations, 12, 14);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void APatchOfTheBytesAForwardJumpSkipsStillDropsTheBlockThatJumpsOverThem(Engine engine)
    {
        using var m = new TestMachine().LongMode();

        // The block at OtherPage runs "mov eax, 1; jmp over; <mov eax, 2 (skipped)>; over: ret" as one
        // block (it continues through the forward JMP). Patching the skipped bytes cannot change what
        // it computes, but the block's recorded range covers them: dropping it is the safe answer,
        // and the result stays right either way.
        m.Load(a =>
        {
            var over = a.CreateLabel();
            a.mov(eax, 1);
            a.jmp(over);
            a.mov(eax, 2);
            a.Label(ref over);
            a.ret();
        }, OtherPage);
        m.Load(a =>
        {
            a.mov(rdi, OtherPage);
            a.call(rdi);
            a.mov(ebx, eax);
            a.mov(__byte_ptr[rdi + 8], 0x90); // inside the skipped MOV
            a.call(rdi);
            a.add(ebx, eax);
            a.hlt();
        });
        m.RunToHlt(engine);
        Assert.Equal(2UL, m.Reg(CpuState.RBX));
        Assert.True(m.Cpu.Blocks.Invalidations >= 1);
    }

    [Fact]
    public void RewrittenCodeOnBothPagesMatchesTheInterpreterAcrossRounds()
    {
        // Stress: several rounds of write, run, rewrite, on the code page and on another page,
        // compared with the interpreter each round.
        var random = new Random(3);
        for (int round = 0; round < 10; round++)
        {
            int a1 = random.Next(1, 1000), a2 = random.Next(1, 1000), n = random.Next(5, 60);
            void Function(Assembler a)
            {
                a.imul(eax, ecx, a2);
                a.ret();
            }

            void Main(Assembler a)
            {
                var loop = a.CreateLabel();
                a.xor(ebx, ebx);
                a.mov(ecx, n);
                a.mov(rdi, OtherPage);
                a.Label(ref loop);
                a.call(rdi);
                a.add(ebx, eax);
                a.add(ebx, a1);
                a.dec(ecx);
                a.jnz(loop);
                a.hlt();
            }

            ulong expected = 0;
            for (int c = n; c > 0; c--)
            {
                expected = (uint)(expected + (uint)(c * a2) + (uint)a1);
            }

            foreach (var engine in new[] { Engine.Interpreter, Engine.Jit })
            {
                using var m = new TestMachine().LongMode();
                m.Load(Function, OtherPage).Load(Main).RunToHlt(engine);
                Assert.Equal(expected, m.Reg(CpuState.RBX));

                // Rewrite both pages in place and run again on the same machine (same block caches).
                m.Load(a =>
                {
                    a.lea(eax, __[rcx + rcx + 7]);
                    a.ret();
                }, OtherPage);
                m.Load(a =>
                {
                    var loop = a.CreateLabel();
                    a.mov(ebx, 1);
                    a.mov(ecx, n);
                    a.mov(rdi, OtherPage);
                    a.Label(ref loop);
                    a.call(rdi);
                    a.xor(ebx, eax);
                    a.dec(ecx);
                    a.jnz(loop);
                    a.hlt();
                });
                m.S.Rip = TestMachine.CodeAddress;
                m.S.Halted = 0;
                m.RunToHlt(engine);
                ulong second = 1;
                for (int c = n; c > 0; c--)
                {
                    second ^= (ulong)((2 * c) + 7);
                }

                Assert.Equal(second, m.Reg(CpuState.RBX));
            }
        }
    }
}
