using Emulator.Cpu;
using Emulator.Cpu.State;
using Emulator.Jit.Tiering;
using Emulator.Mmu.Physical;
using Emulator.Mmu.Ports;
using Iced.Intel;

namespace Emulator.TestKit;

/// <summary>
/// A mini machine for CPU tests: RAM, an empty port space, one CPU, and helpers that put the CPU
/// in real, 32-bit protected or 64-bit long mode without running any setup code. Programs are
/// assembled with Iced's <see cref="Assembler"/> at <see cref="CodeAddress"/> and end in HLT.
/// </summary>
public sealed class TestMachine : IDisposable
{
    public const ulong CodeAddress = 0x10000;
    public const ulong GdtAddress = 0x1000;
    public const ulong IdtAddress = 0x2000;
    public const ulong PageTableAddress = 0x20_0000; // PML4, PDPT, 1 PD: 3 pages
    public const ulong StackTop = 0x8000;
    public const ulong DataAddress = 0x40000;

    // GDT selectors built by the mode helpers.
    public const ushort Code64 = 0x08, Data = 0x10, Code32 = 0x18, Code16 = 0x20, Data16 = 0x28;

    public TestMachine(ulong ramBytes = 16 << 20)
    {
        Ram = new GuestRam(ramBytes);
        Memory = new PhysicalMemory(Ram);
        Memory.MapRam("ram", 0, 0, ramBytes);
        // Every implemented extension, so instruction tests reach all of them (the feature gate's
        // own tests choose smaller models).
        Cpu = new X86Cpu(Memory, Ports) { Model = CpuModel.Max };
        Cpu.Log = Log.Add;
    }

    public GuestRam Ram { get; }

    public PhysicalMemory Memory { get; }

    public IoPortSpace Ports { get; } = new();

    public X86Cpu Cpu { get; }

    /// <summary>Lines the CPU logged (unimplemented instructions, triple faults).</summary>
    public List<string> Log { get; } = [];

    public ref CpuState S => ref Cpu.S;

    public int Bitness { get; private set; } = 16;

    /// <summary>Real-mode code segment holding the code address, so that IP starts at 0 (an IP is 16 bits).</summary>
    public const ushort RealModeCodeSegment = (ushort)(CodeAddress >> 4);

    /// <summary>Real mode with CS:IP = 1000:0000 (the code address), DS = ES = SS = 0, SP at the stack top.</summary>
    public TestMachine RealMode()
    {
        Cpu.Reset();
        ref CpuState s = ref S;
        s.Cs = SegmentRegister.RealMode(RealModeCodeSegment, code: true);
        s.Ds = s.Es = s.Ss = s.Fs = s.Gs = SegmentRegister.RealMode(0);
        s.Idtr = new TableRegister { Base = 0, Limit = 0x3FF };
        s.Rip = 0;
        s.Gpr[CpuState.RSP] = StackTop;
        Bitness = 16;
        return this;
    }

    /// <summary>32-bit protected mode, flat 4 GiB segments, paging off, CPL 0.</summary>
    public TestMachine ProtectedMode32()
    {
        Cpu.Reset();
        WriteGdt();
        ref CpuState s = ref S;
        s.Cr0 = ControlBits.Cr0PE | ControlBits.Cr0ET;
        s.Cs = X86Cpu.FromDescriptor(Code32, GdtEntries[Code32 / 8]);
        var data = X86Cpu.FromDescriptor(Data, GdtEntries[Data / 8]);
        s.Ds = s.Es = s.Ss = s.Fs = s.Gs = data;
        s.Rip = CodeAddress;
        s.Gpr[CpuState.RSP] = StackTop;
        Bitness = 32;
        return this;
    }

    /// <summary>64-bit long mode, CPL 0, the first 1 GiB identity-mapped with 2 MiB pages.</summary>
    public TestMachine LongMode()
    {
        Cpu.Reset();
        WriteGdt();
        ulong pml4 = PageTableAddress, pdpt = pml4 + 0x1000, pd = pml4 + 0x2000;
        Memory.Write(pml4, 8, pdpt | 0x7);
        Memory.Write(pdpt, 8, pd | 0x7);
        for (ulong k = 0; k < 512; k++)
        {
            Memory.Write(pd + (k * 8), 8, (k << 21) | 0x87); // present, writable, user, 2 MiB page
        }

        ref CpuState s = ref S;
        s.Cr0 = ControlBits.Cr0PE | ControlBits.Cr0ET | ControlBits.Cr0PG | ControlBits.Cr0WP;
        s.Cr3 = pml4;
        s.Cr4 = ControlBits.Cr4PAE;
        s.Efer = ControlBits.EferLME | ControlBits.EferLMA | ControlBits.EferNXE;
        s.Cs = X86Cpu.FromDescriptor(Code64, GdtEntries[Code64 / 8]);
        var data = X86Cpu.FromDescriptor(Data, GdtEntries[Data / 8]);
        s.Ds = s.Es = s.Ss = s.Fs = s.Gs = data;
        s.Rip = CodeAddress;
        s.Gpr[CpuState.RSP] = StackTop;
        Cpu.Tlb.FlushAll();
        Bitness = 64;
        return this;
    }

