using Emulator.Cpu;
using Emulator.Cpu.State;
using Emulator.Jit.Tests.Emit;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.Tests.Tiering;

/// <summary>
/// Tier 2 (Jit/README.md, "Regions"): loops spanning several blocks of a page run as one method
/// with branches between the blocks. Each program runs on the interpreter and on the JIT and must
/// end in the same state (EngineParity); the JIT run must really have branched between blocks
/// inside a region.
/// </summary>
public class RegionTests
{
    private static ulong[] Registers()
    {
        var gpr = new ulong[16];
        gpr[CpuState.RSP] = TestMachine.StackTop;
        return gpr;
    }

    private static EngineParity.Outcome AssertSameInARegion(string label, int bitness, Action<Assembler> program, ulong[]? gpr = null)
    {
        var outcome = EngineParity.AssertSame(label, bitness, program, gpr ?? Registers(), 0);
        Assert.True(outcome.RegionTransitions > 0, $"{label}: no branch inside a region was taken");
        return outcome;
    }

    [Theory]
    [InlineData(16)]
    [InlineData(32)]
    [InlineData(64)]
    public void NestedLoopsWithAnIfElseGiveTheInterpretersResult(int bitness)
    {
        void Program(Assembler a)
        {
            var outer = a.CreateLabel();
            var inner = a.CreateLabel();
            var even = a.CreateLabel();
            var join = a.CreateLabel();
            a.xor(eax, eax);
            a.xor(ebx, ebx);
            a.mov(ecx, 300);
            a.Label(ref outer);
            a.mov(edx, 20);
            a.Label(ref inner);
            a.test(edx, 1);
            a.jz(even);
            a.add(eax, edx);
            a.jmp(join);
            a.Label(ref even);
            a.sub(ebx, edx);
            a.Label(ref join);
            a.dec(edx);
            a.jnz(inner);
            a.add(ebx, ecx);
            a.dec(ecx);
            a.jnz(outer);
            a.hlt();
        }

        var outcome = AssertSameInARegion($"nested loops, {bitness}-bit", bitness, Program);

        // Inner loop: odd 19..1 add up to 100 into EAX, even 20..2 subtract 110 from EBX; the outer adds 300..1.
        Assert.Equal(300UL * 100, outcome.Gpr[CpuState.RAX]);
        Assert.Equal((ulong)(uint)((300 * 301 / 2) - (300 * 110)), outcome.Gpr[CpuState.RBX] & 0xFFFF_FFFF);
        Assert.Equal(StopReason.Halted, outcome.Reason);
    }

    [Fact]
    public void FlagsSetBeforeABranchForwardAreReadInTheBlocksAfterIt()
    {
        // SUB sets the flags; JB reads CF and ends its block; the blocks it goes on to read OF
        // (JO) and SF (JS) first: liveness across the branch must keep those two.
        void Program(Assembler a)
        {
            var top = a.CreateLabel();
            var below = a.CreateLabel();
            var negative = a.CreateLabel();
            var overflow = a.CreateLabel();
            var next = a.CreateLabel();
            a.xor(ebx, ebx);
            a.xor(edx, edx);
            a.mov(ecx, 400);
            a.Label(ref top);
            a.imul(eax, ecx, unchecked((int)0x9E3779B1));
            a.sub(eax, 0x40000000);
            a.jb(below);
            a.jo(overflow);
            a.add(ebx, 1);
            a.jmp(next);
            a.Label(ref below);
            a.js(negative);
            a.add(edx, 1);
            a.jmp(next);
            a.Label(ref negative);
            a.add(edx, 0x100);
            a.jmp(next);
            a.Label(ref overflow);
            a.add(ebx, 0x100);
            a.Label(ref next);
            a.dec(ecx);
            a.jnz(top);
            a.hlt();
        }

        var outcome = AssertSameInARegion("flags across a branch", 64, Program);
        uint expectedEbx = 0, expectedEdx = 0;
        for (uint c = 400; c > 0; c--)
        {
            uint product = unchecked(c * 0x9E3779B1);
            uint difference = unchecked(product - 0x40000000);
            bool overflowed = ((product ^ 0x40000000) & (product ^ difference) & 0x8000_0000) != 0;
            if (product < 0x40000000)
            {
                expectedEdx += (difference & 0x8000_0000) != 0 ? 0x100u : 1;
            }
            else
            {
                expectedEbx += overflowed ? 0x100u : 1;
            }
        }

        Assert.Equal(expectedEbx, (uint)outcome.Gpr[CpuState.RBX]);
        Assert.Equal(expectedEdx, (uint)outcome.Gpr[CpuState.RDX]);
    }

