using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.Cpu.Tests.SystemArchitecture;
using Emulator.TestKit;
using Xunit;
using static Emulator.Cpu.Tests.Paging.GuestPageTables;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Paging;

/// <summary>
/// 32-bit paging with 4 MiB pages (SDM Vol. 3A 4.3) and PAE paging with its PDPTE registers
/// (SDM 4.4), entered by guest code that loads CR3, CR4 and CR0 itself.
/// </summary>
public class LegacyAndPaeTests
{
    private const uint Directory = 0x10_0000;

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void FourMegabytePagesTranslateAndSetAccessedAndDirty(Engine engine)
    {
        // SDM 4.3, table 4-4: with CR4.PSE = 1 a PDE with PS = 1 maps a 4 MiB page; the physical
        // address is PDE[31:22] with linear[21:0]. 4.8: A is set on use, D on a write.
        using var m = new TestMachine().ProtectedMode32();
        m.Memory.Write(Directory, 4, 0 | P | RW | PS); // identity 0-4 MiB
        m.Memory.Write(Directory + (0x100 * 4), 4, 0x80_0000 | P | RW | PS); // 1 GiB -> 8 MiB
        m.Memory.Write(0x80_0000 + 0x12_3454, 4, 0xCAFE_F00D);
        m.Load(a =>
        {
            a.mov(eax, cr4);
            a.or(eax, (int)ControlBits.Cr4PSE);
            a.mov(cr4, eax);
            a.mov(eax, Directory);
            a.mov(cr3, eax);
            a.mov(eax, cr0);
            a.or(eax, unchecked((int)ControlBits.Cr0PG));
            a.mov(cr0, eax);
            a.mov(ebx, __dword_ptr[0x4012_3454]);
            a.mov(__dword_ptr[0x4000_0010], 0x1234_5678);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(0xCAFE_F00DUL, m.Reg(CpuState.RBX));
        Assert.Equal(0x1234_5678UL, m.Memory.Read(0x80_0010, 4));
        Assert.Equal(A | D, m.Memory.Read(Directory + (0x100 * 4), 4) & (A | D));
    }

    // PAE layout: the PDPT at 0x100020 (CR3 bits 31:5), PD0 (identity 2 MiB pages) and PD1 for 1-2 GiB.
    private const uint Pdpt32 = 0x10_0020, Pd0 = 0x10_1000, Pd1 = 0x10_2000, Pt1 = 0x10_3000, Pd1Alt = 0x10_4000;

    private static void BuildPae(TestMachine m, ulong pdpte1Flags = P)
    {
        m.Memory.Write(Pdpt32, 8, Pd0 | P);
        m.Memory.Write(Pdpt32 + 8, 8, Pd1 | pdpte1Flags);
        m.Memory.Write(Pdpt32 + 16, 8, 0);
        m.Memory.Write(Pdpt32 + 24, 8, 0);
        m.Memory.Write(Pd0, 8, 0 | P | RW | PS);
        m.Memory.Write(Pd1, 8, 0x80_0000 | P | RW | PS); // 0x40000000 -> 8 MiB (2 MiB page)
        m.Memory.Write(Pd1 + 8, 8, Pt1 | P | RW); // 0x40200000 -> page table
        m.Memory.Write(Pt1 + (5 * 8), 8, 0x90_0000 | P | RW); // 0x40205000 -> 9 MiB
        m.Memory.Write(Pd1Alt, 8, 0xA0_0000 | P | RW | PS); // the alternative PD: 0x40000000 -> 10 MiB
        m.Memory.Write(0x80_0010, 4, 0x8888);
        m.Memory.Write(0x90_0008, 4, 0x9999);
        m.Memory.Write(0xA0_0010, 4, 0xAAAA);
        ProtectedModeIdt.Install(m);
    }

    private static void EnablePae(Iced.Intel.Assembler a)
    {
        a.mov(eax, cr4);
        a.or(eax, (int)ControlBits.Cr4PAE);
        a.mov(cr4, eax);
        a.mov(eax, Pdpt32);
        a.mov(cr3, eax);
        a.mov(eax, cr0);
        a.or(eax, unchecked((int)ControlBits.Cr0PG));
        a.mov(cr0, eax);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void PaeTranslatesThroughThePdpteRegistersWhichOnlyACr3LoadRefreshes(Engine engine)
    {
        // SDM 4.4.1: PAE paging uses the four PDPTE registers, loaded by MOV to CR3 (and by MOV to
        // CR0/CR4 enabling PAE paging); a change of the PDPT in memory takes effect only at the
        // next load. INVLPG does not reload them (4.10.4.1 lists no PDPTE effect).
        using var m = new TestMachine().ProtectedMode32();
        BuildPae(m);
        m.Load(a =>
        {
            EnablePae(a);
            a.mov(ebx, __dword_ptr[0x4000_0010]);
            a.mov(ecx, __dword_ptr[0x4020_5008]);
            a.mov(__dword_ptr[Pdpt32 + 8], Pd1Alt | (int)P);
            a.invlpg(__[0x4000_0010]);
            a.mov(edx, __dword_ptr[0x4000_0010]);
            a.mov(eax, cr3);
            a.mov(cr3, eax);
            a.mov(esi, __dword_ptr[0x4000_0010]);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(0x8888UL, m.Reg(CpuState.RBX));
        Assert.Equal(0x9999UL, m.Reg(CpuState.RCX));
        Assert.Equal(0x8888UL, m.Reg(CpuState.RDX));
        Assert.Equal(0xAAAAUL, m.Reg(CpuState.RSI));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void EnablingPaePagingWithAReservedPdpteBitIsGeneralProtection(Engine engine)
    {
        // SDM 4.4.1: a present PDPTE with a reserved bit (here R/W, bit 1; table 4-8) makes the
        // MOV to CR0 that enables PAE paging #GP(0); the PDPTEs are not loaded and CR0 keeps PG = 0.
        using var m = new TestMachine().ProtectedMode32();
        BuildPae(m, pdpte1Flags: P | RW);
        m.Load(EnablePae).RunToHlt(engine);

        Assert.Equal((uint)Vector.GP, ProtectedModeIdt.RecordedVector(m));
        Assert.Equal(0u, ProtectedModeIdt.ErrorCode(m));
        Assert.Equal(0UL, m.S.Cr0 & ControlBits.Cr0PG);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void ReservedBitsInANotPresentPdpteAreIgnored(Engine engine)
    {
        // SDM 4.4.1: the reserved-bit check applies to PDPTEs whose P flag is 1.
        using var m = new TestMachine().ProtectedMode32();
        BuildPae(m);
        m.Memory.Write(Pdpt32 + 16, 8, 0xFFFF_FFFF_FFFF_FFFE);
        m.Load(a =>
        {
            EnablePae(a);
            a.mov(ebx, __dword_ptr[0x4000_0010]);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(0x8888UL, m.Reg(CpuState.RBX));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void Cr3LoadWithAReservedPdpteBitIsGeneralProtectionAndLeavesCr3(Engine engine)
    {
        // SDM 4.4.1: under PAE paging MOV to CR3 loads the PDPTEs from the new table; a reserved
        // bit (63:MAXPHYADDR here) is #GP(0) and the instruction has no effect.
        using var m = new TestMachine().ProtectedMode32();
        BuildPae(m);
        const uint badPdpt = 0x10_5000;
        m.Memory.Write(badPdpt, 8, Pd0 | P | (1UL << 45));
        m.Load(a =>
        {
            EnablePae(a);
            a.mov(eax, badPdpt);
            a.mov(cr3, eax);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal((uint)Vector.GP, ProtectedModeIdt.RecordedVector(m));
        Assert.Equal(0u, ProtectedModeIdt.ErrorCode(m));
        Assert.Equal((ulong)Pdpt32, m.S.Cr3);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void Cr4PgeChangeUnderPaeReloadsThePdptes(Engine engine)
    {
        // SDM 4.4.1: MOV to CR4 that changes PGE (or PAE, PSE, SMEP) while PAE paging stays in use
        // loads the PDPTEs from CR3; a reserved bit there is #GP(0) and CR4 keeps its value.
        using var m = new TestMachine().ProtectedMode32();
        BuildPae(m);
        m.Load(a =>
        {
            EnablePae(a);
            a.mov(__dword_ptr[Pdpt32 + 8], Pd1 | (int)(P | (1UL << 5)));
            a.mov(eax, cr4);
            a.or(eax, (int)ControlBits.Cr4PGE);
            a.mov(cr4, eax);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal((uint)Vector.GP, ProtectedModeIdt.RecordedVector(m));
        Assert.Equal(0UL, m.S.Cr4 & ControlBits.Cr4PGE);
    }
}
