using Emulator.Cpu;
using Emulator.Cpu.State;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.Tests.Emit;

/// <summary>
/// Flag records carried across branches between blocks (Jit/Emit/BlockEmitter.Carry.cs): a loop
/// whose head is a load or a store takes the flags its back edge left pending along without
/// computing them, and only the head's exits compute them. Here the head walks towards an
/// unmapped page and page-faults after a few dozen iterations, with a #PF handler that records
/// the RFLAGS the CPU pushed (R10), the faulting RIP (R9) and CR2 (R11): every register, RFLAGS
/// and the retired count must be the interpreter's, on both JIT tiers.
/// </summary>
public class CarriedFlagsTests
{
    private const ulong Unmapped = 0x60_0000;           // the 2 MiB page at 6 MiB is not present
    private const ulong Handler = 0x30000;
    private const int Stride = 0x100;
    private const ulong Limit32 = 0x5_FFFF;             // 32-bit code: DS's limit

    private sealed record Result(StopReason Reason, ulong[] Gpr, ulong Rflags, ulong Rip, ulong Retired, long Compiled, long Transitions);

    /// <summary>Long mode with the page at <see cref="Unmapped"/> not present, random data below it, and a #PF gate.</summary>
    private static Result Run(Engine engine, Action<Assembler> program, ulong rax, ulong rbx, ulong flags, int iterations, long? optimizeThreshold, int bitness)
    {
        using var m = new TestMachine().Mode(bitness);
        if (optimizeThreshold is { } threshold)
        {
            m.JitOptimizeThreshold = threshold;
        }

        var data = new byte[0x4000];
        new Random(5).NextBytes(data);
        if (bitness == 32)
        {
            // DS ends where the page would: byte-granular limit Limit32 (an access past it is #GP(0)).
            m.Memory.WriteBytes(Limit32 + 1 - (ulong)data.Length, data);
            m.S.Ds = X86Cpu.FromDescriptor(TestMachine.Data, 0x0040_9300_0000_0000UL | (Limit32 & 0xFFFF) | ((Limit32 >> 16) << 48));
            m.Load(
                a =>
                {
                    a.mov(edi, __dword_ptr[esp + 4]);
                    a.mov(ebp, __dword_ptr[esp + 12]);
                    a.hlt();
                },
                Handler);
            ulong gate = (Handler & 0xFFFF) | ((ulong)TestMachine.Code32 << 16) | (0x8EUL << 40) | ((Handler >> 16) << 48);
            m.Memory.Write(TestMachine.IdtAddress + (13 * 8), 8, gate);
            m.S.Idtr = new TableRegister { Base = TestMachine.IdtAddress, Limit = 0x7FF };
            return Finish(m, engine, program, rax, rbx, flags, Limit32 + 1 - (ulong)(iterations * Stride));
        }

        m.Memory.Write(TestMachine.PageTableAddress + 0x2000 + (3 * 8), 8, 0);
        m.Cpu.Tlb.FlushAll();
        m.Memory.WriteBytes(Unmapped - (ulong)data.Length, data);

        // #PF (vector 14) pushes an error code, RIP, CS, RFLAGS, RSP and SS (SDM Vol. 3A 6.14.2).
        m.Load(
            a =>
            {
                a.mov(r9, __qword_ptr[rsp + 8]);
                a.mov(r10, __qword_ptr[rsp + 24]);
                a.mov(r11, cr2);
                a.hlt();
            },
            Handler);
        ulong low = (Handler & 0xFFFF) | ((ulong)TestMachine.Code64 << 16) | (0x8EUL << 40) | (((Handler >> 16) & 0xFFFF) << 48);
        m.Memory.Write(TestMachine.IdtAddress + (14 * 16), 8, low);
        m.Memory.Write(TestMachine.IdtAddress + (14 * 16) + 8, 8, Handler >> 32);
        m.S.Idtr = new TableRegister { Base = TestMachine.IdtAddress, Limit = (32 * 16) - 1 };
        return Finish(m, engine, program, rax, rbx, flags, Unmapped - (ulong)(iterations * Stride));
    }

