using Emulator.Cpu.Tests.Oracle;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;

namespace Emulator.Cpu.Tests.Instructions;

/// <summary>Host-oracle differential tests of the integer ALU (SDM Vol. 2A/2B: ADD ... NOT), 8 to 64 bits.</summary>
public class AluTests
{
    private static readonly string[] s_binary = ["Add", "Adc", "Sub", "Sbb", "And", "Or", "Xor", "Cmp", "Test"];
    private static readonly int[] s_widths = [8, 16, 32, 64];
    private static readonly ulong[] s_flagInputs = [0, Differential.StatusFlags];

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void BinaryRegisterFormsMatchHost(Engine engine)
    {
        using var d = new Differential(engine);
        foreach (string op in s_binary)
        {
            foreach (int w in s_widths)
            {
                var code = Differential.CodeOf($"{op}_rm{w}_r{w}")!.Value;
                var body = Differential.Body(Instruction.Create(code, Differential.Gpr(Register.RAX, w), Differential.Gpr(Register.RBX, w)));
                foreach (ulong a in Differential.Values(w))
                {
                    foreach (ulong b in Differential.Values(w, seed: 99))
                    {
                        foreach (ulong f in s_flagInputs)
                        {
                            d.Check($"{code}", body, Differential.Dirty(a, w), Differential.Dirty(b, w), flags: f);
                        }
                    }
                }
            }
        }

        d.AssertAllMatched();
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void BinaryHighByteRegistersMatchHost(Engine engine)
    {
        using var d = new Differential(engine);
        foreach (string op in s_binary)
        {
            var code = Differential.CodeOf($"{op}_rm8_r8")!.Value;
            // AH op BH and AL op AH: the legacy high-byte registers share a full register with their low halves.
            foreach (var (dst, src) in new[] { (Register.AH, Register.BH), (Register.AL, Register.AH), (Register.AH, Register.AL) })
            {
                var body = Differential.Body(Instruction.Create(code, dst, src));
                foreach (ulong a in Differential.Values(16))
                {
                    foreach (ulong f in s_flagInputs)
                    {
                        d.Check($"{code} {dst},{src}", body, Differential.Dirty(a, 16), Differential.Dirty(a * 7, 16), flags: f);
                    }
                }
            }
        }

        d.AssertAllMatched();
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void BinaryImmediateFormsMatchHost(Engine engine)
    {
        using var d = new Differential(engine);
        int[] imm8 = [0, 1, -1, 0x7F, -0x80];
        int[] imm32 = [0, 1, -1, 0x7FFF_FFFF, int.MinValue, 0x1234_5678];
        foreach (string op in s_binary)
        {
            foreach (int w in s_widths)
            {
                // rm, imm8 (sign-extended, 83 /n) and rm, imm (80/81 /n) forms.
                var forms = new List<(Code Code, int[] Immediates)>();
                if (w > 8 && Differential.CodeOf($"{op}_rm{w}_imm8") is { } signExtended)
                {
                    forms.Add((signExtended, imm8));
                }

                int immBits = Math.Min(w, 32);
                if (Differential.CodeOf($"{op}_rm{w}_imm{immBits}") is { } full)
                {
                    forms.Add((full, w == 8 ? [0, 1, 0x7F, 0x80, 0xFF] : w == 16 ? [0, 1, 0x7FFF, 0x8000, 0xFFFF] : imm32));
                }

                foreach (var (code, immediates) in forms)
                {
                    foreach (int imm in immediates)
                    {
                        var body = Differential.Body(Instruction.Create(code, Differential.Gpr(Register.RAX, w), imm));
                        foreach (ulong a in Differential.Values(w))
                        {
                            foreach (ulong f in s_flagInputs)
                            {
                                d.Check($"{code} imm={imm:x}", body, Differential.Dirty(a, w), flags: f);
                            }
                        }
                    }
                }
            }
        }

        d.AssertAllMatched();
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void UnaryFormsMatchHost(Engine engine)
    {
        using var d = new Differential(engine);
        foreach (string op in new[] { "Inc", "Dec", "Neg", "Not" })
        {
            foreach (int w in s_widths)
            {
                var code = Differential.CodeOf($"{op}_rm{w}")!.Value;
                var body = Differential.Body(Instruction.Create(code, Differential.Gpr(Register.RAX, w)));
                foreach (ulong a in Differential.Values(w))
                {
                    foreach (ulong f in s_flagInputs)
                    {
                        d.Check($"{code}", body, Differential.Dirty(a, w), flags: f);
                    }
                }
            }

            var high = Differential.Body(Instruction.Create(Differential.CodeOf($"{op}_rm8")!.Value, Register.AH));
            foreach (ulong a in Differential.Values(16))
            {
                d.Check($"{op} ah", high, Differential.Dirty(a, 16));
            }
        }

        d.AssertAllMatched();
    }
}
