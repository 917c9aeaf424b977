using Emulator.Cpu.Tests.Oracle;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;

namespace Emulator.Cpu.Tests.Instructions;

/// <summary>
/// Host-oracle differential tests of SHL/SHR/SAR/ROL/ROR/RCL/RCR (SDM Vol. 2B): counts 0, 1,
/// multi-bit, at and past the operand width, and counts the CPU masks to 5 or 6 bits.
/// </summary>
public class ShiftTests
{
    private static readonly string[] s_ops = ["Shl", "Shr", "Sar", "Rol", "Ror", "Rcl", "Rcr"];
    private static readonly int[] s_widths = [8, 16, 32, 64];
    private static readonly int[] s_counts = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 0x80, 0xFF];
    private static readonly ulong[] s_flagInputs = [0, Differential.StatusFlags];

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void CountInClMatchesHost(Engine engine)
    {
        using var d = new Differential(engine);
        foreach (string op in s_ops)
        {
            foreach (int w in s_widths)
            {
                var code = Differential.CodeOf($"{op}_rm{w}_CL")!.Value;
                var body = Differential.Body(Instruction.Create(code, Differential.Gpr(Register.RAX, w), Register.CL));
                foreach (int count in s_counts)
                {
                    foreach (ulong a in Differential.Values(w, randomCount: 2))
                    {
                        foreach (ulong f in s_flagInputs)
                        {
                            d.Check($"{code} count={count}", body, Differential.Dirty(a, w), rcx: Differential.Garbage << 8 | (uint)count, flags: f);
                        }
                    }
                }
            }
        }

        d.AssertAllMatched();
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void ImmediateAndOneFormsMatchHost(Engine engine)
    {
        using var d = new Differential(engine);
        foreach (string op in s_ops)
        {
            foreach (int w in s_widths)
            {
                var one = Differential.Body(Instruction.Create(Differential.CodeOf($"{op}_rm{w}_1")!.Value, Differential.Gpr(Register.RAX, w), 1));
                foreach (ulong a in Differential.Values(w))
                {
                    foreach (ulong f in s_flagInputs)
                    {
                        d.Check($"{op}_rm{w}_1", one, Differential.Dirty(a, w), flags: f);
                    }
                }

                var immediate = Differential.CodeOf($"{op}_rm{w}_imm8")!.Value;
                foreach (int count in s_counts)
                {
                    var body = Differential.Body(Instruction.Create(immediate, Differential.Gpr(Register.RAX, w), count));
                    foreach (ulong a in Differential.Values(w, randomCount: 1))
                    {
                        foreach (ulong f in s_flagInputs)
                        {
                            d.Check($"{immediate} count={count}", body, Differential.Dirty(a, w), flags: f);
                        }
                    }
                }
            }
        }

        d.AssertAllMatched();
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void HighByteShiftsMatchHost(Engine engine)
    {
        using var d = new Differential(engine);
        foreach (string op in s_ops)
        {
            var body = Differential.Body(Instruction.Create(Differential.CodeOf($"{op}_rm8_CL")!.Value, Register.AH, Register.CL));
            foreach (int count in s_counts)
            {
                d.Check($"{op} ah,cl count={count}", body, Differential.Dirty(0x81FE, 16), rcx: (uint)count, flags: Differential.StatusFlags);
            }
        }

        d.AssertAllMatched();
    }
}