    private static Result Finish(TestMachine m, Engine engine, Action<Assembler> program, ulong rax, ulong rbx, ulong flags, ulong rsi)
    {
        m.Load(program);
        m.S.Gpr[CpuState.RAX] = rax;
        m.S.Gpr[CpuState.RBX] = rbx;
        m.S.Gpr[CpuState.RSI] = rsi;
        m.S.Rflags = (flags & Flags.Arith) | Flags.Reserved1;
        var reason = m.Run(engine, 1_000_000);
        Assert.DoesNotContain(m.Log, line => line.Contains("internal error", StringComparison.Ordinal) || line.Contains("jit:", StringComparison.Ordinal));
        var gpr = new ulong[16];
        for (int r = 0; r < 16; r++)
        {
            gpr[r] = m.S.Gpr[r];
        }

        return new Result(reason, gpr, m.S.Rflags, m.S.Rip, m.S.InstructionsRetired, m.Cpu.CompiledInstructions, m.Cpu.RegionTransitions);
    }

    /// <summary>Runs on the interpreter and on both JIT tiers; each must stop in the #PF handler's HLT with the interpreter's state.</summary>
    private static void AssertSameFault(string label, Action<Assembler> program, bool region = false, int cases = 6, int bitness = 64)
    {
        var random = new Random(label.Length * 31);
        ulong mask = bitness == 64 ? ulong.MaxValue : uint.MaxValue;
        for (int c = 0; c < cases; c++)
        {
            ulong rax = (ulong)random.NextInt64() * (c % 2 == 0 ? 1UL : 0x1_0001UL) & mask, rbx = (ulong)random.NextInt64() & mask;
            ulong flags = (ulong)random.Next() & Flags.Arith;
            int iterations = c == 0 ? 0 : 20 + random.Next(40); // 0: the first access faults
            var expected = Run(Engine.Interpreter, program, rax, rbx, flags, iterations, null, bitness);
            Assert.Equal(StopReason.Halted, expected.Reason);
            Assert.True(expected.Rip > Handler && expected.Rip < Handler + 0x20, $"{label}: the interpreter stopped at {expected.Rip:x}, not in the fault's handler");
            foreach (long? threshold in new long?[] { null, 0 })
            {
                string name = $"{label} #{c}{(threshold == 0 ? " (optimized)" : "")}";
                var actual = Run(Engine.Jit, program, rax, rbx, flags, iterations, threshold, bitness);
                Assert.True(actual.Compiled > 0, $"{name}: nothing compiled");
                Assert.True(!region || iterations == 0 || actual.Transitions > 0, $"{name}: no branch inside a region was taken");
                Assert.True(expected.Reason == actual.Reason, $"{name}: stop {actual.Reason}, interpreter {expected.Reason}");
                Assert.True(expected.Gpr[10] == actual.Gpr[10], $"{name}: pushed RFLAGS {actual.Gpr[10]:x}, interpreter {expected.Gpr[10]:x}");
                for (int r = 0; r < 16; r++)
                {
                    Assert.True(expected.Gpr[r] == actual.Gpr[r], $"{name}: r{r} = {actual.Gpr[r]:x}, interpreter {expected.Gpr[r]:x}");
                }

                Assert.True(expected.Rflags == actual.Rflags, $"{name}: rflags {actual.Rflags:x}, interpreter {expected.Rflags:x}");
                Assert.True(expected.Retired == actual.Retired, $"{name}: retired {actual.Retired}, interpreter {expected.Retired}");
            }
        }
    }

    /// <summary>A flag producer on RAX and RCX (RCX was just loaded, so its flags differ every iteration).</summary>
    private static void Producer(Assembler a, string op)
    {
        switch (op)
        {
            case "cmp": a.cmp(rax, rcx); break;
            case "add": a.add(rax, rcx); break;
            case "sub32": a.sub(eax, ecx); break;
            case "and": a.and(rax, rcx); break;
            case "or16": a.or(ax, cx); break;
            case "xor8": a.xor(al, cl); break;
            case "test": a.test(ecx, eax); break;
            case "inc": a.inc(rcx); break;
            case "dec32": a.dec(ecx); break;
            case "neg": a.neg(rcx); break;
            case "adc": a.adc(rax, rcx); break;
            case "adc-1":
                // A carry in (RSI is below all ones): r == a, so CF out is the carry in.
                a.cmp(rsi, -1);
                a.adc(rax, -1);
                break;
            case "sbb32": a.sbb(eax, ecx); break;
            case "shl": a.shl(rcx, 3); break;
            case "sar32": a.sar(ecx, 1); break;
            case "imul": a.imul(rax, rcx); break;
            case "mul": a.mul(rcx); break;
            default: throw new ArgumentException(op, nameof(op));
        }
    }

