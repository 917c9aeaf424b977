using Emulator.Cpu.Tests.Oracle;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;

namespace Emulator.Cpu.Tests.Instructions;

/// <summary>
/// Host-oracle differential tests of XADD, CMPXCHG, CMOVcc, SETcc, CBW/CWDE/CDQE/CWD/CDQ/CQO and
/// LAHF/SAHF (SDM Vol. 2).
/// </summary>
public class MoveTests
{
    private static readonly int[] s_widths = [8, 16, 32, 64];

    /// <summary>Flag images that make every condition code both true and false somewhere.</summary>
    private static readonly ulong[] s_flagImages = [0, 0x001, 0x004, 0x040, 0x080, 0x800, 0x880, 0x0C1, 0x8D5, 0x841, 0x081];

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void XaddMatchesHost(Engine engine)
    {
        using var d = new Differential(engine);
        foreach (int w in s_widths)
        {
            var code = Differential.CodeOf($"Xadd_rm{w}_r{w}")!.Value;
            var pairs = new List<(Register, Register)> { (Differential.Gpr(Register.RAX, w), Differential.Gpr(Register.RBX, w)), (Differential.Gpr(Register.RAX, w), Differential.Gpr(Register.RAX, w)) };
            if (w == 8)
            {
                // AL and AH live in the same full register but are different operands.
                pairs.Add((Register.AL, Register.AH));
                pairs.Add((Register.AH, Register.AL));
                pairs.Add((Register.AH, Register.AH));
            }

            foreach (var (dst, src) in pairs)
            {
                var body = Differential.Body(Instruction.Create(code, dst, src));
                foreach (ulong a in Differential.Values(w))
                {
                    foreach (ulong b in Differential.Values(w, seed: 3, randomCount: 1))
                    {
                        ulong rax = w == 8 ? Differential.Dirty((b << 8) | a, 16) : Differential.Dirty(a, w);
                        d.Check($"xadd {dst},{src}", body, rax, Differential.Dirty(b, w));
                    }
                }
            }
        }

        d.AssertAllMatched();
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void CmpxchgMatchesHost(Engine engine)
    {
        using var d = new Differential(engine);
        foreach (int w in s_widths)
        {
            var body = Differential.Body(Instruction.Create(Differential.CodeOf($"Cmpxchg_rm{w}_r{w}")!.Value, Differential.Gpr(Register.RBX, w), Differential.Gpr(Register.RCX, w)));
            foreach (ulong a in Differential.Values(w))
            {
                foreach (ulong b in Differential.Values(w, seed: 11))
                {
                    // Equal and unequal comparisons; RCX is the value stored on equality.
                    d.Check($"cmpxchg{w} unequal?", body, Differential.Dirty(a, w), Differential.Dirty(b, w), rcx: Differential.Dirty(0x5A, w));
                    d.Check($"cmpxchg{w} equal", body, Differential.Dirty(a, w), Differential.Dirty(a, w) ^ (Differential.Garbage << 1 & ~Differential.SizeMask(w)), rcx: Differential.Dirty(0x5A, w));
                }
            }

            // The accumulator as the destination operand too.
            var self = Differential.Body(Instruction.Create(Differential.CodeOf($"Cmpxchg_rm{w}_r{w}")!.Value, Differential.Gpr(Register.RAX, w), Differential.Gpr(Register.RCX, w)));
            d.Check($"cmpxchg{w} acc,rcx", self, Differential.Dirty(7, w), rcx: 9);
        }

        d.AssertAllMatched();
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void CmovccMatchesHost(Engine engine)
    {
        using var d = new Differential(engine);
        var codes = Enum.GetValues<Code>().Where(c => c.Mnemonic().ToString().StartsWith("Cmov", StringComparison.Ordinal) && c.Encoding() == EncodingKind.Legacy);
        foreach (var code in codes)
        {
            int w = code.ToString().Contains("_r16_", StringComparison.Ordinal) ? 16 : code.ToString().Contains("_r32_", StringComparison.Ordinal) ? 32 : 64;
            var body = Differential.Body(Instruction.Create(code, Differential.Gpr(Register.RAX, w), Differential.Gpr(Register.RBX, w)));
            foreach (ulong f in s_flagImages)
            {
                d.Check($"{code}", body, Differential.Garbage, ~Differential.Garbage, flags: f);
            }
        }

        d.AssertAllMatched();
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void SetccMatchesHost(Engine engine)
    {
        using var d = new Differential(engine);
        var codes = Enum.GetValues<Code>().Where(c => c.Encoding() == EncodingKind.Legacy && c.Mnemonic().ToString().StartsWith("Set", StringComparison.Ordinal) && c.ConditionCode() != ConditionCode.None);
        foreach (var code in codes)
        {
            foreach (Register dst in new[] { Register.AL, Register.BH, Register.SIL })
            {
                var body = Differential.Body(Instruction.Create(code, dst));
                foreach (ulong f in s_flagImages)
                {
                    d.Check($"{code} {dst}", body, Differential.Garbage, Differential.Garbage, flags: f, rsi: Differential.Garbage);
                }
            }
        }

        d.AssertAllMatched();
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void AccumulatorExtensionsMatchHost(Engine engine)
    {
        using var d = new Differential(engine);
        foreach (var code in new[] { Code.Cbw, Code.Cwde, Code.Cdqe, Code.Cwd, Code.Cdq, Code.Cqo })
        {
            foreach (ulong a in Differential.Values(64, randomCount: 2).Concat<ulong>([0x80, 0x7F, 0x8000, 0x7FFF, 0x8000_0000, 0x7FFF_FFFF, Differential.Garbage | 0x80, Differential.Garbage & ~0x8080_8080UL]))
            {
                d.Check($"{code}", Differential.Body(Instruction.Create(code)), a, rdx: Differential.Garbage);
            }
        }

        d.AssertAllMatched();
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void LahfAndSahfMatchHost(Engine engine)
    {
        using var d = new Differential(engine);
        foreach (ulong f in s_flagImages)
        {
            d.Check("lahf", Differential.Body(Instruction.Create(Code.Lahf)), Differential.Garbage, flags: f);
        }

        for (ulong ah = 0; ah < 256; ah += 7)
        {
            d.Check("sahf", Differential.Body(Instruction.Create(Code.Sahf)), (Differential.Garbage & ~0xFF00UL) | (ah << 8), flags: Differential.StatusFlags);
            d.Check("sahf", Differential.Body(Instruction.Create(Code.Sahf)), (Differential.Garbage & ~0xFF00UL) | (ah << 8));
        }

        d.AssertAllMatched();
    }
}
