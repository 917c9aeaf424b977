using Emulator.Cpu.Exceptions;
using Emulator.Cpu.Instructions;
using Emulator.Cpu.State;
using Emulator.Cpu.Tests.Exceptions;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Interrupts;

/// <summary>
/// CPUID identity, MSRs and control-register reserved bits (SDM Vol. 2A CPUID; Vol. 3A 2.5, 11.11;
/// Vol. 4 table 2-2). Each probe runs in long mode at CPL 0 and reports the exception it took.
/// </summary>
public class SystemRegisterTests
{
    private const ulong NoFault = ulong.MaxValue;

    private static ulong Probe(TestMachine m, Action<Assembler> body)
    {
        LongModeIdt.Install(m);
        m.S.Gpr[8] = NoFault;
        m.Load(a =>
        {
            body(a);
            a.hlt();
        }).RunToHlt();
        return m.Reg(8);
    }

    private static ulong Wrmsr(uint index, ulong value, Action<Assembler>? after = null)
    {
        using var m = new TestMachine().LongMode();
        return Probe(m, a =>
        {
            a.mov(ecx, index);
            a.mov(eax, (uint)value);
            a.mov(edx, (uint)(value >> 32));
            a.wrmsr();
            after?.Invoke(a);
        });
    }

    [Fact]
    public void CpuidAdvertisesOnlyWhatIsImplemented()
    {
        var model = new CpuidModel(CpuModel.Max);
        var (max, vendor0, vendor2, vendor1) = model.Query(0, 0);
        Assert.Equal("GenuineIntel", string.Concat(new[] { vendor0, vendor1, vendor2 }.Select(w => System.Text.Encoding.ASCII.GetString(BitConverter.GetBytes(w)))));
        Assert.True(max >= 7);

        var (signature, _, ecx1, edx1) = model.Query(1, 0);
        Assert.Equal(6u, (signature >> 8) & 0xF); // family 6 (SDM Vol. 2A figure 3-6)
        // x87, MMX, FXSR, SSE, SSE2 (CPUID.1:EDX bits 0, 23, 24, 25, 26) and a handler for each family.
        Assert.Equal(CpuidModel.EdxFpu | CpuidModel.EdxMmx | CpuidModel.EdxFxsr | CpuidModel.EdxSse | CpuidModel.EdxSse2, edx1 & 0x07800001u);
        Assert.True(InstructionTable.IsImplemented(Code.Fxsave64_m512byte));
        Assert.True(InstructionTable.IsImplemented(Code.Fsin));
        Assert.True(InstructionTable.IsImplemented(Code.Paddq_mm_mmm64));
        Assert.True(InstructionTable.IsImplemented(Code.Addps_xmm_xmmm128));
        Assert.True(InstructionTable.IsImplemented(Code.Pcmpistri_xmm_xmmm128_imm8));
        // XSAVE and AVX, with handlers for both.
        Assert.Equal(CpuidModel.EcxXsave | CpuidModel.EcxAvx, ecx1 & (CpuidModel.EcxXsave | CpuidModel.EcxAvx));
        Assert.True(InstructionTable.IsImplemented(Code.Xsave64_mem));
        Assert.True(InstructionTable.IsImplemented(Code.VEX_Vaddps_ymm_ymm_ymmm256));
        Assert.NotEqual(0u, ecx1 & (1u << 17)); // PCID, with INVPCID (tests/Emulator.Cpu.Tests/Paging)
        Assert.True(InstructionTable.IsImplemented(Code.Invpcid_r64_m128));
        Assert.NotEqual(0u, edx1 & CpuidModel.EdxMtrr);
        Assert.NotEqual(0u, edx1 & CpuidModel.EdxDe);

        var (_, _, _, extEdx) = model.Query(0x80000001, 0);
        Assert.NotEqual(0u, extEdx & CpuidModel.ExtEdxRdtscp);

        // Every advertised instruction has a handler.
        Assert.True(InstructionTable.IsImplemented(Code.Rdtscp));
        Assert.True(InstructionTable.IsImplemented(Code.Rdtsc));
        Assert.True(InstructionTable.IsImplemented(Code.Rdmsr));
        Assert.True(InstructionTable.IsImplemented(Code.Cmpxchg8b_m64));
        Assert.True(InstructionTable.IsImplemented(Code.Cmovne_r32_rm32));
        Assert.True(InstructionTable.IsImplemented(Code.Sysenter));
        Assert.True(InstructionTable.IsImplemented(Code.Syscall));
        Assert.False(InstructionTable.IsImplemented(Code.Xtest)); // TSX: neither advertised nor implemented

        var brand = string.Concat(Enumerable.Range(0, 3).SelectMany(k =>
        {
            var (a, b, c, d) = model.Query(0x80000002 + (uint)k, 0);
            return new[] { a, b, c, d };
        }).Select(w => System.Text.Encoding.ASCII.GetString(BitConverter.GetBytes(w)))).TrimEnd('\0');
        Assert.False(string.IsNullOrWhiteSpace(brand));

        // Past the highest leaf: the highest basic leaf's answer (SDM Vol. 2A CPUID).
        Assert.Equal(model.Query(CpuidModel.MaxBasicLeaf, 0), model.Query(0x8000_00FF, 0));
    }

