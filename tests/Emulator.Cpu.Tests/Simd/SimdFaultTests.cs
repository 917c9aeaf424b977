using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.Cpu.Tests.Exceptions;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Simd;

/// <summary>
/// The exceptions of the packed-integer instructions, run in a guest with an IDT whose stubs
/// record the vector in R8 (<see cref="LongModeIdt"/>): #UD without CR4.OSFXSR or with CR0.EM,
/// #NM with CR0.TS, #MF for an MMX instruction with a pending unmasked x87 exception and CR0.NE,
/// #GP(0) for a misaligned 16-byte legacy SSE operand but not for the unaligned forms, and #UD
/// for VEX forms without CR4.OSXSAVE (SDM Vol. 3A 13.1, Vol. 1 11.4.1 and 9.6.2, Vol. 2A 2.3.6).
/// </summary>
public class SimdFaultTests
{
    private const int R8 = 8, R10 = 10;
    private const ulong NoFault = 0xDEAD;
    private const ulong Cr4OsXsave = 1UL << 18;

    /// <summary>Runs <paramref name="body"/> in long mode with CR0/CR4 adjusted; returns R8 (the vector, or <see cref="NoFault"/>).</summary>
    private static ulong Run(Engine engine, Action<Assembler> body, ulong cr0Set = 0, ulong cr4Clear = 0, ushort fsw = 0, Action<TestMachine>? setup = null)
    {
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.S.Cr0 |= cr0Set;
        m.S.Cr4 = (m.S.Cr4 | ControlBits.Cr4OSFXSR | Cr4OsXsave) & ~cr4Clear;
        m.S.Vector.Xcr0 = 7;
        m.S.X87.Fsw = fsw;
        m.S.Gpr[R8] = NoFault;
        m.S.Gpr[CpuState.RSI] = TestMachine.DataAddress;
        setup?.Invoke(m);
        m.Load(a =>
        {
            body(a);
            a.hlt();
        }).RunToHlt(engine);
        return m.S.Gpr[R8];
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void SseNeedsOsfxsrAndClearEm(Engine engine)
    {
        Assert.Equal(NoFault, Run(engine, a => a.paddb(xmm0, xmm1)));
        Assert.Equal((ulong)Vector.UD, Run(engine, a => a.paddb(xmm0, xmm1), cr4Clear: ControlBits.Cr4OSFXSR));
        Assert.Equal((ulong)Vector.UD, Run(engine, a => a.pcmpistri(xmm0, xmm1, 0), cr4Clear: ControlBits.Cr4OSFXSR));
        Assert.Equal((ulong)Vector.UD, Run(engine, a => a.movq2dq(xmm0, mm1), cr4Clear: ControlBits.Cr4OSFXSR));
        Assert.Equal((ulong)Vector.UD, Run(engine, a => a.paddb(xmm0, xmm1), cr0Set: ControlBits.Cr0EM));

        // MMX needs neither OSFXSR nor anything else of SSE, but EM makes it #UD too.
        Assert.Equal(NoFault, Run(engine, a => a.paddb(mm0, mm1), cr4Clear: ControlBits.Cr4OSFXSR));
        Assert.Equal((ulong)Vector.UD, Run(engine, a => a.paddb(mm0, mm1), cr0Set: ControlBits.Cr0EM));
        Assert.Equal((ulong)Vector.UD, Run(engine, a => a.emms(), cr0Set: ControlBits.Cr0EM));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void TaskSwitchedIsDeviceNotAvailable(Engine engine)
    {
        Assert.Equal((ulong)Vector.NM, Run(engine, a => a.pxor(xmm3, xmm3), cr0Set: ControlBits.Cr0TS));
        Assert.Equal((ulong)Vector.NM, Run(engine, a => a.pxor(mm3, mm3), cr0Set: ControlBits.Cr0TS));
        Assert.Equal((ulong)Vector.NM, Run(engine, a => a.emms(), cr0Set: ControlBits.Cr0TS));
        Assert.Equal((ulong)Vector.NM, Run(engine, a => a.vpxor(ymm3, ymm3, ymm3), cr0Set: ControlBits.Cr0TS));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void PendingX87ErrorIsMathFaultForMmxWithNe(Engine engine)
    {
        const ushort pendingInvalid = 0x0081; // IE with ES (the error summary)
        Assert.Equal((ulong)Vector.MF, Run(engine, a => a.paddw(mm0, mm1), cr0Set: ControlBits.Cr0NE, fsw: pendingInvalid));
        Assert.Equal((ulong)Vector.MF, Run(engine, a => a.emms(), cr0Set: ControlBits.Cr0NE, fsw: pendingInvalid));
        Assert.Equal(NoFault, Run(engine, a => a.paddw(mm0, mm1), fsw: pendingInvalid));
        // SSE integer instructions do not look at the x87 state.
        Assert.Equal(NoFault, Run(engine, a => a.paddw(xmm0, xmm1), cr0Set: ControlBits.Cr0NE, fsw: pendingInvalid));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void MisalignedSixteenByteOperandsFaultExceptTheUnalignedForms(Engine engine)
    {
        Assert.Equal(NoFault, Run(engine, a => a.movdqa(xmm0, __xmmword_ptr[rsi + 16])));
        Assert.Equal((ulong)Vector.GP, Run(engine, a => a.movdqa(xmm0, __xmmword_ptr[rsi + 8])));
        Assert.Equal((ulong)Vector.GP, Run(engine, a => a.movdqa(__xmmword_ptr[rsi + 4], xmm0)));
        Assert.Equal((ulong)Vector.GP, Run(engine, a => a.paddb(xmm0, __xmmword_ptr[rsi + 1])));
        Assert.Equal((ulong)Vector.GP, Run(engine, a => a.movntdqa(xmm0, __xmmword_ptr[rsi + 8])));
        Assert.Equal((ulong)Vector.GP, Run(engine, a => a.aesenc(xmm0, __xmmword_ptr[rsi + 8])));
        Assert.Equal(NoFault, Run(engine, a => a.movdqu(xmm0, __xmmword_ptr[rsi + 1])));
        Assert.Equal(NoFault, Run(engine, a => a.lddqu(xmm0, __xmmword_ptr[rsi + 3])));
        Assert.Equal(NoFault, Run(engine, a => a.pcmpestri(xmm0, __xmmword_ptr[rsi + 5], 0x0C)));
        Assert.Equal(NoFault, Run(engine, a => a.pmovzxbw(xmm0, __qword_ptr[rsi + 1])));
        Assert.Equal(NoFault, Run(engine, a => a.paddb(mm0, __qword_ptr[rsi + 1])));
        // VEX forms need alignment only for the aligned moves.
        Assert.Equal(NoFault, Run(engine, a => a.vpaddb(xmm0, xmm1, __xmmword_ptr[rsi + 1])));
        Assert.Equal((ulong)Vector.GP, Run(engine, a => a.vmovdqa(ymm0, __ymmword_ptr[rsi + 16])));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void VexNeedsOsxsave(Engine engine)
    {
        Assert.Equal(NoFault, Run(engine, a => a.vpaddd(ymm0, ymm1, ymm2)));
        Assert.Equal((ulong)Vector.UD, Run(engine, a => a.vpaddd(ymm0, ymm1, ymm2), cr4Clear: Cr4OsXsave));
        Assert.Equal((ulong)Vector.UD, Run(engine, a => a.vpaddd(xmm0, xmm1, xmm2), setup: m => m.S.Vector.Xcr0 = 3));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void AlignedStoreWritesAndMisalignedLoadLeavesTheDestination(Engine engine)
    {
        // The aligned 16-byte store writes all 16 bytes; the misaligned load then faults with
        // #GP(0) and its destination keeps its value.
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.S.Cr4 |= ControlBits.Cr4OSFXSR;
        m.S.Vector.Ymm[2][0] = 0x1111;
        m.S.Gpr[CpuState.RSI] = TestMachine.DataAddress;
        m.Memory.Write(TestMachine.DataAddress, 8, 0x55);
        m.Load(a =>
        {
            a.pcmpeqb(xmm0, xmm0);
            a.movdqa(__xmmword_ptr[rsi], xmm0);
            a.movdqa(xmm2, __xmmword_ptr[rsi + 8]);
            a.hlt();
        }).RunToHlt(engine);
        Assert.Equal((ulong)Vector.GP, m.S.Gpr[R8]);
        Assert.Equal(0UL, m.S.Gpr[R10]);
        Assert.Equal(ulong.MaxValue, m.Memory.Read(TestMachine.DataAddress + 8, 8));
        Assert.Equal(0x1111UL, m.S.Vector.Ymm[2][0]);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void GatherFaultKeepsTheElementsDone(Engine engine)
    {
        // SDM Vol. 2B VPGATHERQQ: a fault on element 2 leaves elements 0 and 1 loaded and their
        // mask elements cleared, so the instruction restarts where it stopped.
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.S.Cr4 |= ControlBits.Cr4OSFXSR | Cr4OsXsave;
        m.S.Vector.Xcr0 = 7;
        m.S.Gpr[CpuState.RSI] = TestMachine.DataAddress;
        m.S.Gpr[R8] = NoFault;
        for (int k = 0; k < 4; k++)
        {
            m.Memory.Write(TestMachine.DataAddress + (ulong)(8 * k), 8, 0x1000UL + (ulong)k);
            m.S.Vector.Ymm[0][k] = 0xAAAA;
            m.S.Vector.Ymm[2][k] = ulong.MaxValue;
        }

        m.S.Vector.Ymm[1][0] = 8;
        m.S.Vector.Ymm[1][1] = 0;
        m.S.Vector.Ymm[1][2] = 0x4000_0000_0000_0000; // non-canonical: #GP(0)
        m.S.Vector.Ymm[1][3] = 16;
        m.Load(a =>
        {
            a.vpgatherqq(ymm0, __[rsi + ymm1], ymm2);
            a.hlt();
        }).RunToHlt(engine);
        Assert.Equal((ulong)Vector.GP, m.S.Gpr[R8]);
        Assert.Equal([0x1001UL, 0x1000UL, 0xAAAAUL, 0xAAAAUL], [m.S.Vector.Ymm[0][0], m.S.Vector.Ymm[0][1], m.S.Vector.Ymm[0][2], m.S.Vector.Ymm[0][3]]);
        Assert.Equal([0UL, 0UL, ulong.MaxValue, ulong.MaxValue], [m.S.Vector.Ymm[2][0], m.S.Vector.Ymm[2][1], m.S.Vector.Ymm[2][2], m.S.Vector.Ymm[2][3]]);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void MaskedOffElementsDoNotFault(Engine engine)
    {
        // The identity map ends at 1 GiB: the last 8 bytes below it are mapped, the next are not.
        const ulong end = 0x4000_0000;
        void Setup(TestMachine m, ulong maskHigh)
        {
            m.S.Gpr[CpuState.RSI] = end - 8;
            m.Memory.Write(end - 8, 8, 0x2222_2222_1111_1111);
            m.S.Vector.Ymm[1][0] = 0x8000_0000_8000_0000;
            m.S.Vector.Ymm[1][1] = maskHigh;
        }

        Assert.Equal(NoFault, Run(engine, a => a.vpmaskmovd(xmm0, xmm1, __xmmword_ptr[rsi]), setup: m => Setup(m, 0)));
        Assert.Equal((ulong)Vector.PF, Run(engine, a => a.vpmaskmovd(xmm0, xmm1, __xmmword_ptr[rsi]), setup: m => Setup(m, 0x8000_0000)));
        Assert.Equal(NoFault, Run(engine, a => a.vpmaskmovd(__xmmword_ptr[rsi], xmm1, xmm0), setup: m => Setup(m, 0)));
        Assert.Equal((ulong)Vector.PF, Run(engine, a => a.vpmaskmovd(__xmmword_ptr[rsi], xmm1, xmm0), setup: m => Setup(m, 0x8000_0000)));
    }
}
