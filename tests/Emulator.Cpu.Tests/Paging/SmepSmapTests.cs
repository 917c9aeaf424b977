using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.Cpu.Tests.Exceptions;
using Emulator.TestKit;
using Xunit;
using static Emulator.Cpu.Tests.Paging.GuestPageTables;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Paging;

/// <summary>
/// SMEP and SMAP (SDM Vol. 3A 4.6.1) with EFLAGS.AC, STAC and CLAC (SDM Vol. 2B), and their CPUID
/// bits (CPUID.(EAX=7,ECX=0):EBX bits 7 and 20). The first 2 MiB (code, stack, tables) are made
/// supervisor pages; the test page at 4 MiB is a user page.
/// </summary>
public class SmepSmapTests
{
    private const uint PfPresent = 1, PfWrite = 2, PfFetch = 0x10;

    private static TestMachine Setup()
    {
        var m = new TestMachine();
        LongModeWithTestPage(m);
        MakeLowMemorySupervisor(m);
        LongModeIdt.Install(m);
        m.Memory.Write(PhysA + 0x10, 1, 0xC3); // ret
        return m;
    }

    private static void SetCr4(Iced.Intel.Assembler a, ulong bits)
    {
        a.mov(rax, cr4);
        a.or(rax, (int)bits);
        a.mov(cr4, rax);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void CpuidReportsSmepSmapInvpcidAndPcid(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        m.Load(a =>
        {
            a.mov(eax, 7);
            a.xor(ecx, ecx);
            a.cpuid();
            a.mov(esi, ebx);
            a.mov(eax, 1);
            a.cpuid();
            a.mov(edi, ecx);
            a.hlt();
        }).RunToHlt(engine);

        Assert.NotEqual(0UL, m.Reg(CpuState.RSI) & (1 << 7)); // SMEP
        Assert.NotEqual(0UL, m.Reg(CpuState.RSI) & (1 << 20)); // SMAP
        Assert.NotEqual(0UL, m.Reg(CpuState.RSI) & (1 << 10)); // INVPCID
        Assert.NotEqual(0UL, m.Reg(CpuState.RDI) & (1 << 17)); // PCID
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void SmepFaultsSupervisorFetchesFromUserPages(Engine engine)
    {
        // SDM 4.6.1: with CR4.SMEP = 1, supervisor-mode instruction fetches from user-mode pages
        // are not allowed: #PF with P and I/D (4.7).
        using var m = Setup();
        m.Load(a =>
        {
            a.mov(rbx, __qword_ptr[TestLinear]); // data reads are not SMEP's business
            SetCr4(a, ControlBits.Cr4SMEP);
            a.mov(rax, TestLinear + 0x10);
            a.call(rax);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(ValueA, m.Reg(CpuState.RBX));
        Assert.Equal((ulong)Vector.PF, m.Reg(8));
        Assert.Equal(PfPresent | PfFetch, m.Reg(10));
        Assert.Equal(TestLinear + 0x10, m.Reg(11));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void SmapAllowsUserPageDataAccessOnlyWithAc(Engine engine)
    {
        // SDM 4.6.1: with CR4.SMAP = 1, supervisor data accesses to user-mode pages are allowed
        // only when EFLAGS.AC = 1 (STAC sets it, CLAC clears it); otherwise #PF (P, and W/R for a write).
        using var m = Setup();
        m.Load(a =>
        {
            SetCr4(a, ControlBits.Cr4SMAP);
            a.stac();
            a.mov(rbx, __qword_ptr[TestLinear]);
            a.mov(__qword_ptr[TestLinear + 8], 0x55);
            a.clac();
            a.mov(__qword_ptr[TestLinear + 8], 0x66);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(ValueA, m.Reg(CpuState.RBX));
        Assert.Equal(0x55UL, m.Memory.Read(PhysA + 8, 8));
        Assert.Equal((ulong)Vector.PF, m.Reg(8));
        Assert.Equal(PfPresent | PfWrite, m.Reg(10));
        Assert.Equal(TestLinear + 8, m.Reg(11));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void SmapFaultsSupervisorReadsWithoutAc(Engine engine)
    {
        using var m = Setup();
        m.Load(a =>
        {
            SetCr4(a, ControlBits.Cr4SMAP);
            a.mov(rbx, __qword_ptr[TestLinear]);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal((ulong)Vector.PF, m.Reg(8));
        Assert.Equal((ulong)PfPresent, m.Reg(10));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void StacIsUndefinedWhenCpuidDoesNotReportSmap(Engine engine)
    {
        // SDM Vol. 2B STAC: #UD if CPUID.(EAX=07H,ECX=0H):EBX.SMAP[bit 20] = 0.
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.Cpu.Cpuid.Leaf7Ebx &= ~(1u << 20);
        m.Load(a =>
        {
            a.stac();
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal((ulong)Vector.UD, m.Reg(8));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void Cr4SmapIsReservedWhenCpuidDoesNotReportIt(Engine engine)
    {
        // SDM Vol. 2B MOV CR: setting a CR4 bit the processor does not support is #GP(0).
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.Cpu.Cpuid.Leaf7Ebx &= ~(1u << 20);
        m.Load(a =>
        {
            SetCr4(a, ControlBits.Cr4SMAP);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal((ulong)Vector.GP, m.Reg(8));
        Assert.Equal(0UL, m.Reg(10));
        Assert.Equal(0UL, m.S.Cr4 & ControlBits.Cr4SMAP);
    }
}