    [Fact]
    public void RdtscpLoadsTscAux()
    {
        using var m = new TestMachine().LongMode();
        m.Cpu.TimeStampCounter = () => 0x1_2345_6789;
        ulong vector = Probe(m, a =>
        {
            a.mov(ecx, Msr.TscAux);
            a.mov(eax, 0xABCD);
            a.xor(edx, edx);
            a.wrmsr();
            a.rdtscp();
        });

        Assert.Equal(NoFault, vector);
        Assert.Equal(0xABCDUL, m.Reg(CpuState.RCX));
        Assert.Equal(0x2345_6789UL, m.Reg(CpuState.RAX));
        Assert.Equal(1UL, m.Reg(CpuState.RDX));
    }

    public static TheoryData<uint, ulong, bool> MsrWrites => new()
    {
        { 0x1234_5678, 0, false },                  // no such MSR
        { Msr.TscAux, 1UL << 32, false },           // TSC_AUX bits 63:32 reserved
        { Msr.PlatformId, 0, false },               // IA32_PLATFORM_ID is read-only
        { Msr.TscAux, 0xFFFF_FFFF, true },
        { Msr.ApicBase, 0xFEE0_0800, true },
        { Msr.ApicBase, 0xFEE0_0801, false },       // bits 7:0 reserved
        { Msr.ApicBase, 0xFEE0_0A00, false },       // bit 9 reserved
        { Msr.ApicBase, 0xFEE0_0C00, false },       // bit 10: x2APIC not supported
        { Msr.ApicBase, 1UL << 45, false },         // above MAXPHYADDR
        { Msr.Lstar, 0x0000_8000_0000_0000, false }, // non-canonical address
        { Msr.KernelGsBase, 0xFFFF_8000_0000_0000, true },
        { Mtrr.Cap, 0x508, false },                 // read-only
        { Msr.ArchCapabilities, 0, false },         // read-only
        { Mtrr.DefType, 0xC06, true },
        { Mtrr.DefType, 0x106, false },             // bits 9:8 reserved
        { Mtrr.DefType, 0x802, false },             // type 2 is reserved
        { Mtrr.PhysBase0 + 2, 0x8000_0006, true },
        { Mtrr.PhysBase0 + 2, 0x8000_0007, false }, // UC- is a PAT type, not an MTRR type
        { Mtrr.PhysBase0 + 2, 0x8000_0106, false }, // bits 11:8 reserved
        { Mtrr.PhysBase0 + 3, 0xFF_C000_0800, true },
        { Mtrr.PhysBase0 + 3, 0x0400, false },      // bits 10:0 reserved
        { Mtrr.PhysBase0 + 3, 1UL << 40, false },   // at MAXPHYADDR (40)
        { Mtrr.Fix64K00000, 0x0606_0606_0606_0606, true },
        { Mtrr.Fix4KF8000, 0x0005_0401_0006_0606, true },
        { Mtrr.Fix16KA0000, 0x0606_0606_0206_0606, false },
        { Msr.MiscEnable, Msr.MiscEnableResetValue | Msr.MiscXtprDisable, true },
        { Msr.MiscEnable, 1UL << 1, false },        // reserved
    };

    [Theory]
    [MemberData(nameof(MsrWrites))]
    public void WrmsrReservedBitsAndUnknownIndicesAreGeneralProtection(uint index, ulong value, bool accepted)
    {
        ulong vector = Wrmsr(index, value);
        Assert.Equal(accepted ? NoFault : Vector.GP, vector);
    }

    [Fact]
    public void PlatformIdReadsAsPlatformZero()
    {
        // Linux's Intel microcode driver reads IA32_PLATFORM_ID on family 6 (an unchecked RDMSR:
        // a #GP there is a kernel warning); bits 52:50 select the platform.
        using var m = new TestMachine().LongMode();
        ulong vector = Probe(m, a =>
        {
            a.mov(ecx, Msr.PlatformId);
            a.mov(edx, -1);
            a.rdmsr();
            a.mov(r13d, edx);
        });

        Assert.Equal(NoFault, vector);
        Assert.Equal(0UL, (m.Reg(13) >> 18) & 7);
    }