    public static TheoryData<string> Producers() => new(["cmp", "add", "sub32", "and", "or16", "xor8", "test", "inc", "dec32", "neg", "adc", "adc-1", "sbb32", "shl", "sar32", "imul", "mul"]);

    [Theory]
    [MemberData(nameof(Producers))]
    public void ALoadAtALoopHeadFaultsWithTheBackEdgesFlags(string op)
    {
        // One block: the head loads (and faults at the unmapped page); ADD RSI overwrites every
        // flag; the producer's flags are pending at the JMP back.
        void Program(Assembler a)
        {
            var top = a.CreateLabel();
            a.Label(ref top);
            a.mov(rcx, __qword_ptr[rsi]);
            a.mov(rdi, rcx);
            a.add(rsi, Stride);
            Producer(a, op);
            a.jmp(top);
        }

        AssertSameFault($"load head, {op}", Program);
    }

    [Theory]
    [InlineData("cmp")]
    [InlineData("cmp32")]
    [InlineData("cmp-imm")]
    [InlineData("test")]
    [InlineData("test8")]
    public void ALoadAtALoopHeadFaultsWithTheFlagsOfACompareOfRegistersItLeavesAlone(string op)
    {
        // The head writes neither RAX nor RBX before ADD RSI overwrites every flag, so the back
        // edge carries the CMP's or TEST's record as its word alone and the fault path reads the
        // operands from the registers again (BlockEmitter.SymbolicCarry.cs).
        void Program(Assembler a)
        {
            var top = a.CreateLabel();
            a.Label(ref top);
            a.mov(rdx, __qword_ptr[rsi]);
            a.add(rsi, Stride);
            a.add(rax, rdx);
            switch (op)
            {
                case "cmp": a.cmp(rax, rbx); break;
                case "cmp32": a.cmp(eax, ebx); break;
                case "cmp-imm": a.cmp(rax, 0x1234_5678); break;
                case "test": a.test(rax, rbx); break;
                default: a.test(al, bl); break;
            }

            a.jmp(top);
        }

        AssertSameFault($"load head, symbolic {op}", Program);
    }

    [Fact]
    public void AHeadThatWritesAComparedRegisterBeforeItsLoadFaultsWithTheCompareOfTheOldValue()
    {
        // LEA changes RBX before the load that faults: the CMP's operands are not in the
        // registers any more, so the back edge must carry the record's values.
        void Program(Assembler a)
        {
            var top = a.CreateLabel();
            a.Label(ref top);
            a.lea(rbx, __qword_ptr[rbx + rbx * 2 + 0x35]);
            a.mov(rdx, __qword_ptr[rsi]);
            a.add(rsi, Stride);
            a.add(rax, rdx);
            a.cmp(rax, rbx);
            a.jmp(top);
        }

        AssertSameFault("load head after a write to a compared register", Program);
    }

    [Theory]
    [InlineData("cmp")]
    [InlineData("cmp32")]
    [InlineData("test")]
    public void ALoadIntoAComparedRegisterAtALoopHeadFaultsWithTheCompareOfItsOldValue(string op)
    {
        // The head loads RDX, which the CMP compares (quicksort's scan loops): the load faults
        // before it writes RDX, so the fault path still finds the compared value there and the
        // back edge carries the record symbolically (BlockEmitter.LastWriteAnExitSees).
        void Program(Assembler a)
        {
            var top = a.CreateLabel();
            a.Label(ref top);
            a.mov(rdi, rsi);
            a.mov(rdx, __qword_ptr[rsi]);
            a.add(rsi, Stride);
            a.add(rax, rdx);
            switch (op)
            {
                case "cmp": a.cmp(rdx, rbx); break;
                case "cmp32": a.cmp(ebx, edx); break;
                default: a.test(rdx, rax); break;
            }

            a.jmp(top);
        }

        AssertSameFault($"load of a compared register at the head, {op}", Program);
    }

    [Fact]
    public void ASecondLoadAtALoopHeadFaultsWithTheCompareOfTheRegisterTheFirstOneWrote()
    {
        // The first load writes RDX, which the CMP compared; the second faults (the first reads
        // the page below): the compared value is gone from RDX by then, so the back edge must
        // carry the record's values.
        void Program(Assembler a)
        {
            var top = a.CreateLabel();
            a.Label(ref top);
            a.mov(rdx, __qword_ptr[rsi - 8]);
            a.mov(rcx, __qword_ptr[rsi]);
            a.add(rsi, Stride);
            a.add(rax, rcx);
            a.cmp(rdx, rbx);
            a.jmp(top);
        }

        AssertSameFault("second load at the head after the first wrote a compared register", Program);
    }