    /// <summary>
    /// A CMP right before a branch back leaves its flags pending (BlockEmitter.Flags.cs); the
    /// loop head reads CF first (ADC), so the branch to the head must materialise the record
    /// (BranchToMember), while the other member branch, to a head that writes flags first, need not.
    /// </summary>
    [Fact]
    public void FlagsPendingAtABranchBackReachTheLoopHeadThatReadsThem()
    {
        static void Program(Assembler a)
        {
            var head = a.CreateLabel();
            var skip = a.CreateLabel();
            var done = a.CreateLabel();
            a.xor(eax, eax);
            a.xor(ebx, ebx);
            a.mov(ecx, 1000);
            a.cmp(eax, eax);
            a.Label(ref head);
            a.adc(eax, 0);
            a.test(ecx, 1);
            a.jz(skip);
            a.add(ebx, ecx);
            a.Label(ref skip);
            a.mov(edi, ecx);
            a.and(edi, 7);
            a.dec(ecx);
            a.jz(done);
            a.cmp(edi, 3);
            a.jmp(head);
            a.Label(ref done);
            a.hlt();
        }

        var outcome = AssertSameInARegion("pending CF into the loop head", 64, Program);
        uint expectedEax = 0, expectedEbx = 0;
        bool carry = false;
        for (uint c = 1000; ; c--)
        {
            expectedEax += carry ? 1u : 0;
            expectedEbx += (c & 1) != 0 ? c : 0;
            if (c == 1)
            {
                break;
            }

            carry = (c & 7) < 3;
        }

        Assert.Equal(expectedEax, (uint)outcome.Gpr[CpuState.RAX]);
        Assert.Equal(expectedEbx, (uint)outcome.Gpr[CpuState.RBX]);
    }

    [Theory]
    [InlineData(7)]
    [InlineData(13)]
    [InlineData(61)]
    [InlineData(319)]
    [InlineData(1001)]
    public void EveryRunStopsExactlyAtItsBudget(int slice)
    {
        // Forward branches inside a region take no budget check (CompiledRegion.TotalLength):
        // runs of any length must still retire exactly their budget, and end as the interpreter does.
        static void Program(Assembler a)
        {
            var top = a.CreateLabel();
            var odd = a.CreateLabel();
            var join = a.CreateLabel();
            a.xor(eax, eax);
            a.mov(ecx, 3000);
            a.Label(ref top);
            a.test(ecx, 1);
            a.jnz(odd);
            a.add(eax, ecx);
            a.jmp(join);
            a.Label(ref odd);
            a.xor(eax, 0x55);
            a.Label(ref join);
            a.rol(eax, 3);
            a.dec(ecx);
            a.jnz(top);
            a.hlt();
        }

        ulong Run(Engine engine, out long transitions)
        {
            using var m = new TestMachine().LongMode().Load(Program);
            ulong retired = 0;
            StopReason reason;
            while ((reason = m.Run(engine, slice)) == StopReason.Budget)
            {
                retired += (ulong)slice;
                Assert.Equal(retired, m.S.InstructionsRetired);
            }

            Assert.Equal(StopReason.Halted, reason);
            transitions = m.Cpu.RegionTransitions;
            return m.Reg(CpuState.RAX);
        }

        Assert.Equal(Run(Engine.Interpreter, out _), Run(Engine.Jit, out long transitions));
        Assert.True(slice < 100 || transitions > 0, "no branch inside a region was taken");
    }

