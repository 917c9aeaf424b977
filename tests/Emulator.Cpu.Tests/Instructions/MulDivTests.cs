using System.Numerics;
using Emulator.Cpu.Tests.Oracle;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;

namespace Emulator.Cpu.Tests.Instructions;

/// <summary>
/// Host-oracle differential tests of MUL, IMUL (one, two and three operands), DIV and IDIV
/// (SDM Vol. 2A/2B). Divisions run natively only when they cannot fault; the #DE cases are in
/// Exceptions/ExceptionTests.cs.
/// </summary>
public class MulDivTests
{
    private static readonly int[] s_widths = [8, 16, 32, 64];

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void OneOperandMultipliesMatchHost(Engine engine)
    {
        using var d = new Differential(engine);
        foreach (string op in new[] { "Mul", "Imul" })
        {
            foreach (int w in s_widths)
            {
                var code = Differential.CodeOf($"{op}_rm{w}")!.Value;
                var body = Differential.Body(Instruction.Create(code, Differential.Gpr(Register.RBX, w)));
                foreach (ulong a in Differential.Values(w))
                {
                    foreach (ulong b in Differential.Values(w, seed: 7))
                    {
                        d.Check($"{code}", body, Differential.Dirty(a, w), Differential.Dirty(b, w), rdx: Differential.Garbage, flags: Differential.StatusFlags);
                    }
                }
            }

            // MUL BH: the source shares RBX with BL.
            d.Check($"{op} bh", Differential.Body(Instruction.Create(Differential.CodeOf($"{op}_rm8")!.Value, Register.AH)), 0x80FF, 0xFF00);
        }

        d.AssertAllMatched();
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void TwoAndThreeOperandImulMatchesHost(Engine engine)
    {
        using var d = new Differential(engine);
        foreach (int w in new[] { 16, 32, 64 })
        {
            var two = Differential.Body(Instruction.Create(Differential.CodeOf($"Imul_r{w}_rm{w}")!.Value, Differential.Gpr(Register.RAX, w), Differential.Gpr(Register.RBX, w)));
            foreach (ulong a in Differential.Values(w))
            {
                foreach (ulong b in Differential.Values(w, seed: 5))
                {
                    d.Check($"Imul_r{w}_rm{w}", two, Differential.Dirty(a, w), Differential.Dirty(b, w), flags: Differential.StatusFlags);
                }
            }

            int immBits = Math.Min(w, 32);
            foreach (var code in new[] { Differential.CodeOf($"Imul_r{w}_rm{w}_imm8")!.Value, Differential.CodeOf($"Imul_r{w}_rm{w}_imm{immBits}")!.Value })
            {
                int[] immediates = code.ToString().EndsWith("imm8", StringComparison.Ordinal) ? [0, 1, -1, 0x7F, -0x80, 3]
                    : w == 16 ? [0x7FFF, 0x8000, 0x1234] : [0x7FFF_FFFF, int.MinValue, 0x1234_5678];
                foreach (int imm in immediates)
                {
                    // Three operands: RAX = RBX * imm; RAX starts dirty so the destination write shows.
                    var three = Differential.Body(Instruction.Create(code, Differential.Gpr(Register.RAX, w), Differential.Gpr(Register.RBX, w), imm));
                    foreach (ulong b in Differential.Values(w))
                    {
                        d.Check($"{code} imm={imm:x}", three, Differential.Garbage, Differential.Dirty(b, w));
                    }
                }
            }
        }

        d.AssertAllMatched();
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void NonFaultingDivisionsMatchHost(Engine engine)
    {
        using var d = new Differential(engine);
        foreach (bool signed in new[] { false, true })
        {
            foreach (int w in s_widths)
            {
                var code = Differential.CodeOf($"{(signed ? "Idiv" : "Div")}_rm{w}")!.Value;
                var body = Differential.Body(Instruction.Create(code, Differential.Gpr(Register.RBX, w)));
                ulong[] values = Differential.Values(w);
                foreach (ulong low in values)
                {
                    foreach (ulong high in values)
                    {
                        foreach (ulong divisor in values)
                        {
                            if (!Fits(signed, w, high, low, divisor))
                            {
                                continue;
                            }

                            // 8-bit: the dividend is AX (AH:AL); wider: DX:AX, EDX:EAX, RDX:RAX.
                            ulong rax = w == 8 ? Differential.Dirty((high << 8) | low, 16) : Differential.Dirty(low, w);
                            ulong rdx = w == 8 ? Differential.Garbage : Differential.Dirty(high, w);
                            d.Check($"{code}", body, rax, Differential.Dirty(divisor, w), rdx: rdx, flags: Differential.StatusFlags);
                        }
                    }
                }
            }
        }

        d.AssertAllMatched();
    }

    /// <summary>True when the division neither divides by zero nor overflows its quotient (SDM Vol. 2A, DIV/IDIV).</summary>
    private static bool Fits(bool signed, int w, ulong high, ulong low, ulong divisor)
    {
        if (divisor == 0)
        {
            return false;
        }

        BigInteger dividend = ((BigInteger)high << w) | low;
        BigInteger div = divisor;
        if (signed)
        {
            if (high >> (w - 1) != 0)
            {
                dividend -= BigInteger.One << (2 * w);
            }

            if (divisor >> (w - 1) != 0)
            {
                div -= BigInteger.One << w;
            }

            BigInteger q = BigInteger.Divide(dividend, div);
            return q >= -(BigInteger.One << (w - 1)) && q < (BigInteger.One << (w - 1));
        }

        return dividend / div < (BigInteger.One << w);
    }
}
