using Emulator.Cpu.Tests.Oracle;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;

namespace Emulator.Cpu.Tests.Instructions;

/// <summary>Host-oracle differential tests of BT/BTS/BTR/BTC, BSF/BSR (non-zero sources) and BSWAP (SDM Vol. 2A).</summary>
public class BitTests
{
    private static readonly int[] s_widths = [16, 32, 64];

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void BitTestFamilyMatchesHost(Engine engine)
    {
        using var d = new Differential(engine);
        int[] offsets = [0, 1, 7, 15, 16, 31, 32, 63, 64, 100, 255];
        foreach (string op in new[] { "Bt", "Bts", "Btr", "Btc" })
        {
            foreach (int w in s_widths)
            {
                var register = Differential.Body(Instruction.Create(Differential.CodeOf($"{op}_rm{w}_r{w}")!.Value, Differential.Gpr(Register.RAX, w), Differential.Gpr(Register.RBX, w)));
                var immediate = Differential.CodeOf($"{op}_rm{w}_imm8")!.Value;
                foreach (int offset in offsets)
                {
                    var body = Differential.Body(Instruction.Create(immediate, Differential.Gpr(Register.RAX, w), offset));
                    foreach (ulong a in Differential.Values(w))
                    {
                        foreach (ulong f in new[] { 0UL, Differential.StatusFlags })
                        {
                            d.Check($"{op}_rm{w}_r{w} offset={offset}", register, Differential.Dirty(a, w), Differential.Garbage << 16 | (uint)offset, flags: f);
                            d.Check($"{immediate} offset={offset}", body, Differential.Dirty(a, w), flags: f);
                        }
                    }
                }
            }
        }

        d.AssertAllMatched();
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void BitScansOfNonZeroSourcesMatchHost(Engine engine)
    {
        using var d = new Differential(engine);
        foreach (string op in new[] { "Bsf", "Bsr" })
        {
            foreach (int w in s_widths)
            {
                var body = Differential.Body(Instruction.Create(Differential.CodeOf($"{op}_r{w}_rm{w}")!.Value, Differential.Gpr(Register.RAX, w), Differential.Gpr(Register.RBX, w)));
                var sources = Differential.Values(w, randomCount: 6).Where(v => v != 0).ToList();
                for (int bit = 0; bit < w; bit += 5)
                {
                    sources.Add(1UL << bit);
                }

                foreach (ulong b in sources)
                {
                    d.Check($"{op}_r{w}_rm{w}", body, Differential.Garbage, Differential.Dirty(b, w), flags: Differential.StatusFlags);
                    d.Check($"{op}_r{w}_rm{w}", body, Differential.Garbage, Differential.Dirty(b, w));
                }
            }
        }

        d.AssertAllMatched();
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void BswapMatchesHost(Engine engine)
    {
        using var d = new Differential(engine);
        foreach (ulong a in Differential.Values(64, randomCount: 6))
        {
            d.Check("bswap eax", Differential.Body(Instruction.Create(Code.Bswap_r32, Register.EAX)), a);
            d.Check("bswap rax", Differential.Body(Instruction.Create(Code.Bswap_r64, Register.RAX)), a);
            d.Check("bswap rsi", Differential.Body(Instruction.Create(Code.Bswap_r64, Register.RSI)), 0, rsi: a);
        }

        d.AssertAllMatched();
    }
}