    [Theory]
    [InlineData("cmp")]
    [InlineData("adc-1")]
    [InlineData("inc")]
    [InlineData("mul")]
    public void AStoreAtALoopHeadFaultsWithTheBackEdgesFlags(string op)
    {
        // The head stores (the store faults first, its exit-request check is a side exit too),
        // then loads; the producer's flags are pending at the JMP back.
        void Program(Assembler a)
        {
            var top = a.CreateLabel();
            a.Label(ref top);
            a.mov(__qword_ptr[rsi + 8], rax);
            a.mov(rcx, __qword_ptr[rsi]);
            a.lea(rdi, __qword_ptr[rsi + 1]);
            a.add(rsi, Stride);
            Producer(a, op);
            a.jmp(top);
        }

        AssertSameFault($"store head, {op}", Program);
    }

    [Theory]
    [InlineData("cmp")]
    [InlineData("add")]
    [InlineData("sub32")]
    public void AProducerWithAMemoryOperandAtALoopHeadFaultsWithTheBackEdgesFlags(string op)
    {
        // The head's CMP (or read-modify-write ADD) overwrites every flag, but its memory access
        // faults before it does: the fault must see the flags the back edge left pending.
        void Program(Assembler a)
        {
            var top = a.CreateLabel();
            a.Label(ref top);
            if (op == "add")
            {
                a.add(__qword_ptr[rsi + 8], rbx);
            }
            else
            {
                a.cmp(rbx, __qword_ptr[rsi + 8]);
            }

            a.mov(rcx, __qword_ptr[rsi]);
            a.add(rsi, Stride);
            Producer(a, op);
            a.jmp(top);
        }

        AssertSameFault($"memory producer head, {op}", Program);
    }

    [Theory]
    [InlineData(0x40)]
    [InlineData(-0x80)]
    public void ALoadAtTheHeadOfARegionsBlockFaultsWithTheFlagsOfTheBranchThere(int displacement)
    {
        // Block A (head: a load) ends in JZ after TEST; block B (ADD) falls through to block C,
        // whose head loads too: C is reached with TEST's or ADD's flags pending, A with the SUB's
        // of C's JMP back. The displacement picks which load faults first (C's, or A's).
        void Program(Assembler a)
        {
            var top = a.CreateLabel();
            var even = a.CreateLabel();
            a.Label(ref top);
            a.mov(rcx, __qword_ptr[rsi]);
            a.add(rsi, Stride);
            a.test(cl, 1);
            a.jz(even);
            a.add(rax, rcx);
            a.Label(ref even);
            a.mov(rdx, __qword_ptr[rsi + displacement]);
            a.mov(rdi, rdx);
            a.xor(rdi, rax);
            a.sub(rbx, rdi);
            a.jmp(top);
        }

        AssertSameFault($"region, displacement {displacement}", Program, region: true);
    }

    [Theory]
    [InlineData(0x40)]
    [InlineData(-0x80)]
    public void ABlockThatOnlyJumpsPassesTheCarriedRecordOn(int displacement)
    {
        // C (head: a load) goes on into the loop's test: JZ after TEST; B (SUB) jumps back to C;
        // D (a move and a JMP, no flag) takes TEST's record and passes it on to C. The JMPs go
        // backwards, so the block builder does not follow them: each ends its block. The
        // displacement picks which load faults first (C's, or the one after it).
        void Program(Assembler a)
        {
            var top = a.CreateLabel();
            var odd = a.CreateLabel();
            var join = a.CreateLabel();
            a.jmp(top);
            a.Label(ref join);
            a.mov(rdx, __qword_ptr[rsi + displacement]);
            a.add(rbx, rdx);
            a.shl(rdx, 1);
            a.Label(ref top);
            a.mov(rcx, __qword_ptr[rsi]);
            a.add(rsi, Stride);
            a.test(cl, 1);
            a.jz(odd);
            a.sub(rax, rcx);
            a.jmp(join);
            a.Label(ref odd);
            a.mov(rdi, rcx);
            a.jmp(join);
        }

        AssertSameFault($"pass-through, displacement {displacement}", Program, region: true, cases: 10);
    }

