using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.Cpu.Tests.Exceptions;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Fpu;

/// <summary>
/// The x87 seen from guest programs: #NM for CR0.EM/TS and WAIT with MP+TS (SDM Vol. 3A 2.5,
/// table 2-2), #MF at the next waiting instruction with CR0.NE = 1 and FERR# with NE = 0 (SDM
/// Vol. 1 8.7), stack faults (Vol. 1 8.5.1.1), the FSTENV/FSAVE layouts of each mode (Vol. 1
/// 8.1.10, figures 8-9 to 8-12) and CPUID.1:EDX.FPU.
/// </summary>
public class X87GuestTests
{
    private const int R8 = 8, R9 = 9;
    private const ushort FswIe = 1, FswZe = 4, FswSf = 0x40, FswEs = 0x80, FswC1 = 0x200;

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void EmOrTsMakesX87InstructionsRaiseNm(Engine engine)
    {
        foreach (ulong bit in new[] { ControlBits.Cr0EM, ControlBits.Cr0TS })
        {
            using var m = new TestMachine().LongMode();
            LongModeIdt.Install(m);
            m.S.Cr0 |= bit;
            ushort ftw = m.S.X87.Ftw;
            m.Load(a =>
            {
                a.fld1();
                a.mov(r8, 0x99);
                a.hlt();
            }).RunToHlt(engine);

            Assert.Equal((ulong)Vector.NM, m.Reg(R8));
            Assert.Equal(TestMachine.CodeAddress, m.Reg(R9));
            Assert.Equal(ftw, m.S.X87.Ftw); // nothing was pushed
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void WaitFaultsOnlyWithMpAndTs(Engine engine)
    {
        using (var m = new TestMachine().LongMode())
        {
            LongModeIdt.Install(m);
            m.S.Cr0 |= ControlBits.Cr0TS;
            m.Load(a =>
            {
                a.wait();
                a.mov(r8, 0x55);
                a.hlt();
            }).RunToHlt(engine);
            Assert.Equal(0x55UL, m.Reg(R8));
        }

        using (var m = new TestMachine().LongMode())
        {
            LongModeIdt.Install(m);
            m.S.Cr0 |= ControlBits.Cr0TS | ControlBits.Cr0MP;
            m.Load(a =>
            {
                a.wait();
                a.mov(r8, 0x55);
                a.hlt();
            }).RunToHlt(engine);
            Assert.Equal((ulong)Vector.NM, m.Reg(R8));
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void CltsLetsTheFpuRunAgain(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.S.Cr0 |= ControlBits.Cr0TS;
        m.Load(a =>
        {
            a.clts();
            a.fninit();
            a.fld1();
            a.fld1();
            a.faddp(st1, st0);
            a.fistp(__dword_ptr[TestMachine.DataAddress]);
            a.mov(eax, __dword_ptr[TestMachine.DataAddress]);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(2UL, m.Reg(CpuState.RAX));
        Assert.Equal(0UL, m.S.Cr0 & ControlBits.Cr0TS);
    }

    /// <summary>A division by zero with #Z unmasked is only recorded; the next waiting instruction takes #MF.</summary>
    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void UnmaskedExceptionFaultsAtTheNextWaitingInstruction(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.S.Cr0 |= ControlBits.Cr0NE;
        var wait = default(Label);
        m.Load(a =>
        {
            wait = a.CreateLabel();
            a.fninit();
            a.mov(__word_ptr[TestMachine.DataAddress], 0x037B); // ZM clear
            a.fldcw(__word_ptr[TestMachine.DataAddress]);
            a.fld1();
            a.fldz();
            a.fdivp(st1, st0);
            a.fnstsw(ax); // not waiting: no fault
            a.Label(ref wait);
            a.wait();
            a.mov(r8, 0x99);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal((ulong)Vector.MF, m.Reg(R8));
        ushort fsw = (ushort)m.Reg(CpuState.RAX);
        Assert.Equal(FswZe | FswEs, fsw & (FswZe | FswEs));
        // The unmasked exception left both operands on the stack: R7 = 1 (valid), R6 = 0 (zero).
        Assert.Equal((ushort)0x1FFF, m.S.X87.Ftw);
        Assert.True(m.Reg(R9) > TestMachine.CodeAddress);
        Assert.Equal(0x9BUL, m.Memory.Read(m.Reg(R9), 1)); // the pushed RIP is the FWAIT
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void WithNeClearFerrIsAssertedInsteadOfMf(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        int ferr = 0;
        m.Cpu.FpuErrorAsserted = () => ferr++;
        m.Load(a =>
        {
            a.fninit();
            a.mov(__word_ptr[TestMachine.DataAddress], 0x037B);
            a.fldcw(__word_ptr[TestMachine.DataAddress]);
            a.fld1();
            a.fldz();
            a.fdivp(st1, st0);
            a.wait();
            a.mov(r8, 0x55);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(0x55UL, m.Reg(R8));
        Assert.Equal(1, ferr);
        Assert.True(m.Cpu.FerrAsserted);

        m.Load(a =>
        {
            a.fnclex();
            a.hlt();
        });
        m.S.Rip = TestMachine.CodeAddress;
        m.S.Halted = 0;
        m.RunToHlt(engine);
        Assert.False(m.Cpu.FerrAsserted);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void StackOverflowAndUnderflowSetSfAndC1(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        m.Load(a =>
        {
            a.fninit();
            for (int k = 0; k < 9; k++)
            {
                a.fld1();
            }

            a.fnstsw(ax);
            a.mov(ebx, eax);
            a.fstp(__tword_ptr[TestMachine.DataAddress]);
            a.fninit();
            a.fadd(st0, st1);
            a.fnstsw(ax);
            a.hlt();
        }).RunToHlt(engine);

        ushort overflow = (ushort)m.Reg(CpuState.RBX);
        ushort underflow = (ushort)m.Reg(CpuState.RAX);
        Assert.Equal(FswIe | FswSf | FswC1, overflow & (FswIe | FswSf | FswC1));
        Assert.Equal(FswIe | FswSf, underflow & (FswIe | FswSf | FswC1));
        // The masked response to the overflow pushed the indefinite.
        Assert.Equal(0xC000_0000_0000_0000UL, m.Memory.Read(TestMachine.DataAddress, 8));
        Assert.Equal(0xFFFFUL, m.Memory.Read(TestMachine.DataAddress + 8, 2));
    }

    /// <summary>Real mode, 16-bit FSTENV (figure 8-12): FIP is the 20-bit linear address split around FOP.</summary>
    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void RealModeEnvironmentHoldsLinearPointers(Engine engine)
    {
        const ushort data = 0x9000;
        using var m = new TestMachine().RealMode();
        m.Load(a =>
        {
            a.fninit();
            a.nop();
            a.fld(__dword_ptr[data + 0x40]); // at IP 3: D9 06 40 90
            a.fnstenv(__[data]);
            a.AddInstruction(Instruction.Create(Code.Fnstenv_m28byte, new MemoryOperand(Register.None, data + 0x80)));
            a.hlt();
        }).RunToHlt(engine);

        ulong fipLinear = TestMachine.CodeAddress + 3;
        Assert.Equal(0x037FUL, m.Memory.Read(data, 2));
        Assert.Equal(fipLinear & 0xFFFF, m.Memory.Read(data + 6, 2));
        Assert.Equal(((fipLinear >> 16) << 12) | 0x106, m.Memory.Read(data + 8, 2)); // FOP = D9 06 -> 1,06
        Assert.Equal(data + 0x40UL, m.Memory.Read(data + 10, 2));
        Assert.Equal(0UL, m.Memory.Read(data + 12, 2));

        // The 32-bit real-mode layout (figure 8-10).
        Assert.Equal(fipLinear & 0xFFFF, m.Memory.Read(data + 0x80 + 12, 2));
        Assert.Equal(((fipLinear >> 16) << 12) | 0x106, m.Memory.Read(data + 0x80 + 16, 4));
        Assert.Equal(data + 0x40UL, m.Memory.Read(data + 0x80 + 20, 2));
    }

    /// <summary>Protected mode, 32-bit FSAVE (figure 8-9 and 8-13): selectors, offsets, FOP; the registers in ST order; then FNINIT.</summary>
    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void ProtectedModeSaveAndRestore(Engine engine)
    {
        const uint data = 0x40000;
        using var m = new TestMachine().ProtectedMode32();
        m.Memory.Write(data + 0x200, 4, 0x40490FDB); // pi as a float
        m.Load(a =>
        {
            a.fninit();
            a.fld1();
            a.fld(__dword_ptr[data + 0x200]);
            a.fnsave(__[data]);
            a.fnstsw(ax);
            a.mov(ebx, eax);
            a.frstor(__[data]);
            a.fnsave(__[data + 0x100]);
            a.fsubp(st1, st0); // on an empty stack after FNSAVE: #IS (masked)
            a.fnstsw(ax);
            a.hlt();
        }).RunToHlt(engine);

        ulong fldAddress = TestMachine.CodeAddress + 2 + 2; // FNINIT, FLD1
        Assert.Equal(0xFFFF037FUL, m.Memory.Read(data, 4));
        Assert.Equal(0x3000UL, m.Memory.Read(data + 4, 2)); // TOP = 6
        Assert.Equal(0x0FFFUL, m.Memory.Read(data + 8, 2)); // R6, R7 valid
        Assert.Equal(fldAddress, m.Memory.Read(data + 12, 4));
        Assert.Equal((ulong)TestMachine.Code32 | (0x105UL << 16), m.Memory.Read(data + 16, 4)); // FCS, FOP = D9 05
        Assert.Equal(data + 0x200UL, m.Memory.Read(data + 20, 4));
        Assert.Equal((ulong)TestMachine.Data, m.Memory.Read(data + 24, 2));
        Assert.Equal(0xC90FDB0000000000UL, m.Memory.Read(data + 28, 8)); // ST0 = (float) pi
        Assert.Equal(0x4000UL, m.Memory.Read(data + 36, 2));
        Assert.Equal(0x8000000000000000UL, m.Memory.Read(data + 38, 8)); // ST1 = 1
        Assert.Equal(0x3FFFUL, m.Memory.Read(data + 46, 2));
        Assert.Equal(0UL, m.Reg(CpuState.RBX) & 0x3800); // FNSAVE reinitialised: TOP = 0
        var first = new byte[108];
        var second = new byte[108];
        m.Memory.ReadBytes(data, first);
        m.Memory.ReadBytes(data + 0x100, second);
        Assert.Equal(first, second); // FRSTOR then FNSAVE gives the same image back
        Assert.Equal((ulong)(FswIe | FswSf), m.Reg(CpuState.RAX) & (FswIe | FswSf));
    }

    /// <summary>16-bit protected-mode FSTENV (figure 8-11): offset and selector words, no FOP.</summary>
    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void SixteenBitProtectedModeEnvironment(Engine engine)
    {
        const uint data = 0x40000;
        using var m = new TestMachine().ProtectedMode32();
        m.Load(a =>
        {
            a.fninit();
            a.fldpi();
            a.AddInstruction(Instruction.Create(Code.Fnstenv_m14byte, new MemoryOperand(Register.None, data)));
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(0x037FUL, m.Memory.Read(data, 2)); // FNSTENV masks afterwards; the image holds the old FCW
        Assert.Equal(0x3FFFUL, m.Memory.Read(data + 4, 2)); // R7 valid
        Assert.Equal((TestMachine.CodeAddress + 2) & 0xFFFF, m.Memory.Read(data + 6, 2));
        Assert.Equal((ulong)TestMachine.Code32, m.Memory.Read(data + 8, 2));
        Assert.Equal((ushort)0x037F, m.S.X87.Fcw);
    }

    [Fact]
    public void CpuidAdvertisesTheFpu()
    {
        Assert.NotEqual(0u, new CpuidModel().Leaf1Edx & CpuidModel.EdxFpu);
    }
}
