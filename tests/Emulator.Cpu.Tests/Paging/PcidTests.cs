using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.Cpu.Tests.Exceptions;
using Emulator.TestKit;
using Xunit;
using static Emulator.Cpu.Tests.Paging.GuestPageTables;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Paging;

/// <summary>
/// Process-context identifiers (SDM Vol. 3A 4.10.1, 4.10.4.1; Vol. 2B MOV CR; Vol. 2A INVPCID).
/// </summary>
public class PcidTests
{
    private const ulong Descriptor = TestMachine.DataAddress + 0x100;

    private static void EnablePcid(Iced.Intel.Assembler a)
    {
        a.mov(rax, cr4);
        a.or(rax, (int)ControlBits.Cr4PCIDE);
        a.mov(cr4, rax);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void NoFlushCr3LoadKeepsEntriesAndANewPcidDoesNotSeeThem(Engine engine)
    {
        // SDM 4.10.4.1: with CR4.PCIDE = 1, MOV to CR3 with bit 63 set need not invalidate
        // anything (this TLB keeps the current PCID's entries), and bit 63 is not stored
        // (Vol. 2B MOV CR). With bit 63 clear it invalidates the new PCID's entries, so a switch
        // to PCID 1 must walk the edited tables.
        using var m = new TestMachine();
        ulong table = LongModeWithTestPage(m);
        m.Load(a =>
        {
            EnablePcid(a);
            a.mov(r12, __qword_ptr[TestLinear]);
            a.mov(__qword_ptr[PteAddress(table, TestLinear)], (int)(PhysB | P | RW | US));
            a.mov(rcx, cr3);
            a.bts(rcx, 63);
            a.mov(cr3, rcx);
            a.mov(rbx, __qword_ptr[TestLinear]);
            a.mov(r13, cr3);
            a.mov(rcx, cr3);
            a.or(rcx, 1);
            a.mov(cr3, rcx);
            a.mov(rdx, __qword_ptr[TestLinear]);
            a.mov(r14, cr3);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(ValueA, m.Reg(12));
        Assert.Equal(ValueA, m.Reg(CpuState.RBX));
        Assert.Equal(Pml4, m.Reg(13));
        Assert.Equal(ValueB, m.Reg(CpuState.RDX));
        Assert.Equal(Pml4 | 1, m.Reg(14));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void InvpcidTypesInvalidate(Engine engine)
    {
        // SDM Vol. 2A INVPCID: type 0 invalidates one address in a PCID, type 1 a PCID's
        // non-global entries, type 2 everything including globals, type 3 everything but globals.
        using var m = new TestMachine();
        ulong table = LongModeWithTestPage(m, P | RW | US | G);
        ulong pte = PteAddress(table, TestLinear);
        m.Load(a =>
        {
            a.mov(rax, cr4);
            a.or(rax, (int)(ControlBits.Cr4PCIDE | ControlBits.Cr4PGE));
            a.mov(cr4, rax);
            a.mov(__qword_ptr[Descriptor], 0);
            a.mov(rax, TestLinear);
            a.mov(__qword_ptr[Descriptor + 8], rax);

            // Type 0 on a non-global page.
            a.mov(__qword_ptr[pte], (int)(PhysA | P | RW | US));
            a.invlpg(__[TestLinear]);
            a.mov(r12, __qword_ptr[TestLinear]);
            a.mov(__qword_ptr[pte], (int)(PhysB | P | RW | US));
            a.xor(eax, eax);
            a.invpcid(rax, __[Descriptor]);
            a.mov(r13, __qword_ptr[TestLinear]);

            // Type 1: the PCID's non-global entries.
            a.mov(__qword_ptr[pte], (int)(PhysA | P | RW | US));
            a.mov(eax, 1);
            a.invpcid(rax, __[Descriptor]);
            a.mov(r14, __qword_ptr[TestLinear]);

            // Type 2 drops a global entry.
            a.mov(__qword_ptr[pte], (int)(PhysB | P | RW | US | G));
            a.invlpg(__[TestLinear]);
            a.mov(r15, __qword_ptr[TestLinear]);
            a.mov(__qword_ptr[pte], (int)(PhysA | P | RW | US | G));
            a.mov(eax, 2);
            a.invpcid(rax, __[Descriptor]);
            a.mov(rbx, __qword_ptr[TestLinear]);

            // Type 3 drops the non-global entries of every PCID.
            a.mov(__qword_ptr[pte], (int)(PhysB | P | RW | US));
            a.invlpg(__[TestLinear]);
            a.mov(rcx, __qword_ptr[TestLinear]);
            a.mov(__qword_ptr[pte], (int)(PhysA | P | RW | US));
            a.mov(eax, 3);
            a.invpcid(rax, __[Descriptor]);
            a.mov(rdx, __qword_ptr[TestLinear]);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(ValueA, m.Reg(12));
        Assert.Equal(ValueB, m.Reg(13));
        Assert.Equal(ValueA, m.Reg(14));
        Assert.Equal(ValueB, m.Reg(15));
        Assert.Equal(ValueA, m.Reg(CpuState.RBX));
        Assert.Equal(ValueB, m.Reg(CpuState.RCX));
        Assert.Equal(ValueA, m.Reg(CpuState.RDX));
    }

    public static TheoryData<string, bool, ulong, ulong, ulong> InvpcidFaults => new()
    {
        // name, PCIDE, type, descriptor low, descriptor high (SDM Vol. 2A INVPCID, 64-bit mode exceptions).
        { "type above 3", true, 4, 0, 0 },
        { "descriptor bits 63:12", true, 1, 1UL << 12, 0 },
        { "type 0 non-canonical", true, 0, 0, 0x8000_0000_0000_0000 },
        { "PCID without PCIDE", false, 1, 1, 0 },
    };

    [Theory]
    [MemberData(nameof(InvpcidFaults))]
    public void InvpcidGeneralProtection(string name, bool pcide, ulong type, ulong low, ulong high)
    {
        _ = name;
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.Memory.Write(Descriptor, 8, low);
        m.Memory.Write(Descriptor + 8, 8, high);
        m.Load(a =>
        {
            if (pcide)
            {
                EnablePcid(a);
            }

            a.mov(rax, type);
            a.invpcid(rax, __[Descriptor]);
            a.hlt();
        }).RunToHlt();

        Assert.Equal((ulong)Vector.GP, m.Reg(8));
        Assert.Equal(0UL, m.Reg(10));
    }

    [Fact]
    public void SettingPcideNeedsCr3PcidZero()
    {
        // SDM Vol. 2B MOV CR: #GP(0) when changing CR4.PCIDE from 0 to 1 while CR3[11:0] != 0.
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.Load(a =>
        {
            a.mov(rax, Pml4 | 0x8);
            a.mov(cr3, rax);
            EnablePcid(a);
            a.hlt();
        }).RunToHlt();

        Assert.Equal((ulong)Vector.GP, m.Reg(8));
        Assert.Equal(0UL, m.S.Cr4 & ControlBits.Cr4PCIDE);
    }

    [Fact]
    public void SettingPcideOutsideIa32eModeIsGeneralProtection()
    {
        // SDM Vol. 2B MOV CR: #GP(0) when setting CR4.PCIDE while IA32_EFER.LMA = 0.
        using var m = new TestMachine().ProtectedMode32();
        SystemArchitecture.ProtectedModeIdt.Install(m);
        m.Load(a =>
        {
            a.mov(eax, cr4);
            a.or(eax, (int)ControlBits.Cr4PCIDE);
            a.mov(cr4, eax);
            a.hlt();
        }).RunToHlt();

        Assert.Equal((uint)Vector.GP, SystemArchitecture.ProtectedModeIdt.RecordedVector(m));
    }

    [Fact]
    public void Cr3Bit63IsReservedWithoutPcide()
    {
        // SDM Vol. 3A table 4-12: with CR4.PCIDE = 0, CR3 bits 63:MAXPHYADDR are reserved.
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.Load(a =>
        {
            a.mov(rax, cr3);
            a.bts(rax, 63);
            a.mov(cr3, rax);
            a.hlt();
        }).RunToHlt();

        Assert.Equal((ulong)Vector.GP, m.Reg(8));
        Assert.Equal(Pml4, m.S.Cr3);
    }
}
