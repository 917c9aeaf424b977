using System.Buffers.Binary;
using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.Cpu.Tests.Exceptions;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using Random = System.Random;

namespace Emulator.Cpu.Tests.Simd;

/// <summary>
/// The SSE and AVX floating-point instructions with UNMASKED exceptions against the host CPU
/// (<see cref="HostSimdTrap"/> catches the host's #XM): random edge inputs under an MXCSR with a
/// random set of exceptions unmasked. The guest (CR4.OSXMMEXCPT = 1) must take #XM exactly when
/// the host does, leave the same destination (unchanged on a fault) and the same MXCSR flags:
/// the rule of SDM Vol. 1 11.5.2 that an unmasked pre-computation exception (IE, DE, ZE) in any
/// lane keeps every lane's OE, UE and PE out of MXCSR, and that with UE unmasked underflow is
/// signalled for a tiny result even when exact (4.9.1.5). Fixed seed per family.
/// </summary>
public class FloatExceptionOracleTests
{
    private const int R8 = 8;
    private const ulong NoFault = 0xDEAD;

    private static readonly int s_casesPerCode = int.TryParse(Environment.GetEnvironmentVariable("FLOAT_ORACLE_CASES"), out int n) ? n : 10;

    public static TheoryData<Engine, string> Families()
    {
        var data = new TheoryData<Engine, string>();
        foreach (var engine in Enum.GetValues<Engine>())
        {
            foreach (string family in new[] { "arith", "minmax-sqrt", "round", "compare", "horizontal-dot", "convert", "convert-mmx" })
            {
                data.Add(engine, family);
            }
        }

        return data;
    }

    [RequiresHostAvxTheory]
    [MemberData(nameof(Families))]
    public void UnmaskedExceptionsMatchHost(Engine engine, string family)
    {
        int seed = 1000 + family.Length + (31 * family[0]) + family[^1];
        var random = new Random(seed);
        var failures = new List<string>();
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        int cases = 0, faults = 0;
        foreach (Code code in FloatOracleTests.Codes(family))
        {
            for (int k = 0; k < s_casesPerCode; k++)
            {
                var instruction = PackedIntegerOracleTests.Build(code, random, memory: k % 3 == 2);
                var input = FloatOracleTests.RandomState(random);
                uint mxcsr = BinaryPrimitives.ReadUInt32LittleEndian(input.Fxsave.AsSpan(HostSimd.MxcsrOffset));
                for (int bit = 0; bit < 6; bit++)
                {
                    if (random.Next(2) == 0)
                    {
                        mxcsr &= ~(1u << (7 + bit));
                    }
                }

                BinaryPrimitives.WriteUInt32LittleEndian(input.Fxsave.AsSpan(HostSimd.MxcsrOffset), mxcsr);
                var asm = new Assembler(64);
                asm.AddInstruction(instruction);
                byte[] bytes = asm.AssembleBytes(TestMachine.CodeAddress);

                var host = input.Clone();
                int trap = HostSimdTrap.Execute(a => a.db(bytes), host.Gprs, host.Fxsave, host.Upper, host.Data);

                var guest = input.Clone();
                m.S.Vector.Mxcsr = mxcsr;
                m.S.Gpr[CpuState.RSP] = TestMachine.StackTop;
                m.S.Gpr[R8] = NoFault;
                guest.RunOnGuest(m, bytes, engine);
                BinaryPrimitives.WriteUInt32LittleEndian(guest.Fxsave.AsSpan(HostSimd.MxcsrOffset), m.S.Vector.Mxcsr);
                cases++;
                faults += trap >= 0 ? 1 : 0;

                var lines = new List<string>();
                ulong expected = trap == Vector.XM ? (ulong)Vector.XM : trap < 0 ? NoFault : (ulong)(uint)trap;
                if (m.S.Gpr[R8] != expected)
                {
                    lines.Add($"vector {(m.S.Gpr[R8] == NoFault ? "none" : m.S.Gpr[R8].ToString())} vs {(trap < 0 ? "none" : trap.ToString())}");
                }

                uint ours = m.S.Vector.Mxcsr, theirs = BinaryPrimitives.ReadUInt32LittleEndian(host.Fxsave.AsSpan(HostSimd.MxcsrOffset));
                if (ours != theirs)
                {
                    lines.Add($"mxcsr {ours:x} vs {theirs:x} (input {mxcsr:x})");
                }

                if (guest.Difference(host) is { } difference)
                {
                    lines.Add(difference);
                }

                if (lines.Count > 0)
                {
                    failures.Add($"{code} `{instruction}` (family {family} seed {seed} case {cases}) inputs [{FloatOracleTests.Inputs(instruction, input)}]: guest vs host: {string.Join("; ", lines)}");
                }
            }
        }

        Assert.True(faults > 0, "no case took an exception on the host: the test would prove nothing");
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases} cases ({faults} faulting on the host) differ:\n" + string.Join("\n", failures.Take(25)));
    }
}
