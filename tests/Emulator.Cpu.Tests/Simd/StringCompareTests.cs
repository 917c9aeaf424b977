using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using Random = System.Random;

namespace Emulator.Cpu.Tests.Simd;

/// <summary>
/// PCMPESTRI, PCMPESTRM, PCMPISTRI and PCMPISTRM (and the REX.W explicit-length forms) for all
/// 256 control bytes against the host, on strings built to exercise each aggregation: random
/// bytes, a small alphabet with nulls at random places (implicit lengths), range pairs, equal
/// and prefix strings, substrings at random offsets, and explicit lengths from -20 to 20.
/// </summary>
public class StringCompareTests
{
    public static TheoryData<Engine, Code> Rows()
    {
        var data = new TheoryData<Engine, Code>();
        foreach (var engine in Enum.GetValues<Engine>())
        {
            foreach (var code in new[]
            {
                Code.Pcmpestri_xmm_xmmm128_imm8, Code.Pcmpestri64_xmm_xmmm128_imm8, Code.Pcmpestrm_xmm_xmmm128_imm8,
                Code.Pcmpestrm64_xmm_xmmm128_imm8, Code.Pcmpistri_xmm_xmmm128_imm8, Code.Pcmpistrm_xmm_xmmm128_imm8,
            })
            {
                data.Add(engine, code);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void AllControlBytesMatchHost(Engine engine, Code code)
    {
        var random = new Random((int)code);
        using var m = new TestMachine().LongMode();
        var failures = new List<string>();
        int cases = 0;
        for (int imm = 0; imm < 256; imm++)
        {
            for (int n = 0; n < 10; n++)
            {
                var input = SimdMachineState.Random(random);
                byte[] first = new byte[16], second = new byte[16];
                Strings(random, n, first, second);
                first.CopyTo(input.Fxsave, HostSimd.XmmOffset + 16);
                bool memory = n % 2 == 1;
                if (memory)
                {
                    second.CopyTo(input.Data, 0);
                }
                else
                {
                    second.CopyTo(input.Fxsave, HostSimd.XmmOffset + 32);
                }

                input.Gprs[0] = (ulong)(long)random.Next(-20, 21);
                input.Gprs[3] = (ulong)(long)random.Next(-20, 21);
                if (n == 9)
                {
                    // Lengths that only saturate with all 64 bits (REX.W) or only as 32-bit values.
                    input.Gprs[0] = 0xFFFF_FFFF_0000_0005;
                    input.Gprs[3] = 0x0000_0001_FFFF_FFFE;
                }

                var instruction = memory
                    ? Instruction.Create(code, Register.XMM1, new MemoryOperand(Register.R15), imm)
                    : Instruction.Create(code, Register.XMM1, Register.XMM2, imm);
                var asm = new Assembler(64);
                asm.AddInstruction(instruction);
                byte[] bytes = asm.AssembleBytes(TestMachine.CodeAddress);
                var host = input.Clone();
                host.RunOnHost(a => a.db(bytes));
                var guest = input.Clone();
                guest.RunOnGuest(m, bytes, engine);
                cases++;
                if (guest.Difference(host) is { } difference)
                {
                    failures.Add($"`{instruction}` a={Convert.ToHexString(first)} b={Convert.ToHexString(second)} rax={input.Gprs[0]:x} rdx={input.Gprs[3]:x}: {difference}");
                }
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {cases} cases differ:\n" + string.Join("\n", failures.Take(20)));
    }

    /// <summary>Fills the two strings in one of several shapes, chosen by <paramref name="shape"/>.</summary>
    private static void Strings(Random random, int shape, byte[] a, byte[] b)
    {
        ReadOnlySpan<byte> alphabet = [(byte)'a', (byte)'b', (byte)'c', 0, 0x80, 0xFF, 0x7F, 1];
        switch (shape % 5)
        {
            case 0:
                random.NextBytes(a);
                random.NextBytes(b);
                break;
            case 1:
                for (int k = 0; k < 16; k++)
                {
                    a[k] = alphabet[random.Next(alphabet.Length)];
                    b[k] = alphabet[random.Next(alphabet.Length)];
                }

                break;
            case 2:
                // Ranges: pairs of bounds (some inverted), and text to classify.
                for (int k = 0; k < 16; k += 2)
                {
                    a[k] = (byte)random.Next(256);
                    a[k + 1] = (byte)(a[k] + random.Next(-8, 64));
                }

                random.NextBytes(b);
                a[random.Next(16)] = random.Next(2) == 0 ? (byte)0 : a[0];
                break;
            case 3:
                // Equal or equal up to a point, with a terminator somewhere.
                random.NextBytes(a);
                a.CopyTo(b, 0);
                b[random.Next(16)] ^= (byte)random.Next(2);
                a[random.Next(16)] = 0;
                b[random.Next(16)] = (byte)(random.Next(3) == 0 ? 0 : b[0]);
                break;
            default:
                // A needle (a, short) in a haystack (b) that contains it at a random offset.
                for (int k = 0; k < 16; k++)
                {
                    b[k] = alphabet[random.Next(3)];
                }

                int length = random.Next(1, 6), offset = random.Next(16);
                for (int k = 0; k < 16; k++)
                {
                    a[k] = k < length ? b[(offset + k) % 16] : (byte)0;
                }

                break;
        }
    }
}
