using Emulator.Cpu;
using Emulator.Cpu.State;
using Emulator.Mmu;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.Tests.Tiering;

/// <summary>
/// A one-block loop runs whole iterations inside its translation (Jit/README.md), so the run loop
/// does not see the block boundaries where it takes interrupts. These tests pin the bound: an
/// interrupt signalled while the loop runs is taken at the end of the iteration that signalled it,
/// exactly where the interpreter takes it, and the instruction budget (the machine's timer slices)
/// is honoured to the instruction.
/// </summary>
public class LoopInterruptTests
{
    private const ulong HandlerAddress = 0x30000;
    private const byte TimerVector = 0x20;
    private const ulong KickAddress = 0x0100_0000; // MMIO just above the test machine's 16 MiB of RAM

    /// <summary>INTR: pending once raised, acknowledged as <see cref="TimerVector"/>.</summary>
    private sealed class Intr : IInterruptSource
    {
        private volatile bool _pending;

        public bool Pending
        {
            get => _pending;
            set => _pending = value;
        }

        public int Acknowledged { get; private set; }

        public bool HasInterrupt => Pending;

        public byte Acknowledge()
        {
            Pending = false;
            Acknowledged++;
            return TimerVector;
        }
    }

    /// <summary>
    /// An MMIO register whose <c>raiseAt</c>-th write raises INTR and signals the CPU, as a device
    /// on the vCPU thread does. A memory write does not end the block (a port write would).
    /// </summary>
    private sealed class KickDevice(X86Cpu cpu, Intr intr, int raiseAt) : IBusDevice
    {
        private int _writes;

        public string Name => "kick";

        public ulong Read(ulong offset, int size) => 0;

        public void Write(ulong offset, int size, ulong value)
        {
            if (++_writes == raiseAt)
            {
                intr.Pending = true;
                cpu.NotifyInterrupt();
            }
        }

        public void Reset() => _writes = 0;
    }

    /// <summary>An MMIO register that reads the CPU's instruction clock (<see cref="X86Cpu.RetiredNow"/>), as an icount timer does.</summary>
    private sealed class ClockDevice(X86Cpu cpu) : IBusDevice
    {
        public List<ulong> Readings { get; } = [];

        public string Name => "clock";

        public ulong Read(ulong offset, int size)
        {
            Readings.Add(cpu.RetiredNow);
            return 0;
        }

        public void Write(ulong offset, int size, ulong value)
        {
        }

        public void Reset() => Readings.Clear();
    }