    [Fact]
    public void ALoopWithMemoryAndStackOperationsInSeveralBlocksGivesTheInterpretersResult()
    {
        void Program(Assembler a)
        {
            var top = a.CreateLabel();
            var skip = a.CreateLabel();
            a.mov(rsi, EngineParity.DataAddress);
            a.mov(ecx, 500);
            a.Label(ref top);
            a.movzx(eax, __byte_ptr[rsi + rcx]);
            a.push(rax);
            a.test(eax, 3);
            a.jnz(skip);
            a.add(__dword_ptr[rsi + 0x1000], eax);
            a.Label(ref skip);
            a.pop(rdx);
            a.xor(__byte_ptr[rsi + rcx + 0x800], dl);
            a.add(rbx, rdx);
            a.sub(ecx, 1);
            a.jnz(top);
            a.hlt();
        }

        var outcome = AssertSameInARegion("memory and stack", 64, Program);
        Assert.Equal(StopReason.Halted, outcome.Reason);
    }

    [Fact]
    public void AFaultInTheSecondBlockOfARegionIsPrecise()
    {
        // The second block reads one page further each time and faults at 1 GiB, where the test's
        // page tables end (#PF, then a triple fault as there is no IDT): RIP, every register and
        // the retired count must be the interpreter's.
        void Program(Assembler a)
        {
            var top = a.CreateLabel();
            var done = a.CreateLabel();
            a.mov(rsi, 0x3FF0_0000);
            a.xor(eax, eax);
            a.xor(ecx, ecx);
            a.Label(ref top);
            a.inc(ecx);
            a.cmp(ecx, 5000);
            a.jae(done);
            a.add(rdx, rcx);
            a.add(rax, __qword_ptr[rsi]);
            a.add(rsi, 0x1000);
            a.jmp(top);
            a.Label(ref done);
            a.hlt();
        }

        var outcome = AssertSameInARegion("fault", 64, Program);
        Assert.Equal(StopReason.TripleFault, outcome.Reason);
        Assert.Equal(257UL, outcome.Gpr[CpuState.RCX]);
        Assert.Equal(0x4000_0000UL, outcome.Gpr[CpuState.RSI]);
    }