    [Fact]
    public void MtrrCapAndWrittenMtrrsReadBack()
    {
        using var m = new TestMachine().LongMode();
        ulong vector = Probe(m, a =>
        {
            a.mov(ecx, Mtrr.Cap);
            a.rdmsr();
            a.mov(r13d, eax);
            a.mov(ecx, Mtrr.Fix4KC0000 + 1);
            a.mov(eax, 0x0504_0100);
            a.mov(edx, 0x0606_0606);
            a.wrmsr();
            a.xor(eax, eax);
            a.xor(edx, edx);
            a.rdmsr();
            a.shl(rdx, 32);
            a.or(rdx, rax);
            a.mov(r14, rdx);
        });

        Assert.Equal(NoFault, vector);
        Assert.Equal(0x508UL, m.Reg(13)); // VCNT 8, FIX, WC (SDM 11.11.1)
        Assert.Equal(0x0606_0606_0504_0100UL, m.Reg(14));
    }

    [Fact]
    public void ArchCapabilitiesSaysNotAffectedByMeltdownMdsAndTaaAndCpuidSaysItExists()
    {
        using var m = new TestMachine().LongMode();
        ulong vector = Probe(m, a =>
        {
            a.mov(eax, 7);
            a.xor(ecx, ecx);
            a.cpuid();
            a.mov(r13d, edx);
            a.mov(ecx, Msr.ArchCapabilities);
            a.rdmsr();
            a.shl(rdx, 32);
            a.or(rdx, rax);
            a.mov(r14, rdx);
        });

        Assert.Equal(NoFault, vector);
        Assert.Equal(1UL << 29, m.Reg(13) & (1UL << 29)); // CPUID.(7,0):EDX.ARCH_CAPABILITIES
        Assert.Equal((1UL << 0) | (1UL << 5) | (1UL << 8), m.Reg(14) & ((1UL << 0) | (1UL << 5) | (1UL << 8))); // RDCL_NO, MDS_NO, TAA_NO (SDM Vol. 4 table 2-2)
        Assert.Equal(0UL, m.Reg(14) & (1UL << 1)); // not IBRS_ALL: there is no IBRS
    }

    [Fact]
    public void MiscEnableXdDisableHidesNxAndReservesEferNxe()
    {
        using var m = new TestMachine().LongMode();
        ulong vector = Probe(m, a =>
        {
            a.mov(ecx, Msr.MiscEnable);
            a.rdmsr();
            a.or(edx, (int)(Msr.MiscXdDisable >> 32));
            a.wrmsr();
            a.mov(eax, 0x80000001);
            a.cpuid();
            a.mov(r13d, edx);
            a.mov(ecx, Msr.Efer);
            a.rdmsr(); // NXE is set in the test machine's EFER
            a.wrmsr();
        });

        Assert.Equal(0UL, m.Reg(13) & CpuidModel.ExtEdxNx);
        Assert.Equal((ulong)Vector.GP, vector);
    }

    public static TheoryData<string, int, ulong, bool> ControlRegisterWrites => new()
    {
        { "CR0 bit 32", 0, (1UL << 32) | 0x8001_0011, false },
        { "CR0 PG without PE", 0, 0x8001_0010, false },
        { "CR0 NW without CD", 0, 0xA001_0011, false },
        { "CR4 LA57", 4, (1UL << 12) | 0x20, false },
        { "CR4 OSXSAVE", 4, (1UL << 18) | 0x20, true }, // XSAVE is advertised; SaveStateTests has the #GP without it
        { "CR4 bit 32", 4, (1UL << 32) | 0x20, false },
        { "CR4 DE", 4, 0x28, true },
        { "CR8 15", 8, 15, true },
        { "CR8 16", 8, 16, false },
        { "CR3 above MAXPHYADDR", 3, (1UL << 40) | TestMachine.PageTableAddress, false },
    };

    [Theory]
    [MemberData(nameof(ControlRegisterWrites))]
    public void MovToControlRegisterChecksReservedBits(string name, int cr, ulong value, bool accepted)
    {
        using var m = new TestMachine().LongMode();
        var register = cr switch { 0 => cr0, 3 => cr3, 4 => cr4, _ => cr8 };
        ulong vector = Probe(m, a =>
        {
            a.mov(rax, value);
            a.mov(register, rax);
        });

        // SDM Vol. 3A 2.5 and Vol. 2B MOV CR: a reserved bit or an invalid combination is #GP(0).
        Assert.True((accepted ? NoFault : Vector.GP) == vector, name);
        if (!accepted)
        {
            Assert.Equal(0UL, m.Reg(10));
        }
    }

    [Fact]
    public void UndefinedCr0BitsAreIgnored()
    {
        using var m = new TestMachine().LongMode();
        ulong before = m.S.Cr0;
        ulong vector = Probe(m, a =>
        {
            a.mov(rax, cr0);
            a.or(eax, 0x0002_FFC0); // bits 6-15 and 17: not defined (SDM Vol. 3A figure 2-7)
            a.mov(cr0, rax);
            a.mov(rbx, cr0);
        });

        Assert.Equal(NoFault, vector);
        Assert.Equal(before, m.Reg(CpuState.RBX));
    }
}