    /// <summary>32-bit protected mode, IF set, vector 0x20 an interrupt gate to "mov ebx, ecx; hlt".</summary>
    private static (TestMachine Machine, Intr Intr) Setup()
    {
        var m = new TestMachine().ProtectedMode32();
        ulong gate = HandlerAddress & 0xFFFF | ((ulong)TestMachine.Code32 << 16) | (0x8EUL << 40) | ((HandlerAddress >> 16) << 48);
        m.Memory.Write(TestMachine.IdtAddress + (TimerVector * 8UL), 8, gate);
        m.S.Idtr = new TableRegister { Base = TestMachine.IdtAddress, Limit = 0x7FF };
        m.Load(a => { a.mov(ebx, ecx); a.hlt(); }, HandlerAddress);
        m.S.Rflags |= Flags.IF;
        var intr = new Intr();
        m.Cpu.Interrupts = intr;
        return (m, intr);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void InterruptRaisedInsideALoopIsTakenAtTheEndOfThatIteration(Engine engine)
    {
        var (m, intr) = Setup();
        using var machine = m;
        m.Memory.MapMmio("kick", KickAddress, 0x1000, new KickDevice(m.Cpu, intr, raiseAt: 100));
        m.Load(a =>
        {
            var top = a.CreateLabel();
            a.xor(edx, edx);
            a.Label(ref top);
            a.inc(ecx);
            a.mov(__dword_ptr[KickAddress], eax);
            a.cmp(ecx, 1_000_000);
            a.jne(top);
            a.hlt();
        });

        m.RunToHlt(engine, budget: 10_000_000);

        Assert.Equal(1, intr.Acknowledged);
        Assert.Equal(100UL, m.Reg(CpuState.RBX)); // the handler saw the loop after exactly 100 iterations
        if (engine == Engine.Jit)
        {
            Assert.True(m.Cpu.CompiledInstructions >= 99 * 4, $"the loop ran compiled ({m.Cpu.CompiledInstructions} instructions)");
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void TheInstructionClockReadInsideALoopAdvancesByOneIterationEachTime(Engine engine)
    {
        // A translation keeps the loop budget in a local: a device read from inside it (the MMIO
        // read is a call out on the TLB-miss path) must still see every iteration completed so far.
        // Each iteration is 5 instructions, one of them the read, in one block.
        var (m, _) = Setup();
        using var machine = m;
        var clock = new ClockDevice(m.Cpu);
        m.Memory.MapMmio("clock", KickAddress, 0x1000, clock);
        m.Load(a =>
        {
            var top = a.CreateLabel();
            a.Label(ref top);
            a.inc(ecx);
            a.mov(eax, __dword_ptr[KickAddress]);
            a.add(edx, eax);
            a.cmp(ecx, 30_000);
            a.jne(top);
            a.hlt();
        });

        m.RunToHlt(engine, budget: 10_000_000);

        Assert.Equal(30_000, clock.Readings.Count);
        for (int n = 1; n < clock.Readings.Count; n++)
        {
            Assert.True(clock.Readings[n] - clock.Readings[n - 1] == 5, $"reading {n}: {clock.Readings[n - 1]} then {clock.Readings[n]}");
        }

        if (engine == Engine.Jit)
        {
            Assert.True(m.Cpu.CompiledInstructions > 5 * 5000, $"the loop ran compiled ({m.Cpu.CompiledInstructions} instructions)");
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void TimerBetweenSlicesInterruptsATightLoop(Engine engine)
    {
        var (m, intr) = Setup();
        using var machine = m;
        m.Load(a =>
        {
            var top = a.CreateLabel();
            a.Label(ref top);
            a.inc(ecx);
            a.jmp(top);
        });

        // Slices of 1001 instructions (an odd size: the last iteration of a slice is cut in two),
        // then a "timer" raises INTR between slices, as the machine's clock does.
        for (int slice = 0; slice < 6; slice++)
        {
            Assert.Equal(StopReason.Budget, m.Run(engine, budget: 1001));
            Assert.Equal((ulong)(1001 * (slice + 1)), m.S.InstructionsRetired);
        }

        intr.Pending = true;
        Assert.Equal(StopReason.Halted, m.Run(engine, budget: 1001));
        Assert.Equal(1, intr.Acknowledged);
        Assert.Equal(3003UL, m.Reg(CpuState.RBX)); // 6006 instructions of two per iteration
        if (engine == Engine.Jit)
        {
            Assert.True(m.Cpu.CompiledInstructions > 5000, $"the loop ran compiled ({m.Cpu.CompiledInstructions} instructions)");
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void InterruptRaisedInsideARegionIsTakenBeforeTheNextIteration(Engine engine)
    {
        // A two-block loop (a region on the JIT): the 100th write, in the first block, raises
        // INTR. The interpreter takes it where that block ends, before the second block adds
        // ECX; a region looks at the interrupt poll on its branches back (Jit/README.md), so
        // after the second block. Either way before the next INC.
        var (m, intr) = Setup();
        using var machine = m;
        m.Memory.MapMmio("kick", KickAddress, 0x1000, new KickDevice(m.Cpu, intr, raiseAt: 100));
        m.Load(a =>
        {
            var top = a.CreateLabel();
            var done = a.CreateLabel();
            a.xor(edx, edx);
            a.Label(ref top);
            a.inc(ecx);
            a.mov(__dword_ptr[KickAddress], eax);
            a.cmp(ecx, 1_000_000);
            a.jae(done);
            a.add(edx, ecx);
            a.jmp(top);
            a.Label(ref done);
            a.hlt();
        });

        m.RunToHlt(engine, budget: 10_000_000);

        Assert.Equal(1, intr.Acknowledged);
        Assert.Equal(100UL, m.Reg(CpuState.RBX));
        Assert.Equal(99UL * 100 / 2 + (engine == Engine.Jit ? 100UL : 0), m.Reg(CpuState.RDX));
        if (engine == Engine.Jit)
        {
            Assert.True(m.Cpu.RegionTransitions > 0, "no branch inside a region was taken");
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void InterruptRaisedInATranslationChainedFromAnInterpretedBlockIsTakenWhereItEnds(Engine engine)
    {
        // Blocks A (every iteration), B (odd ones) and C (every iteration, the MMIO write),
        // each compiled on its own at its 40th entry: from iteration 40 to 80 the interpreted B
        // goes on into the translation of C, and C's into A's, in the run loop's chain
        // (X86Cpu.RunChain). The 60th write raises INTR: every engine takes it where C ends.
        using var m = RunThreeBlockLoopToTheInterrupt(engine, jitThreshold: 40);
        if (engine == Engine.Jit)
        {
            Assert.True(m.Cpu.CompiledEntries > 20, $"the blocks ran compiled ({m.Cpu.CompiledEntries} entries)");
        }
    }

    /// <summary>
    /// <see cref="ThreeBlockLoop"/> with C's 60th write raising INTR, blocks compiled on their own
    /// at entry <paramref name="jitThreshold"/>: every engine takes the interrupt where C ends.
    /// </summary>
    private static TestMachine RunThreeBlockLoopToTheInterrupt(Engine engine, long jitThreshold)
    {
        var (m, intr) = Setup();
        m.JitThreshold = jitThreshold;
        m.JitRegions = false;
        m.Memory.MapMmio("kick", KickAddress, 0x1000, new KickDevice(m.Cpu, intr, raiseAt: 60));
        m.Load(a => ThreeBlockLoop(a, read: false));

        m.RunToHlt(engine, budget: 10_000_000);

        Assert.Equal(1, intr.Acknowledged);
        Assert.Equal(60UL, m.Reg(CpuState.RBX));
        Assert.Equal(30UL, m.Reg(CpuState.RDX));
        return m;
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void TimerBetweenSlicesInterruptsATwoBlockLoop(Engine engine)
    {
        var (m, intr) = Setup();
        using var machine = m;
        m.Load(a =>
        {
            var top = a.CreateLabel();
            var odd = a.CreateLabel();
            a.Label(ref top);
            a.inc(ecx);
            a.test(ecx, 1);
            a.jnz(odd);
            a.add(edx, 1);
            a.Label(ref odd);
            a.jmp(top);
        });

        // Slices of 997 instructions, then INTR between slices: every slice ends exactly on budget.
        for (int slice = 0; slice < 8; slice++)
        {
            Assert.Equal(StopReason.Budget, m.Run(engine, budget: 997));
            Assert.Equal((ulong)(997 * (slice + 1)), m.S.InstructionsRetired);
        }

        intr.Pending = true;
        Assert.Equal(StopReason.Halted, m.Run(engine, budget: 997));
        Assert.Equal(1, intr.Acknowledged);

        // Odd ECX takes 4 instructions (INC, TEST, JNZ, JMP), even ECX 5 (ADD too): 9 a pair, the
        // INCs being the pair's first and fifth. The handler copies ECX as the slices left it.
        const int retired = 997 * 8;
        const int pairs = retired / 9, rest = retired % 9;
        Assert.Equal((ulong)((2 * pairs) + (rest >= 1 ? 1 : 0) + (rest >= 5 ? 1 : 0)), m.Reg(CpuState.RBX));
        if (engine == Engine.Jit)
        {
            Assert.True(m.Cpu.RegionTransitions > 0, "no branch inside a region was taken");
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void InterruptFromAnotherThreadBreaksAnEndlessLoop(Engine engine)
    {
        var (m, intr) = Setup();
        using var machine = m;
        m.Load(a =>
        {
            var top = a.CreateLabel();
            a.Label(ref top);
            a.inc(ecx);
            a.jmp(top);
        });

        using var raiser = new Timer(_ =>
        {
            intr.Pending = true;
            m.Cpu.NotifyInterrupt();
        }, null, 50, Timeout.Infinite);
        Assert.Equal(StopReason.Halted, m.Run(engine, budget: long.MaxValue));
        Assert.Equal(1, intr.Acknowledged);
        Assert.Equal(m.Reg(CpuState.RCX), m.Reg(CpuState.RBX));
    }

    /// <summary>
    /// Blocks A (every iteration), B (odd ones) and C (every iteration, the MMIO access), each
    /// compiled on its own at its first entry, so that from the second iteration on each
    /// translation goes on into the next one's (X86Cpu.RunCompiled) rather than through the run loop.
    /// </summary>
    private static void ThreeBlockLoop(Assembler a, bool read)
    {
        var top = a.CreateLabel();
        var skip = a.CreateLabel();
        a.xor(edx, edx);
        a.Label(ref top);
        a.inc(ecx);
        a.test(ecx, 1);
        a.jz(skip);
        a.inc(edx);
        a.cmp(edx, -1);
        a.je(top);
        a.Label(ref skip);
        if (read)
        {
            a.add(esi, __dword_ptr[KickAddress]);
        }
        else
        {
            a.mov(__dword_ptr[KickAddress], eax);
        }

        a.cmp(ecx, 1_000_000);
        a.jne(top);
        a.hlt();
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void InterruptRaisedInAChainOfTranslationsIsTakenWhereTheBlockEnds(Engine engine)
    {
        // Compiled at first entry: C's translation goes on into A's, A's into B's or C's.
        using var m = RunThreeBlockLoopToTheInterrupt(engine, jitThreshold: 0);
        if (engine == Engine.Jit)
        {
            Assert.True(m.Cpu.TranslationsChained > 50, $"translations went on into the next ({m.Cpu.TranslationsChained} times)");
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void TheInstructionClockReadInAChainOfTranslationsCountsEveryBlockBefore(Engine engine)
    {
        // An iteration is 9 instructions (odd ECX) or 6 (even ECX: B skipped); C's read is its
        // first instruction: the clock must count the blocks the chain ran through before C's
        // translation, as it counts them in the interpreter.
        var (m, _) = Setup();
        using var machine = m;
        m.JitRegions = false;
        var clock = new ClockDevice(m.Cpu);
        m.Memory.MapMmio("clock", KickAddress, 0x1000, clock);
        m.Load(a => ThreeBlockLoop(a, read: true));

        Assert.Equal(StopReason.Budget, m.Run(engine, budget: 20_000));

        Assert.True(clock.Readings.Count > 1000, $"{clock.Readings.Count} readings");
        for (int n = 1; n < clock.Readings.Count; n++)
        {
            // Reading n was made in iteration n + 1 (ECX = n + 1), after that iteration's A and B.
            ulong expected = (n + 1) % 2 == 1 ? 9UL : 6UL;
            Assert.True(clock.Readings[n] - clock.Readings[n - 1] == expected, $"reading {n}: {clock.Readings[n - 1]} then {clock.Readings[n]}");
        }

        if (engine == Engine.Jit)
        {
            Assert.True(m.Cpu.TranslationsChained > 1000, $"translations went on into the next ({m.Cpu.TranslationsChained} times)");
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void SlicesEndInsideAChainOfTranslationsToTheInstruction(Engine engine)
    {
        // Slices of 997 instructions (prime: they end in every block, at every offset) stop the
        // chain exactly where the budget runs out; the registers then are the interpreter's.
        var (m, _) = Setup();
        using var machine = m;
        m.JitRegions = false;
        m.Memory.MapMmio("kick", KickAddress, 0x1000, new ClockDevice(m.Cpu));
        m.Load(a => ThreeBlockLoop(a, read: false));
        using var reference = new TestMachine().ProtectedMode32();
        reference.Memory.MapMmio("kick", KickAddress, 0x1000, new ClockDevice(reference.Cpu));
        reference.Load(a => ThreeBlockLoop(a, read: false));

        for (int slice = 1; slice <= 40; slice++)
        {
            Assert.Equal(StopReason.Budget, m.Run(engine, budget: 997));
            Assert.Equal(StopReason.Budget, reference.Run(Engine.Interpreter, budget: 997));
            Assert.Equal((ulong)(997 * slice), m.S.InstructionsRetired);
            Assert.True(reference.S.Rip == m.S.Rip, $"slice {slice}: RIP {m.S.Rip:x}, interpreter {reference.S.Rip:x}");
            Assert.Equal(reference.Reg(CpuState.RCX), m.Reg(CpuState.RCX));
            Assert.Equal(reference.Reg(CpuState.RDX), m.Reg(CpuState.RDX));
        }

        if (engine == Engine.Jit)
        {
            Assert.True(m.Cpu.TranslationsChained > 1000, $"translations went on into the next ({m.Cpu.TranslationsChained} times)");
        }
    }

    [Fact]
    public void TheInterpretersInstructionClockCountsTheInstructionsOfItsBlockBeforeTheRead()
    {
        // The interpreter adds a block's retired instructions to the count as it leaves the block
        // (X86Cpu.RetireFast): a read in the middle of a block must still see those before it,
        // the first read 3 (the NOPs), the second 3 + 4 (the read, the ADD, two more NOPs).
        var (m, _) = Setup();
        using var machine = m;
        var clock = new ClockDevice(m.Cpu);
        m.Memory.MapMmio("clock", KickAddress, 0x1000, clock);
        m.Load(a =>
        {
            a.nop();
            a.nop();
            a.nop();
            a.mov(eax, __dword_ptr[KickAddress]);
            a.add(edx, eax);
            a.nop();
            a.nop();
            a.mov(eax, __dword_ptr[KickAddress]);
            a.hlt();
        });

        m.RunToHlt(Engine.Interpreter);

        Assert.Equal([3UL, 7UL], clock.Readings);
        Assert.Equal(9UL, m.S.InstructionsRetired);
    }
}
