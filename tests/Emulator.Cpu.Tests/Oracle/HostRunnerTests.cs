using Emulator.TestKit;
using Emulator.TestKit.Oracle;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Oracle;

/// <summary>
/// The harness's own machinery: the host runner turns faults into vectors, survives a case that
/// kills it, and the guest side reports the same vectors; the comparer sees a planted difference.
/// </summary>
public class HostRunnerTests
{
    private static byte[] Body(Action<Assembler> build)
    {
        var asm = new Assembler(64);
        build(asm);
        asm.jmp(OracleLayout.Epilogue);
        return asm.AssembleBytes(OracleLayout.Body);
    }

    private static OracleState Input()
    {
        var s = new OracleState();
        s.SetGpr(4, OracleLayout.Stack);
        s.SetGpr(15, OracleLayout.Data);
        s.SetGpr(0, 0x1234);
        s.Rflags = 0x202;
        s.Vector = OracleLayout.NoVector;
        s.Fcw = 0x37F;
        s.Mxcsr = 0x1F80;
        return s;
    }

    [Fact]
    public void FaultsBecomeVectorsAndAKilledRunnerIsReportedAlone()
    {
        if (HostRunner.Unavailable is not null)
        {
            return;
        }

        byte[][] bodies =
        [
            Body(a => a.add(rax, 1)),
            Body(a => a.ud2()),
            Body(a => a.mov(rax, __qword_ptr[0x1000])), // unmapped in the runner: #PF
            Body(a =>
            {
                a.mov(eax, 60); // exit(0): the runner dies mid-batch
                a.xor(edi, edi);
                a.syscall();
            }),
            Body(a => a.add(rax, 2)),
        ];
        var states = bodies.Select(_ => Input()).ToList();
        using var runner = new HostRunner(OracleGenerator.HostYmm);
        runner.Run(states, bodies);
        Assert.Equal(OracleLayout.NoVector, states[0].Vector);
        Assert.Equal(0x1235UL, states[0].Gpr(0));
        Assert.Equal(6UL, states[1].Vector);
        Assert.Equal(OracleLayout.Body, states[1].Rip);
        Assert.Equal(14UL, states[2].Vector);
        Assert.Equal(HostRunner.Crashed, states[3].Vector);
        Assert.Equal(OracleLayout.NoVector, states[4].Vector);
        Assert.Equal(0x1236UL, states[4].Gpr(0));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void GuestReportsTheSameVectors(Engine engine)
    {
        using var guest = new GuestRunner(engine, ymm: false);
        var ud = Input();
        guest.Run(ud, Body(a => a.ud2()));
        Assert.Equal(6UL, ud.Vector);
        Assert.Equal(OracleLayout.Body, ud.Rip);
        Assert.Equal(0x1234UL, ud.Gpr(0));
        var de = Input();
        guest.Run(de, Body(a =>
        {
            a.xor(ecx, ecx);
            a.div(ecx);
        }));
        Assert.Equal(0UL, de.Vector);
        Assert.Equal(OracleLayout.Body + 2, de.Rip);
    }

    [Fact]
    public void ThePlantedDifferenceIsReported()
    {
        var c = new OracleCase(1, 0, "int", [], Body(a => a.nop()), Input(), 0, 0);
        var host = Input();
        var ours = Input();
        Assert.Equal("", OracleComparer.Compare(c, host, ours, ymm: false));
        ours.SetGpr(3, 1);
        ours.Xmm(5)[0] = 1;
        ours.Data[10] = 7;
        string diff = OracleComparer.Compare(c, host, ours, ymm: false);
        Assert.Contains("rbx", diff, StringComparison.Ordinal);
        Assert.Contains("xmm5", diff, StringComparison.Ordinal);
        Assert.Contains("data", diff, StringComparison.Ordinal);
    }
}
