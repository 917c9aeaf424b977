using Emulator.TestKit;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Fpu;

/// <summary>
/// F2XM1 and FYL2XP1 far outside their documented domains (SDM Vol. 2A: -1 &lt;= x &lt;= 1 and
/// |x| &lt; 1 - sqrt(2)/2; the result is undefined outside) must still finish: the host-CPU
/// harness found both spinning for good on x = 2^43. The values checked are the mathematical ones.
/// </summary>
public class X87OutOfDomainTests
{
    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void F2xm1AndFyl2xp1FinishForLargeArguments(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        ulong data = TestMachine.DataAddress;
        m.Memory.Write(data, 8, BitConverter.DoubleToUInt64Bits(Math.ScaleB(1, 43)));
        m.Memory.Write(data + 16, 8, BitConverter.DoubleToUInt64Bits(100));
        m.S.Gpr[3] = data;
        m.Load(a =>
        {
            a.fninit();
            a.fld1();                      // y = 1
            a.fld(__qword_ptr[rbx]);       // x = 2^43
            a.fyl2xp1();                   // log2(2^43 + 1)
            a.fstp(__qword_ptr[rbx + 8]);
            a.fld(__qword_ptr[rbx + 16]);  // 100
            a.f2xm1();                     // 2^100 - 1
            a.fstp(__qword_ptr[rbx + 24]);
            a.hlt();
        }).RunToHlt(engine);
        double log = BitConverter.UInt64BitsToDouble(m.Memory.Read(data + 8, 8));
        double power = BitConverter.UInt64BitsToDouble(m.Memory.Read(data + 24, 8));
        Assert.InRange(log, 43 - 1e-9, 43 + 1e-9);
        Assert.Equal(Math.ScaleB(1, 100), power);
    }
}