    [Fact]
    public void ARegionWhoseFirstBlockRewritesItsSecondLeavesRightAfterTheWrite()
    {
        // In iteration 40 the first block's store goes to the immediate of the second block's
        // ADD instead of the data page: from then on the loop adds 7, not 1.
        void Program(Assembler a)
        {
            var top = a.CreateLabel();
            var second = a.CreateLabel();
            var done = a.CreateLabel();
            a.xor(eax, eax);
            a.xor(ecx, ecx);
            a.mov(rbx, EngineParity.DataAddress);
            a.lea(rsi, __[second]);
            a.add(rsi, 2);
            a.Label(ref top);
            a.mov(rdi, rbx);
            a.inc(ecx);
            a.cmp(ecx, 40);
            a.cmove(rdi, rsi);
            a.mov(__byte_ptr[rdi], 7);
            a.cmp(ecx, 100);
            a.jae(done);
            a.Label(ref second);
            a.db(0x83, 0xC0, 0x01); // ADD EAX, 1 (83 /0 ib): the immediate is at +2
            a.jmp(top);
            a.Label(ref done);
            a.hlt();
        }

        var outcome = AssertSameInARegion("self-modifying", 64, Program);
        Assert.Equal((39UL * 1) + (60UL * 7), outcome.Gpr[CpuState.RAX]);
        Assert.True(outcome.RegionsDropped >= 1, "the region was not dropped");
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void RewritingABlockOfARegionDropsTheRegion(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        for (int round = 0; round < 3; round++)
        {
            int increment = round + 1;
            m.Load(a =>
            {
                var top = a.CreateLabel();
                var odd = a.CreateLabel();
                a.xor(eax, eax);
                a.mov(ecx, 100);
                a.Label(ref top);
                a.test(ecx, 1);
                a.jnz(odd);
                a.add(eax, increment);
                a.Label(ref odd);
                a.dec(ecx);
                a.jnz(top);
                a.hlt();
            });
            m.S.Rip = TestMachine.CodeAddress;
            m.S.Halted = 0;
            m.RunToHlt(engine);
            Assert.Equal((ulong)(50 * increment), m.Reg(CpuState.RAX));
        }

        if (engine == Engine.Jit)
        {
            Assert.True(m.Jit!.Statistics.RegionsCompiled >= 3, $"regions compiled {m.Jit.Statistics.RegionsCompiled}");
            Assert.True(m.Jit.Statistics.RegionsDropped >= 2, $"regions dropped {m.Jit.Statistics.RegionsDropped}");
        }
    }

    [Theory]
    [InlineData(32, false)]
    [InlineData(64, false)]
    [InlineData(64, true)]
    public void ASwitchThroughAJumpTableStaysInTheRegion(int bitness, bool throughRegister)
    {
        // A jump table at DataAddress: the cases of ECX mod 4 (3 takes the default, not through the table).
        // 32-bit code has no RIP-relative LEA: the case addresses come from a first assembly.
        var caseAddresses = new uint[3];
        var caseLabels = new Label[3];
        void Program(Assembler a)
        {
            var top = a.CreateLabel();
            var next = a.CreateLabel();
            var otherwise = a.CreateLabel();
            var cases = new[] { a.CreateLabel(), a.CreateLabel(), a.CreateLabel() };
            if (bitness == 64)
            {
                a.mov(rsi, EngineParity.DataAddress);
                for (int c = 0; c < 3; c++)
                {
                    a.lea(rax, __[cases[c]]);
                    a.mov(__qword_ptr[rsi + (c * 8)], rax);
                }
            }
            else
            {
                a.mov(esi, (uint)EngineParity.DataAddress);
                for (int c = 0; c < 3; c++)
                {
                    a.mov(__dword_ptr[esi + (c * 4)], caseAddresses[c]);
                }
            }

            a.xor(ebx, ebx);
            a.mov(ecx, 400);
            a.Label(ref top);
            a.mov(eax, ecx);
            a.and(eax, 3);
            a.cmp(eax, 2);
            a.ja(otherwise);
            if (bitness == 64 && throughRegister)
            {
                a.mov(rdx, __qword_ptr[rsi + (rax * 8)]);
                a.jmp(rdx);
            }
            else if (bitness == 64)
            {
                a.jmp(__qword_ptr[rsi + (rax * 8)]);
            }
            else
            {
                a.jmp(__dword_ptr[esi + (eax * 4)]);
            }

            a.Label(ref cases[0]);
            a.add(ebx, 1);
            a.jmp(next);
            a.Label(ref cases[1]);
            a.add(ebx, 10);
            a.jmp(next);
            a.Label(ref cases[2]);
            a.sub(ebx, 3);
            a.jmp(next);
            a.Label(ref otherwise);
            a.xor(ebx, 5);
            a.Label(ref next);
            a.dec(ecx);
            a.jnz(top);
            a.hlt();
            caseLabels = cases;
        }

        if (bitness == 32)
        {
            var first = new Assembler(32);
            Program(first);
            var result = first.Assemble(new StreamCodeWriter(new MemoryStream()), TestMachine.CodeAddress, BlockEncoderOptions.ReturnNewInstructionOffsets);
            for (int c = 0; c < 3; c++)
            {
                caseAddresses[c] = (uint)result.GetLabelRIP(caseLabels[c]);
            }
        }

        var outcome = AssertSameInARegion($"jump table, {bitness}-bit{(throughRegister ? ", register" : "")}", bitness, Program);
        Assert.Equal(StopReason.Halted, outcome.Reason);
        uint expected = 0;
        for (uint c = 400; c > 0; c--)
        {
            expected = (c & 3) switch { 0 => expected + 1, 1 => expected + 10, 2 => expected - 3, _ => expected ^ 5 };
        }

        Assert.Equal(expected, (uint)outcome.Gpr[CpuState.RBX]);
        Assert.True(outcome.RegionTransitions > 2 * 400, $"{outcome.RegionTransitions} branches inside regions: the jump through the table left the region");
    }

    [Fact]
    public void ACallToAFunctionOnThePageBranchesIntoIt()
    {
        void Program(Assembler a)
        {
            var top = a.CreateLabel();
            var function = a.CreateLabel();
            a.xor(eax, eax);
            a.mov(ecx, 200);
            a.Label(ref top);
            a.call(function);
            a.dec(ecx);
            a.jnz(top);
            a.hlt();
            a.Label(ref function);
            a.add(eax, ecx);
            a.ret();
        }

        var outcome = AssertSameInARegion("call", 64, Program);
        Assert.Equal(StopReason.Halted, outcome.Reason);
        Assert.Equal(200UL * 201 / 2, outcome.Gpr[CpuState.RAX]);
    }
}
