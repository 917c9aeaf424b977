using Emulator.Cpu.Tests.Oracle;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Instructions;

/// <summary>
/// The CET instructions in the hint-NOP space on a CPU without CET (SDM Vol. 1 18.3.1): ENDBR32,
/// ENDBR64 and RDSSPD/RDSSPQ execute as NOPs. Debian's busybox starts every function with
/// ENDBR64. The host (no CET enabled for this process) is the oracle: nothing changes.
/// </summary>
public class HintNopTests
{
    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void CetHintsAreNopsWithoutCet(Engine engine)
    {
        using var d = new Differential(engine);
        foreach (ulong value in Differential.Values(64))
        {
            d.Check("endbr64; endbr32; rdsspq rax; rdsspd ebx", a =>
            {
                a.endbr64();
                a.endbr32();
                a.rdsspq(rax);
                a.rdsspd(ebx);
            }, rax: value, rbx: ~value, flags: value & Differential.StatusFlags);
        }

        d.AssertAllMatched();
    }
}
