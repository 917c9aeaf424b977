using Emulator.Cpu.State;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Modes;

/// <summary>
/// Guest code switches modes itself: real mode -> 32-bit protected mode (LGDT, CR0.PE, far JMP;
/// SDM Vol. 3A 10.9.1) -> IA-32e mode (CR4.PAE, CR3, EFER.LME, CR0.PG, far JMP to a 64-bit code
/// segment; SDM Vol. 3A 10.8.5). Three pieces assembled at their own bitness and addresses.
/// </summary>
public class ModeSwitchTests
{
    private const ulong Code32Address = 0x11000;
    private const ulong Code64Address = 0x12000;
    private const ulong GdtPointer = 0x0F00;
    private const ulong Pml4 = 0x20_0000;
    private const ulong Seed = 0x1234_5678_9ABC_DEF0;

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void RealToProtectedToLongModeByGuestCode(Engine engine)
    {
        using var m = new TestMachine().RealMode();
        for (int k = 0; k < TestMachine.GdtEntries.Length; k++)
        {
            m.Memory.Write(TestMachine.GdtAddress + (ulong)(8 * k), 8, TestMachine.GdtEntries[k]);
        }

        m.Memory.Write(GdtPointer, 2, (ulong)((8 * TestMachine.GdtEntries.Length) - 1));
        m.Memory.Write(GdtPointer + 2, 4, TestMachine.GdtAddress);

        Put(m, 16, TestMachine.CodeAddress, 0, a =>
        {
            a.cli();
            a.lgdt(__[GdtPointer]);
            a.mov(eax, cr0);
            a.or(eax, 1);
            a.mov(cr0, eax);
            a.AddInstruction(Instruction.CreateBranch(Code.Jmp_ptr1632, TestMachine.Code32, (uint)Code32Address));
        });

        Put(m, 32, Code32Address, Code32Address, a =>
        {
            a.mov(ax, TestMachine.Data);
            a.mov(ds, ax);
            a.mov(es, ax);
            a.mov(ss, ax);
            a.mov(esp, (uint)TestMachine.StackTop);
            // PML4[0] -> PDPT, PDPT[0] -> PD, PD[0] = one 2 MiB identity page (SDM Vol. 3A 4.5).
            a.mov(__dword_ptr[(uint)Pml4], (uint)(Pml4 + 0x1000) | 3);
            a.mov(__dword_ptr[(uint)(Pml4 + 0x1000)], (uint)(Pml4 + 0x2000) | 3);
            a.mov(__dword_ptr[(uint)(Pml4 + 0x2000)], 0x83u);
            a.mov(eax, cr4);
            a.or(eax, 0x20); // PAE
            a.mov(cr4, eax);
            a.mov(eax, (uint)Pml4);
            a.mov(cr3, eax);
            a.mov(ecx, 0xC000_0080); // IA32_EFER
            a.rdmsr();
            a.or(eax, 0x100); // LME
            a.wrmsr();
            a.mov(eax, cr0);
            a.or(eax, 0x8000_0000); // PG: activates IA-32e mode
            a.mov(cr0, eax);
            a.AddInstruction(Instruction.CreateBranch(Code.Jmp_ptr1632, TestMachine.Code64, (uint)Code64Address));
        });

        Put(m, 64, Code64Address, Code64Address, a =>
        {
            a.mov(rax, Seed);
            a.mov(rbx, rax);
            a.shl(rbx, 4);
            a.add(rax, rbx);
            a.push(rax);
            a.pop(rcx);
            a.hlt();
        });

        m.RunToHlt(engine);

        ref CpuState s = ref m.S;
        Assert.NotEqual(0UL, s.Efer & ControlBits.EferLMA);
        Assert.True(s.Cs.Long);
        Assert.Equal(TestMachine.Code64, s.Cs.Selector);
        Assert.Equal(64, s.Bitness);
        Assert.Equal(ControlBits.Cr0PE | ControlBits.Cr0PG, s.Cr0 & (ControlBits.Cr0PE | ControlBits.Cr0PG));
        ulong expected = unchecked(Seed + (Seed << 4));
        Assert.Equal(expected, s.Gpr[CpuState.RAX]);
        Assert.Equal(expected, s.Gpr[CpuState.RCX]);
        Assert.Equal(TestMachine.StackTop, s.Gpr[CpuState.RSP]);
    }

    /// <summary>Assembles <paramref name="code"/> for <paramref name="bitness"/> at instruction pointer <paramref name="ip"/> and stores it at <paramref name="address"/>.</summary>
    private static void Put(TestMachine m, int bitness, ulong address, ulong ip, Action<Assembler> code)
    {
        var asm = new Assembler(bitness);
        code(asm);
        m.Memory.WriteBytes(address, asm.AssembleBytes(ip));
    }
}
