using Emulator.TestKit;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Fpu;

/// <summary>
/// FYL2X with a denormal y and a special x, as the host-CPU harness's x87trans family found the
/// host reporting it: x = +0 raises only ZE (no DE), x = +infinity raises DE; and a denormal x
/// with y = +infinity raises DE.
/// </summary>
public class X87Fyl2xDenormalTests
{
    private const ushort De = 0x02, Ze = 0x04;

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void DenormalYTimesLog2OfZeroIsOnlyAZeroDivide(Engine engine)
    {
        ushort fsw = Run(engine, X.Zero);
        Assert.Equal(Ze, fsw & (De | Ze));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void DenormalYTimesLog2OfInfinityReportsTheDenormal(Engine engine)
    {
        ushort fsw = Run(engine, X.Infinity);
        Assert.Equal(De, fsw & (De | Ze));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void InfinityTimesLog2OfADenormalReportsTheDenormal(Engine engine)
    {
        ushort fsw = Run(engine, X.DenormalWithInfiniteY);
        Assert.Equal(De, fsw & (De | Ze));
    }

    private enum X
    {
        Zero,
        Infinity,
        DenormalWithInfiniteY,
    }

    private static ushort Run(Engine engine, X x)
    {
        using var m = new TestMachine().LongMode();
        ulong data = TestMachine.DataAddress;
        m.Memory.Write(data, 8, 0x0000_0000_1234_5678);  // y: a positive denormal (exponent 0, J = 0)
        m.Memory.Write(data + 8, 8, 0);
        m.Memory.Write(data + 16, 8, BitConverter.DoubleToUInt64Bits(double.PositiveInfinity));
        m.S.Gpr[3] = data;
        m.Load(a =>
        {
            a.fninit();
            switch (x)
            {
                case X.Zero:
                    a.fld(__tword_ptr[rbx]);
                    a.fldz();
                    break;
                case X.Infinity:
                    a.fld(__tword_ptr[rbx]);
                    a.fld(__qword_ptr[rbx + 16]);
                    break;
                default:
                    a.fld(__qword_ptr[rbx + 16]);
                    a.fld(__tword_ptr[rbx]);
                    break;
            }

            a.fnclex();
            a.fyl2x();
            a.fnstsw(ax);
            a.hlt();
        }).RunToHlt(engine);
        return (ushort)m.S.Gpr[0];
    }
}
