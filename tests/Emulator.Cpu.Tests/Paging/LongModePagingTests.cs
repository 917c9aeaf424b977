using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.Cpu.Tests.Exceptions;
using Emulator.TestKit;
using Xunit;
using static Emulator.Cpu.Tests.Paging.GuestPageTables;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Paging;

/// <summary>
/// 4-level paging from guest code: 1 GiB pages, reserved bits, CR0.WP, NX, global pages and the
/// TLB invalidation rules of SDM Vol. 3A 4.10.4. Faults land in <see cref="LongModeIdt"/>'s stubs
/// (R8 = vector, R10 = error code, R11 = CR2).
/// </summary>
public class LongModePagingTests
{
    private const uint PfPresent = 1, PfWrite = 2, PfReserved = 8, PfFetch = 0x10;

    private static ulong Vec(TestMachine m) => m.Reg(8);

    private static ulong ErrorCode(TestMachine m) => m.Reg(10);

    private static ulong FaultCr2(TestMachine m) => m.Reg(11);

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void OneGigabytePagesTranslateAndReservedBitsFault(Engine engine)
    {
        // SDM 4.5.4, table 4-16: a PDPTE with PS = 1 maps a 1 GiB page (PDPTE[51:30] with
        // linear[29:0]); bits 29:13 are reserved, and a set one is #PF with P and RSVD (4.7).
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.Memory.Write(Pdpt + 8, 8, 0 | P | RW | PS);
        m.Memory.Write(Pdpt + 16, 8, 0 | P | RW | PS | (1UL << 13));
        m.Memory.Write(TestMachine.DataAddress, 8, 0x5151);
        m.Load(a =>
        {
            a.mov(rax, 0x4000_0000 + TestMachine.DataAddress);
            a.mov(rbx, __qword_ptr[rax]);
            a.mov(__qword_ptr[rax + 8], 0x77);
            a.mov(rax, 0x8000_0000);
            a.mov(rcx, __qword_ptr[rax]);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(0x5151UL, m.Reg(CpuState.RBX));
        Assert.Equal(0x77UL, m.Memory.Read(TestMachine.DataAddress + 8, 8));
        Assert.Equal(A | D, m.Memory.Read(Pdpt + 8, 8) & (A | D));
        Assert.Equal((ulong)Vector.PF, Vec(m));
        Assert.Equal(PfPresent | PfReserved, ErrorCode(m));
        Assert.Equal(0x8000_0000UL, FaultCr2(m));
    }

    public static TheoryData<string, ulong, ulong, bool, uint> ReservedCases => new()
    {
        // name, entry address, entry value, write, expected error code (SDM 4.5.4 tables 4-15 to 4-20, 4.7).
        { "PTE bit above MAXPHYADDR", PteAddress(FreeTables, TestLinear), PhysA | P | RW | (1UL << 45), false, PfPresent | PfReserved },
        { "PTE bit above MAXPHYADDR, write", PteAddress(FreeTables, TestLinear), PhysA | P | RW | (1UL << 45), true, PfPresent | PfWrite | PfReserved },
        { "2 MiB PDE bit 13", PdeAddress(0x60_0000), 0x60_0000 | P | RW | PS | (1UL << 13), false, PfPresent | PfReserved },
    };

    [Theory]
    [MemberData(nameof(ReservedCases))]
    public void ReservedBitsRaisePageFaultWithRsvd(string name, ulong entryAddress, ulong entry, bool write, uint expected)
    {
        _ = name;
        using var m = new TestMachine();
        LongModeWithTestPage(m);
        LongModeIdt.Install(m);
        ulong target = entryAddress == PdeAddress(0x60_0000) ? 0x60_0000 : TestLinear;
        m.Load(a =>
        {
            a.mov(rax, entry);
            a.mov(rdx, entryAddress);
            a.mov(rbx, target);
            a.mov(__qword_ptr[rdx], rax);
            if (write)
            {
                a.mov(__qword_ptr[rbx], rax);
            }
            else
            {
                a.mov(rcx, __qword_ptr[rbx]);
            }

            a.hlt();
        }).RunToHlt();
        Assert.Equal((ulong)Vector.PF, Vec(m));
        Assert.Equal(expected, ErrorCode(m));
        Assert.Equal(target, FaultCr2(m));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void PsInAPml4eIsReserved(Engine engine)
    {
        // SDM 4.5.4, table 4-14: PML4E bit 7 is reserved. The second PML4 entry (512 GiB up)
        // points at the same PDPT with PS = 1.
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.Memory.Write(Pml4 + 8, 8, Pdpt | P | RW | US | PS);
        m.Load(a =>
        {
            a.mov(rax, 0x80_0000_0000UL + TestMachine.DataAddress);
            a.mov(rcx, __qword_ptr[rax]);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal((ulong)Vector.PF, Vec(m));
        Assert.Equal(PfPresent | PfReserved, ErrorCode(m));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void PatBitsAreNotReserved(Engine engine)
    {
        // SDM tables 4-18 and 4-20: bit 12 of a 2 MiB PDE and bit 7 of a 4 KiB PTE are PAT, not
        // reserved and not address bits.
        using var m = new TestMachine();
        ulong table = LongModeWithTestPage(m, P | RW | US | (1UL << 7));
        _ = table;
        m.Memory.Write(PdeAddress(0x60_0000), 8, 0x60_0000 | P | RW | PS | (1UL << 12));
        m.Memory.Write(0x60_0100, 8, 0x6060);
        m.Load(a =>
        {
            a.mov(rax, __qword_ptr[TestLinear]);
            a.mov(rbx, __qword_ptr[0x60_0100]);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(ValueA, m.Reg(CpuState.RAX));
        Assert.Equal(0x6060UL, m.Reg(CpuState.RBX));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void WriteProtectGovernsSupervisorWritesToReadOnlyPages(Engine engine)
    {
        // SDM 4.6.1: with CR0.WP = 0 supervisor writes to read-only pages succeed; with WP = 1
        // they are #PF with P and W/R set.
        using var m = new TestMachine();
        LongModeWithTestPage(m, P);
        LongModeIdt.Install(m);
        m.Load(a =>
        {
            a.mov(rax, cr0);
            a.and(rax, ~(int)ControlBits.Cr0WP);
            a.mov(cr0, rax);
            a.mov(__qword_ptr[TestLinear], 0x33);
            a.or(rax, (int)ControlBits.Cr0WP);
            a.mov(cr0, rax);
            a.mov(__qword_ptr[TestLinear + 8], 0x44);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(0x33UL, m.Memory.Read(PhysA, 8));
        Assert.Equal(ValueB, m.Memory.Read(PhysB, 8));
        Assert.Equal(0UL, m.Memory.Read(PhysA + 8, 8));
        Assert.Equal((ulong)Vector.PF, Vec(m));
        Assert.Equal(PfPresent | PfWrite, ErrorCode(m));
        Assert.Equal(TestLinear + 8, FaultCr2(m));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void ExecuteDisableFaultsOnFetch(Engine engine)
    {
        // SDM 4.6.1: with EFER.NXE = 1, a fetch from a page with XD = 1 is #PF with P and I/D
        // (4.7); reads still work.
        using var m = new TestMachine();
        LongModeWithTestPage(m, P | RW | XD);
        LongModeIdt.Install(m);
        m.Memory.Write(PhysA + 0x10, 1, 0xC3); // ret
        m.Load(a =>
        {
            a.mov(rbx, __qword_ptr[TestLinear]);
            a.mov(rax, TestLinear + 0x10);
            a.call(rax);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(ValueA, m.Reg(CpuState.RBX));
        Assert.Equal((ulong)Vector.PF, Vec(m));
        Assert.Equal(PfPresent | PfFetch, ErrorCode(m));
        Assert.Equal(TestLinear + 0x10, FaultCr2(m));
        Assert.Equal(TestLinear + 0x10, m.Reg(9));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void ExecuteDisableBitIsReservedWithoutNxe(Engine engine)
    {
        // SDM 4.5.4: with EFER.NXE = 0, bit 63 is reserved: #PF with P and RSVD, and I/D is 0
        // for a read (4.7).
        using var m = new TestMachine();
        LongModeWithTestPage(m, P | RW | XD);
        LongModeIdt.Install(m);
        m.Load(a =>
        {
            a.mov(ecx, 0xC000_0080);
            a.rdmsr();
            a.and(eax, ~(1 << 11));
            a.wrmsr();
            a.mov(rbx, __qword_ptr[TestLinear]);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal((ulong)Vector.PF, Vec(m));
        Assert.Equal(PfPresent | PfReserved, ErrorCode(m));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void InvlpgMakesAnEditedPteVisible(Engine engine)
    {
        // SDM 4.10.4.2: after changing a PTE software must invalidate it; INVLPG drops the TLB
        // entry, so the next access walks the edited table.
        using var m = new TestMachine();
        ulong table = LongModeWithTestPage(m);
        m.Load(a =>
        {
            a.mov(rax, __qword_ptr[TestLinear]);
            a.mov(__qword_ptr[PteAddress(table, TestLinear)], (int)(PhysB | P | RW | US));
            a.invlpg(__[TestLinear]);
            a.mov(rbx, __qword_ptr[TestLinear]);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(ValueA, m.Reg(CpuState.RAX));
        Assert.Equal(ValueB, m.Reg(CpuState.RBX));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void InvlpgOfOneAddressDropsTheWholeLargePage(Engine engine)
    {
        // SDM 4.10.4.1 (INVLPG, footnote): when a page larger than 4 KiB is cached as several TLB
        // entries, INVLPG of any address in it invalidates all of them (4.10.2.3).
        using var m = new TestMachine().LongMode();
        m.Memory.Write(PdeAddress(0x60_0000), 8, 0x80_0000 | P | RW | PS);
        m.Memory.Write(0x80_1000, 8, 0x8181);
        m.Memory.Write(0xA0_1000, 8, 0xA1A1);
        m.Load(a =>
        {
            a.mov(rax, __qword_ptr[0x60_0000]);
            a.mov(rax, __qword_ptr[0x60_1000]);
            a.mov(__qword_ptr[PdeAddress(0x60_0000)], (int)(0xA0_0000 | P | RW | PS));
            a.invlpg(__[0x60_0000]);
            a.mov(rbx, __qword_ptr[0x60_1000]);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(0x8181UL, m.Reg(CpuState.RAX));
        Assert.Equal(0xA1A1UL, m.Reg(CpuState.RBX));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void GlobalPagesSurviveCr3LoadsButNotInvlpgOrAPgeToggle(Engine engine)
    {
        // SDM 4.10.2.4 and 4.10.4.1: with CR4.PGE = 1, MOV to CR3 invalidates non-global entries
        // only (a global translation may stay cached: this TLB keeps it); INVLPG invalidates the
        // page, global or not; changing CR4.PGE invalidates every entry, global ones included.
        using var m = new TestMachine();
        ulong table = LongModeWithTestPage(m, P | RW | US | G);
        const ulong nonGlobal = TestLinear + 0x1000;
        m.Memory.Write(PteAddress(table, nonGlobal), 8, PhysA | P | RW | US);
        m.Load(a =>
        {
            a.mov(rax, cr4);
            a.or(rax, (int)ControlBits.Cr4PGE);
            a.mov(cr4, rax);
            a.mov(r12, __qword_ptr[TestLinear]);
            a.mov(r13, __qword_ptr[nonGlobal]);
            a.mov(__qword_ptr[PteAddress(table, TestLinear)], (int)(PhysB | P | RW | US | G));
            a.mov(__qword_ptr[PteAddress(table, nonGlobal)], (int)(PhysB | P | RW | US));
            a.mov(rax, cr3);
            a.mov(cr3, rax);
            a.mov(rbx, __qword_ptr[TestLinear]);
            a.mov(rcx, __qword_ptr[nonGlobal]);
            a.invlpg(__[TestLinear]);
            a.mov(rdx, __qword_ptr[TestLinear]);
            a.mov(__qword_ptr[PteAddress(table, TestLinear)], (int)(PhysA | P | RW | US | G));
            a.mov(rax, cr4);
            a.and(rax, ~(int)ControlBits.Cr4PGE);
            a.mov(cr4, rax);
            a.mov(rsi, __qword_ptr[TestLinear]);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(ValueA, m.Reg(12));
        Assert.Equal(ValueA, m.Reg(13));
        Assert.Equal(ValueA, m.Reg(CpuState.RBX)); // global: kept across the CR3 load
        Assert.Equal(ValueB, m.Reg(CpuState.RCX)); // non-global: must be walked again
        Assert.Equal(ValueB, m.Reg(CpuState.RDX)); // INVLPG drops the global entry
        Assert.Equal(ValueA, m.Reg(CpuState.RSI)); // a PGE change drops everything
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void InvlpgOfANonCanonicalAddressIsNoFault(Engine engine)
    {
        // SDM Vol. 2A INVLPG lists no #GP for a non-canonical operand in 64-bit mode (only CPL and #UD).
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.Load(a =>
        {
            a.mov(r8, 0x99);
            a.mov(rax, 0x8000_0000_0000_0000UL);
            a.invlpg(__[rax]);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(0x99UL, m.Reg(8));
    }
}