    [Theory]
    [InlineData("cmp")]
    [InlineData("add")]
    [InlineData("adc-1")]
    [InlineData("imul")]
    [InlineData("mul")]
    [InlineData("inc")]
    public void ALoadPastTheSegmentLimitIn32BitCodeFaultsWithTheBackEdgesFlags(string op)
    {
        // 32-bit protected mode: DS ends at Limit32, so the head's load takes the checked path
        // (DS is not flat) and raises #GP(0) when ESI reaches the limit; the #GP handler records
        // the pushed EFLAGS in EBP and EIP in EDI.
        void Program(Assembler a)
        {
            var top = a.CreateLabel();
            a.Label(ref top);
            a.mov(ecx, __dword_ptr[esi]);
            a.add(esi, Stride);
            switch (op)
            {
                case "cmp": a.cmp(eax, ecx); break;
                case "add": a.add(eax, ecx); break;
                case "adc-1":
                    a.cmp(esi, -1);
                    a.adc(eax, -1);
                    break;
                case "imul": a.imul(eax, ecx); break;
                case "mul": a.mul(ecx); break;
                default: a.inc(ecx); break;
            }

            a.jmp(top);
        }

        AssertSameFault($"32-bit, {op}", Program, bitness: 32);
    }

    [Fact]
    public void AnIndirectJumpBlockPassesTheCarriedRecordOn()
    {
        // The loop goes back through JMP RAX (RAX = the loop head): from the SUB's block with the
        // SUB pending, and from a block holding only the JMP, reached by JZ after TEST, which
        // passes TEST's record on to the head (all the JMP's candidates take one, itself included).
        void Program(Assembler a)
        {
            var top = a.CreateLabel();
            var dispatch = a.CreateLabel();
            a.Label(ref top);
            a.mov(rcx, __qword_ptr[rsi]);
            a.add(rsi, Stride);
            a.lea(rax, __qword_ptr[top]);
            a.test(cl, 1);
            a.jz(dispatch);
            a.sub(rbx, rcx);
            a.jmp(rax);
            a.Label(ref dispatch);
            a.jmp(rax);
        }

        AssertSameFault("indirect pass-through", Program, region: true, cases: 10);
    }

    [Fact]
    public void AHandlerCallAtTheHeadGetsTheRecordPassedOnToIt()
    {
        // As above, but the head starts with PUSHFQ (a handler call, which reads every flag):
        // a record passed on through the JMP RAX block is materialised out of line before it.
        void Program(Assembler a)
        {
            var top = a.CreateLabel();
            var dispatch = a.CreateLabel();
            a.Label(ref top);
            a.pushfq();
            a.pop(rdx);
            a.xor(r8, rdx);
            a.mov(rcx, __qword_ptr[rsi]);
            a.add(rsi, Stride);
            a.lea(rax, __qword_ptr[top]);
            a.test(cl, 1);
            a.jz(dispatch);
            a.sub(rbx, rcx);
            a.jmp(rax);
            a.Label(ref dispatch);
            a.jmp(rax);
        }

        AssertSameFault("pushfq head", Program, region: true, cases: 10);
    }

    [Fact]
    public void ANotBetweenTheHeadsLoadsDoesNotDisturbTheRecord()
    {
        // NOT changes no flag but computes in the locals a pending record lives in (A and R):
        // the second load faults first, after it, and must still see the back edge's CMP flags.
        void Program(Assembler a)
        {
            var top = a.CreateLabel();
            a.Label(ref top);
            a.mov(rdx, __qword_ptr[rsi - 0x10]);
            a.not(rdi);
            a.mov(rcx, __qword_ptr[rsi + 8]);
            a.add(rsi, Stride);
            a.cmp(rcx, rax);
            a.jmp(top);
        }

        AssertSameFault("not in the head", Program);
    }

    [Fact]
    public void ALoopHeadThatReadsCarryAfterItsLoadGetsTheRealFlags()
    {
        // The head loads, then ADC reads CF before any instruction overwrites it: the record of
        // the CMP at the back edge cannot be carried past the reader and must be materialised.
        void Program(Assembler a)
        {
            var top = a.CreateLabel();
            a.Label(ref top);
            a.mov(rcx, __qword_ptr[rsi]);
            a.adc(rbx, rcx);
            a.add(rsi, Stride);
            a.cmp(rax, rcx);
            a.jmp(top);
        }

        AssertSameFault("adc head", Program);
    }
}
