using Emulator.Cpu.State;
using Emulator.TestKit;
using Xunit;

namespace Emulator.Cpu.Tests.Robustness;

/// <summary>
/// "emu stays up whatever a guest does to its own tables": random bytes as code, over random
/// descriptor tables, IDTs and page tables, in every mode. The CPU may fault, double-fault or
/// triple-fault, but no host exception may escape and no handler may hit an internal error.
/// </summary>
public class HostileGuestTests
{
    [Theory]
    [InlineData(16)]
    [InlineData(32)]
    [InlineData(64)]
    public void RandomCodeOverRandomTablesNeverBreaksTheHost(int bitness)
    {
        var random = new Random(4242 + bitness);
        int triples = 0, runs = 0;
        for (int round = 0; round < 150; round++)
        {
            using var m = new TestMachine(4 << 20);
            m.Mode(bitness);
            var junk = new byte[0x3000];
            random.NextBytes(junk);
            // Random code, and random bytes over the GDT, the IDT area and (in long mode) part of the page tables.
            m.LoadBytes(junk[..0x1000]);
            m.Memory.WriteBytes(TestMachine.GdtAddress + 8, junk.AsSpan(0x1000, 0x200));
            m.Memory.WriteBytes(TestMachine.IdtAddress, junk.AsSpan(0x1200, 0x800));
            if (bitness == 64 && round % 3 == 0)
            {
                m.Memory.WriteBytes(TestMachine.PageTableAddress + 0x2000 + 0x100, junk.AsSpan(0x2000, 0x100));
            }

            ref CpuState s = ref m.S;
            s.Idtr = new TableRegister { Base = TestMachine.IdtAddress, Limit = (ushort)random.Next(0, 0x1000) };
            for (int r = 0; r < 16; r++)
            {
                s.Gpr[r] = (ulong)random.NextInt64();
            }

            s.Gpr[CpuState.RSP] = TestMachine.StackTop;
            var reason = m.Cpu.Run(20_000);
            runs++;
            triples += reason == StopReason.TripleFault ? 1 : 0;
            Assert.DoesNotContain(m.Log, line => line.Contains("internal error", StringComparison.Ordinal));
        }

        Assert.Equal(150, runs);
        Assert.True(triples < runs, "some guests must have run for a while rather than triple-faulting at once");
    }
}
