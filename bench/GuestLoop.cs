using Emulator.Cpu;
using Emulator.Cpu.State;
using Emulator.Mmu.Physical;
using Emulator.Mmu.Ports;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Bench;

/// <summary>
/// A fixed 64-bit guest loop in a flat long-mode machine: an integer kernel (a xorshift hash
/// over a 4 KiB buffer with loads, stores, ALU and a taken branch) that the benchmarks run.
/// </summary>
public sealed class GuestLoop : IDisposable
{
    public const ulong Code = 0x10000;
    public const ulong Buffer = 0x40000;

    public GuestLoop()
        : this(XorshiftKernel)
    {
    }

    /// <summary>A flat long-mode machine running <paramref name="program"/>, assembled at <see cref="Code"/>.</summary>
    public GuestLoop(Action<Assembler> program)
    {
        Ram = new GuestRam(16 << 20);
        Memory = new PhysicalMemory(Ram);
        Memory.MapRam("ram", 0, 0, Ram.Size);
        Cpu = new X86Cpu(Memory, new IoPortSpace());

        var a = new Assembler(64);
        program(a);
        var writer = new Writer();
        a.Assemble(writer, Code);
        Memory.WriteBytes(Code, writer.Bytes.ToArray());
        Reset();
    }

    /// <summary>The default kernel: 12 instructions per iteration in one block.</summary>
    private static void XorshiftKernel(Assembler a)
    {
        var top = a.CreateLabel();
        a.mov(rsi, Buffer);
        a.xor(ecx, ecx);
        a.mov(rax, 0x9E3779B97F4A7C15);
        a.Label(ref top);
        a.mov(rdx, rax);
        a.shl(rdx, 13);
        a.xor(rax, rdx);
        a.mov(rdx, rax);
        a.shr(rdx, 7);
        a.xor(rax, rdx);
        a.mov(rdx, rcx);
        a.and(edx, 511);
        a.add(__qword_ptr[rsi + rdx * 8], rax);
        a.inc(rcx);
        a.cmp(rcx, 1 << 30);
        a.jne(top);
        a.hlt();
    }

    public GuestRam Ram { get; }

    public PhysicalMemory Memory { get; }

    public X86Cpu Cpu { get; }

    /// <summary>Puts the CPU in flat 64-bit mode at the start of the loop (paging with 2 MiB identity pages).</summary>
    public void Reset()
    {
        const ulong pml4 = 0x200000, pdpt = 0x201000, pd = 0x202000;
        Memory.Write(pml4, 8, pdpt | 3);
        Memory.Write(pdpt, 8, pd | 3);
        for (ulong k = 0; k < 8; k++)
        {
            Memory.Write(pd + (8 * k), 8, (k << 21) | 0x83);
        }

        Cpu.Reset();
        ref CpuState s = ref Cpu.S;
        s.Cr0 = ControlBits.Cr0PE | ControlBits.Cr0PG | ControlBits.Cr0ET;
        s.Cr3 = pml4;
        s.Cr4 = ControlBits.Cr4PAE;
        s.Efer = ControlBits.EferLME | ControlBits.EferLMA;
        s.Cs = X86Cpu.FromDescriptor(8, 0x00AF9B000000FFFF);
        s.Ss = s.Ds = s.Es = X86Cpu.FromDescriptor(16, 0x00CF93000000FFFF);
        s.Rip = Code;
        s.Gpr[CpuState.RSP] = 0x8000;
        Cpu.Tlb.FlushAll();
    }

    public void Dispose()
    {
        Cpu.Dispose();
        Memory.Dispose();
        Ram.Dispose();
    }

    private sealed class Writer : CodeWriter
    {
        public List<byte> Bytes { get; } = [];

        public override void WriteByte(byte value) => Bytes.Add(value);
    }
}
