using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.Cpu.Tests.Exceptions;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Interrupts;

/// <summary>
/// The machine-check architecture as software finds it (SDM Vol. 3B 15.2-15.3; Vol. 4 table 2-2):
/// CPUID.1:EDX.MCE/MCA, CR4.MCE, IA32_MCG_CAP/STATUS/CTL and the banks, read and written by the
/// guest with RDMSR/WRMSR on every engine. Each probe reports the exception it took in R8.
/// </summary>
public class MachineCheckTests
{
    private const ulong NoFault = ulong.MaxValue;

    private static ulong Probe(TestMachine m, Engine engine, Action<Assembler> body)
    {
        LongModeIdt.Install(m);
        m.S.Gpr[8] = NoFault;
        m.Load(a =>
        {
            body(a);
            a.hlt();
        }).RunToHlt(engine);
        return m.Reg(8);
    }

    private static void ReadMsrInto(Assembler a, uint index, AssemblerRegister64 target)
    {
        a.mov(ecx, index);
        a.rdmsr();
        a.shl(rdx, 32);
        a.or(rdx, rax);
        a.mov(target, rdx);
    }

    private static void WriteMsr(Assembler a, uint index, ulong value)
    {
        a.mov(ecx, index);
        a.mov(eax, (uint)value);
        a.mov(edx, (uint)(value >> 32));
        a.wrmsr();
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void CpuidAdvertisesMceAndMcaAndCr4MceSets(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        ulong vector = Probe(m, engine, a =>
        {
            a.mov(eax, 1);
            a.cpuid();
            a.mov(r13d, edx);
            a.mov(rax, cr4);
            a.or(rax, (int)ControlBits.Cr4MCE);
            a.mov(cr4, rax);
            a.mov(r14, cr4);
        });

        Assert.Equal(NoFault, vector);
        Assert.Equal(1UL << 7, m.Reg(13) & (1UL << 7)); // MCE
        Assert.Equal(1UL << 14, m.Reg(13) & (1UL << 14)); // MCA
        Assert.NotEqual(0UL, m.Reg(14) & ControlBits.Cr4MCE);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void CapabilitiesAndPowerOnBanksReadAsQemuReportsThem(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        ulong vector = Probe(m, engine, a =>
        {
            ReadMsrInto(a, MachineCheck.McgCap, r12);
            ReadMsrInto(a, MachineCheck.McgCtl, r13);
            ReadMsrInto(a, MachineCheck.Mc0Ctl + (4 * 9), r14); // MC9_CTL, the last bank
            ReadMsrInto(a, MachineCheck.Mc0Ctl + 1, r15); // MC0_STATUS
        });

        Assert.Equal(NoFault, vector);
        Assert.Equal(10UL, m.Reg(12) & 0xFF); // bank count
        Assert.Equal(1UL << 8, m.Reg(12) & (1UL << 8)); // MCG_CTL_P
        Assert.Equal(0UL, m.Reg(12) & (1UL << 10)); // no CMCI
        Assert.Equal(ulong.MaxValue, m.Reg(13));
        Assert.Equal(ulong.MaxValue, m.Reg(14));
        Assert.Equal(0UL, m.Reg(15));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void BankRegistersHoldWhatIsWritten(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        ulong vector = Probe(m, engine, a =>
        {
            WriteMsr(a, MachineCheck.Mc0Ctl + 8, 0x0000_00FF_0000_0001); // MC2_CTL
            ReadMsrInto(a, MachineCheck.Mc0Ctl + 8, r12);
            WriteMsr(a, MachineCheck.Mc0Ctl + 10, 0x1234_5678_9ABC); // MC2_ADDR
            ReadMsrInto(a, MachineCheck.Mc0Ctl + 10, r13);
            WriteMsr(a, MachineCheck.Mc0Ctl + 9, 0); // MC2_STATUS: clearing is allowed
            WriteMsr(a, MachineCheck.McgStatus, 0);
            ReadMsrInto(a, MachineCheck.McgStatus, r14);
        });

        Assert.Equal(NoFault, vector);
        Assert.Equal(0x0000_00FF_0000_0001UL, m.Reg(12));
        Assert.Equal(0x1234_5678_9ABCUL, m.Reg(13));
        Assert.Equal(0UL, m.Reg(14));
    }

    public static TheoryData<Engine, uint, ulong> FaultingWrites()
    {
        var data = new TheoryData<Engine, uint, ulong>();
        foreach (var engine in Enum.GetValues<Engine>())
        {
            data.Add(engine, MachineCheck.McgCap, 10); // read-only
            data.Add(engine, MachineCheck.Mc0Ctl + 1, 1UL << 63); // MC0_STATUS: only zeros (SDM 15.3.2.2)
            data.Add(engine, MachineCheck.McgStatus, 1UL << 8); // reserved bit
            data.Add(engine, MachineCheck.Mc0Ctl + 40, 0); // MC10_CTL: past the last bank
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(FaultingWrites))]
    public void ForbiddenWritesAreGeneralProtection(Engine engine, uint index, ulong value)
    {
        using var m = new TestMachine().LongMode();
        ulong vector = Probe(m, engine, a => WriteMsr(a, index, value));
        Assert.Equal((ulong)Vector.GP, vector);
    }

    [Fact]
    public void WithoutMcaInCpuidTheBanksDoNotExist()
    {
        using var m = new TestMachine().LongMode();
        m.Cpu.Cpuid.Leaf1Edx &= ~(CpuidModel.EdxMca | CpuidModel.EdxMce);
        ulong vector = Probe(m, Engine.Interpreter, a => ReadMsrInto(a, MachineCheck.McgCap, r12));
        Assert.Equal((ulong)Vector.GP, vector);
    }
}
