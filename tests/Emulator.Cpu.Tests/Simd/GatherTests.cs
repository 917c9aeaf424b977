using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using Random = System.Random;

namespace Emulator.Cpu.Tests.Simd;

/// <summary>
/// The AVX2 gathers (VPGATHERDD/DQ/QD/QQ and VGATHERDPS/DPD/QPS/QPD, each in its 128- and
/// 256-bit forms) against the host: random scales, random in-range index elements over the
/// 64-byte buffer at [R15], random masks, distinct destination, index and mask registers.
/// </summary>
public class GatherTests
{
    public static TheoryData<Engine, Code> Rows()
    {
        var data = new TheoryData<Engine, Code>();
        foreach (var engine in Enum.GetValues<Engine>())
        {
            foreach (var code in Enum.GetValues<Code>().Where(c => c.Encoding() == EncodingKind.VEX && c.Mnemonic().ToString() is
                "Vpgatherdd" or "Vpgatherdq" or "Vpgatherqd" or "Vpgatherqq" or "Vgatherdps" or "Vgatherdpd" or "Vgatherqps" or "Vgatherqpd"))
            {
                data.Add(engine, code);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void MatchesHost(Engine engine, Code code)
    {
        string name = code.Mnemonic().ToString();
        int dataSize = name.EndsWith("ps", StringComparison.Ordinal) ? 4 : name.EndsWith("pd", StringComparison.Ordinal) ? 8 : name.EndsWith('d') ? 4 : 8;
        int indexSize = name.Contains("gatherd", StringComparison.Ordinal) ? 4 : 8;
        var info = code.ToOpCode();
        bool ymmDestination = info.GetOpKind(0).ToString().StartsWith("ymm", StringComparison.Ordinal);
        bool ymmIndex = info.GetOpKind(1).ToString().Contains("64y", StringComparison.Ordinal) || info.GetOpKind(1).ToString().Contains("32y", StringComparison.Ordinal);

        var random = new Random((int)code);
        using var m = new TestMachine().LongMode();
        var failures = new List<string>();
        for (int n = 0; n < 64; n++)
        {
            int[] picks = [.. Enumerable.Range(0, 16).OrderBy(_ => random.Next()).Take(3)];
            int scale = 1 << random.Next(4);
            var input = SimdMachineState.Random(random);
            var indices = new byte[32];
            for (int k = 0; k < 32 / indexSize; k++)
            {
                long value = random.Next(((64 - dataSize) / scale) + 1);
                BitConverter.GetBytes(value).AsSpan(0, indexSize).CopyTo(indices.AsSpan(k * indexSize));
            }

            input.SetYmm(picks[1], indices);
            Register destination = (ymmDestination ? Register.YMM0 : Register.XMM0) + picks[0];
            Register index = (ymmIndex ? Register.YMM0 : Register.XMM0) + picks[1];
            Register mask = (ymmDestination ? Register.YMM0 : Register.XMM0) + picks[2];
            var instruction = Instruction.Create(code, destination, new MemoryOperand(Register.R15, index, scale), mask);
            var asm = new Assembler(64);
            asm.AddInstruction(instruction);
            byte[] bytes = asm.AssembleBytes(TestMachine.CodeAddress);
            var host = input.Clone();
            host.RunOnHost(a => a.db(bytes));
            var guest = input.Clone();
            guest.RunOnGuest(m, bytes, engine);
            if (guest.Difference(host) is { } difference)
            {
                failures.Add($"`{instruction}`: {difference}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of 64 cases differ:\n" + string.Join("\n", failures.Take(10)));
    }
}
