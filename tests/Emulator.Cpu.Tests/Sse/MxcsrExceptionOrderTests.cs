using Emulator.Cpu.Exceptions;
using Emulator.Cpu.Simd;
using Emulator.Cpu.State;
using Emulator.Cpu.Tests.Exceptions;
using Emulator.TestKit;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Sse;

/// <summary>
/// Which MXCSR flags an instruction that ends in #XM leaves (SDM Vol. 1 11.5.2 and 11.5.3.2),
/// found by the host-CPU harness: an unmasked pre-computation exception stops the instruction
/// before any post-computation flag; an unmasked underflow reports PE only when the result is
/// inexact with an unbounded exponent.
/// </summary>
public class MxcsrExceptionOrderTests
{
    private static uint F(float value) => BitConverter.SingleToUInt32Bits(value);

    private static TestMachine Machine(uint mxcsr)
    {
        var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.S.Cr4 |= ControlBits.Cr4OSFXSR | ControlBits.Cr4OSXMMEXCPT;
        m.S.Gpr[8] = 0xDEAD;
        m.S.Vector.Mxcsr = mxcsr;
        return m;
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void UnmaskedPreComputationExceptionReportsNoPostComputationFlags(Engine engine)
    {
        // Lane 0 divides by zero (ZE, unmasked); lane 1 is 1/3, inexact. The instruction faults
        // before computing, so PE stays clear.
        using var m = Machine(0x1F80 & ~(Mxcsr.ZE << Mxcsr.MaskShift));
        m.S.Vector.Ymm[0][0] = F(1) | ((ulong)F(1) << 32);
        m.S.Vector.Ymm[1][0] = F(0) | ((ulong)F(3) << 32);
        m.S.Vector.Ymm[0][1] = m.S.Vector.Ymm[1][1] = F(1) | ((ulong)F(1) << 32); // lanes 2 and 3: 1/1
        m.Load(a =>
        {
            a.divps(xmm0, xmm1);
            a.hlt();
        }).RunToHlt(engine);
        Assert.Equal((ulong)Vector.XM, m.Reg(8));
        Assert.Equal(0x1D80u | Mxcsr.ZE, m.S.Vector.Mxcsr);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void UnmaskedUnderflowReportsPrecisionOnlyForTheUnboundedResult(Engine engine)
    {
        // (1 + 2^-23) * 2^-100 times 2^-30 is tiny; as a denormal it loses its last bit, with an
        // unbounded exponent it is exact. UE unmasked: #XM with UE and without PE.
        using var m = Machine(0x1F80 & ~(Mxcsr.UE << Mxcsr.MaskShift));
        m.S.Vector.Ymm[0][0] = F(BitConverter.UInt32BitsToSingle(0x0D80_0001));
        m.S.Vector.Ymm[1][0] = F(MathF.ScaleB(1, -30));
        m.Load(a =>
        {
            a.mulss(xmm0, xmm1);
            a.hlt();
        }).RunToHlt(engine);
        Assert.Equal((ulong)Vector.XM, m.Reg(8));
        Assert.Equal((0x1F80u & ~(Mxcsr.UE << Mxcsr.MaskShift)) | Mxcsr.UE, m.S.Vector.Mxcsr);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void UnmaskedOverflowReportsPrecisionOnlyForTheUnboundedResult(Engine engine)
    {
        // The largest single times 2 overflows but is exact with an unbounded exponent: #XM with OE alone.
        using var m = Machine(0x1F80 & ~(Mxcsr.OE << Mxcsr.MaskShift));
        m.S.Vector.Ymm[0][0] = F(float.MaxValue);
        m.S.Vector.Ymm[1][0] = F(2);
        m.Load(a =>
        {
            a.mulss(xmm0, xmm1);
            a.hlt();
        }).RunToHlt(engine);
        Assert.Equal((ulong)Vector.XM, m.Reg(8));
        Assert.Equal((0x1F80u & ~(Mxcsr.OE << Mxcsr.MaskShift)) | Mxcsr.OE, m.S.Vector.Mxcsr);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void InfinityOverZeroIsExact(Engine engine)
    {
        // Infinity / 0 (here a denormal that DAZ makes 0) is infinity with no flag (host: MXCSR stays 1FC0h).
        using var m = Machine(0x1F80 | Mxcsr.Daz);
        m.S.Vector.Ymm[0][0] = BitConverter.DoubleToUInt64Bits(double.PositiveInfinity);
        m.S.Vector.Ymm[1][0] = 0x0000_7FFF_00FF_FFFF;
        m.Load(a =>
        {
            a.divsd(xmm0, xmm1);
            a.hlt();
        }).RunToHlt(engine);
        Assert.Equal(0xDEADUL, m.Reg(8));
        Assert.Equal(BitConverter.DoubleToUInt64Bits(double.PositiveInfinity), m.S.Vector.Ymm[0][0]);
        Assert.Equal(0x1FC0u, m.S.Vector.Mxcsr);
    }
}
