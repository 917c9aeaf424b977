using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Instructions;

public class SmokeTests
{
    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void AddMatchesHost(Engine engine)
    {
        Span<ulong> host = [0xFFFF_FFFF_FFFF_FFFF, 1, 0, 0, 0, 0, 0x2];
        HostCpu.Execute(a => a.add(rax, rbx), host);

        using var m = new TestMachine().LongMode();
        m.S.Gpr[0] = 0xFFFF_FFFF_FFFF_FFFF;
        m.S.Gpr[3] = 1;
        m.Load(a =>
        {
            a.add(rax, rbx);
            a.hlt();
        }).RunToHlt(engine);
        Assert.Equal(host[0], m.S.Gpr[0]);
        Assert.Equal(host[6] & 0x8D5, m.S.Rflags & 0x8D5);
    }
}