    /// <summary>The mode helper for a bitness: 16 = real mode, 32 = protected mode, 64 = long mode.</summary>
    public TestMachine Mode(int bitness) => bitness switch
    {
        16 => RealMode(),
        32 => ProtectedMode32(),
        64 => LongMode(),
        _ => throw new ArgumentOutOfRangeException(nameof(bitness)),
    };

    /// <summary>Null, 64-bit code, flat data, 32-bit code, 16-bit code, 16-bit data (SDM figure 3-8 layout).</summary>
    public static readonly ulong[] GdtEntries =
    [
        0,
        0x00AF9B000000FFFF,
        0x00CF93000000FFFF,
        0x00CF9B000000FFFF,
        0x00009B000000FFFF,
        0x000093000000FFFF,
    ];

    private void WriteGdt()
    {
        for (int k = 0; k < GdtEntries.Length; k++)
        {
            Memory.Write(GdtAddress + (ulong)(8 * k), 8, GdtEntries[k]);
        }

        S.Gdtr = new TableRegister { Base = GdtAddress, Limit = (ushort)((8 * GdtEntries.Length) - 1) };
    }

    /// <summary>
    /// Assembles a program for the current mode at the code address and loads it. 16-bit code is
    /// assembled for IP = the address's offset in its 64 KiB block (the code address is 1000:0000,
    /// a handler at 3000h runs as 0000:3000).
    /// </summary>
    public TestMachine Load(Action<Assembler> program, ulong address = CodeAddress)
    {
        var asm = new Assembler(Bitness);
        program(asm);
        Memory.WriteBytes(address, asm.AssembleBytes(Bitness == 16 ? address & 0xFFFF : address));
        return this;
    }

    public TestMachine LoadBytes(byte[] code, ulong address = CodeAddress)
    {
        Memory.WriteBytes(address, code);
        return this;
    }

    /// <summary>The translator, attached by the first run on <see cref="Engine.Jit"/>.</summary>
    public JitCompiler? Jit { get; private set; }

    /// <summary>Block entries before the JIT compiles a block in <see cref="Engine.Jit"/> runs (0: on first entry).</summary>
    public long JitThreshold { get; set; }

    /// <summary>
    /// <see cref="JitOptions.OptimizeThreshold"/> of <see cref="Engine.Jit"/> runs: by default blocks
    /// other than one-block loops get the quick tier (RyuJIT MinOpts); 0 compiles every block optimized.
    /// </summary>
    public long JitOptimizeThreshold { get; set; } = new JitOptions().OptimizeThreshold;

    /// <summary><see cref="JitOptions.Regions"/> of <see cref="Engine.Jit"/> runs (false: every block compiled on its own).</summary>
    public bool JitRegions { get; set; } = true;

    /// <summary>Runs on <paramref name="engine"/> until HLT (or the budget), returning why it stopped.</summary>
    public StopReason Run(Engine engine = Engine.Interpreter, long budget = 1_000_000)
    {
        switch (engine)
        {
            case Engine.Interpreter:
                Jit?.Dispose();
                Jit = null;
                return Cpu.Run(budget);
            case Engine.Jit:
                Jit ??= new JitCompiler(new JitOptions { Threshold = JitThreshold, Synchronous = true, OptimizeThreshold = JitOptimizeThreshold, Regions = JitRegions }).Attach(Cpu);
                return Cpu.Run(budget);
            default:
                throw new ArgumentOutOfRangeException(nameof(engine));
        }
    }

    /// <summary>Runs and requires that the program reached HLT.</summary>
    public TestMachine RunToHlt(Engine engine = Engine.Interpreter, long budget = 1_000_000)
    {
        var reason = Run(engine, budget);
        // A handler that throws is turned into #UD for the guest's sake; in a test it is a bug to report.
        if (Log.Find(line => line.Contains("internal error", StringComparison.Ordinal)) is { } internalError)
        {
            throw new InvalidOperationException(internalError);
        }

        if (reason != StopReason.Halted)
        {
            throw new InvalidOperationException($"expected HLT, stopped by {reason} at RIP {S.Rip:x}; log: {string.Join(" | ", Log)}");
        }

        return this;
    }

    public ulong Reg(int index) => S.Gpr[index];

    public void Dispose()
    {
        Jit?.Dispose();
        Cpu.Dispose();
        Memory.Dispose();
        Ram.Dispose();
    }
}
