using Emulator.Cpu.Tests.Oracle;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Instructions;

/// <summary>
/// Host-oracle tests of POPCNT, LZCNT, TZCNT, BMI1, BMI2, ADCX/ADOX and CRC32 (SDM Vol. 2), and
/// MOVBE against the manual's byte order. The host CPU of this project has all of them
/// (/proc/cpuinfo: popcnt abm bmi1 bmi2 adx sse4_2 movbe).
/// </summary>
public class BitManipulationTests
{
    private static readonly int[] s_widths = [16, 32, 64];

    private static void Run(Differential d, string label, Instruction instruction, int bits, ulong a, ulong b, ulong c = 0, ulong flags = 0)
    {
        d.Check(label, Differential.Body(instruction), Differential.Dirty(a, bits), Differential.Dirty(b, bits), Differential.Dirty(c, bits), flags: flags, rdx: Differential.Dirty(c, bits));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void CountingMatchesHost(Engine engine)
    {
        using var d = new Differential(engine);
        foreach (string op in new[] { "Popcnt", "Lzcnt", "Tzcnt" })
        {
            foreach (int w in s_widths)
            {
                var code = Differential.CodeOf($"{op}_r{w}_rm{w}")!.Value;
                var instruction = Instruction.Create(code, Differential.Gpr(Register.RAX, w), Differential.Gpr(Register.RBX, w));
                foreach (ulong b in Differential.Values(w).Concat([1UL << (w - 1), 0x10UL]))
                {
                    foreach (ulong f in new[] { 0UL, Differential.StatusFlags })
                    {
                        Run(d, $"{code}", instruction, w, 0x1234, b, flags: f);
                    }
                }
            }
        }

        d.AssertAllMatched();
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void Bmi1AndBmi2MatchHost(Engine engine)
    {
        using var d = new Differential(engine);
        foreach (int w in new[] { 32, 64 })
        {
            var (r0, r1, r2) = (Differential.Gpr(Register.RAX, w), Differential.Gpr(Register.RBX, w), Differential.Gpr(Register.RCX, w));
            Instruction[] forms =
            [
                Instruction.Create(Differential.CodeOf($"VEX_Andn_r{w}_r{w}_rm{w}")!.Value, r0, r1, r2),
                Instruction.Create(Differential.CodeOf($"VEX_Bextr_r{w}_rm{w}_r{w}")!.Value, r0, r1, r2),
                Instruction.Create(Differential.CodeOf($"VEX_Blsi_r{w}_rm{w}")!.Value, r0, r1),
                Instruction.Create(Differential.CodeOf($"VEX_Blsmsk_r{w}_rm{w}")!.Value, r0, r1),
                Instruction.Create(Differential.CodeOf($"VEX_Blsr_r{w}_rm{w}")!.Value, r0, r1),
                Instruction.Create(Differential.CodeOf($"VEX_Bzhi_r{w}_rm{w}_r{w}")!.Value, r0, r1, r2),
                Instruction.Create(Differential.CodeOf($"VEX_Mulx_r{w}_r{w}_rm{w}")!.Value, r0, r1, r2),
                Instruction.Create(Differential.CodeOf($"VEX_Pdep_r{w}_r{w}_rm{w}")!.Value, r0, r1, r2),
                Instruction.Create(Differential.CodeOf($"VEX_Pext_r{w}_r{w}_rm{w}")!.Value, r0, r1, r2),
                Instruction.Create(Differential.CodeOf($"VEX_Rorx_r{w}_rm{w}_imm8")!.Value, r0, r1, 13),
                Instruction.Create(Differential.CodeOf($"VEX_Rorx_r{w}_rm{w}_imm8")!.Value, r0, r1, 0),
                Instruction.Create(Differential.CodeOf($"VEX_Sarx_r{w}_rm{w}_r{w}")!.Value, r0, r1, r2),
                Instruction.Create(Differential.CodeOf($"VEX_Shlx_r{w}_rm{w}_r{w}")!.Value, r0, r1, r2),
                Instruction.Create(Differential.CodeOf($"VEX_Shrx_r{w}_rm{w}_r{w}")!.Value, r0, r1, r2),
            ];
            ulong[] controls = [0, 1, 5, 0x0408, 0x1004, 0x2010, 0x4000, 0xFF00, 0x3F, 0x40, 0x41, 0xFFFF];
            foreach (var instruction in forms)
            {
                foreach (ulong b in Differential.Values(w))
                {
                    foreach (ulong c in controls.Concat(Differential.Values(w, seed: 99, randomCount: 2)))
                    {
                        Run(d, $"{instruction.Code}", instruction, w, 0x5A5A, b, c, flags: Differential.StatusFlags);
                    }
                }
            }
        }

        d.AssertAllMatched();
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void AdcxAdoxMatchHost(Engine engine)
    {
        using var d = new Differential(engine);
        foreach (int w in new[] { 32, 64 })
        {
            foreach (string op in new[] { "Adcx", "Adox" })
            {
                var instruction = Instruction.Create(Differential.CodeOf($"{op}_r{w}_rm{w}")!.Value, Differential.Gpr(Register.RAX, w), Differential.Gpr(Register.RBX, w));
                foreach (ulong a in Differential.Values(w))
                {
                    foreach (ulong b in Differential.Values(w, seed: 7))
                    {
                        foreach (ulong f in new[] { 0UL, Differential.StatusFlags, 1UL, 0x800UL })
                        {
                            Run(d, $"{instruction.Code}", instruction, w, a, b, flags: f);
                        }
                    }
                }
            }
        }

        d.AssertAllMatched();
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void Crc32MatchesHost(Engine engine)
    {
        using var d = new Differential(engine);
        (string Code, int Dest, int Src)[] forms = [("Crc32_r32_rm8", 32, 8), ("Crc32_r32_rm16", 32, 16), ("Crc32_r32_rm32", 32, 32), ("Crc32_r64_rm8", 64, 8), ("Crc32_r64_rm64", 64, 64)];
        foreach (var (name, dest, src) in forms)
        {
            var instruction = Instruction.Create(Differential.CodeOf(name)!.Value, Differential.Gpr(Register.RAX, dest), Differential.Gpr(Register.RBX, src));
            foreach (ulong a in Differential.Values(32))
            {
                foreach (ulong b in Differential.Values(src))
                {
                    Run(d, name, instruction, 64, a, b);
                }
            }
        }

        d.AssertAllMatched();
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void MovbeReversesBytesBothWays(Engine engine)
    {
        // SDM Vol. 2B, MOVBE: "the bytes of the source are swapped and copied to the destination".
        using var m = new TestMachine().LongMode();
        m.Memory.Write(TestMachine.DataAddress, 8, 0x0102_0304_0506_0708);
        m.Load(a =>
        {
            a.mov(rsi, TestMachine.DataAddress);
            a.movbe(rax, __qword_ptr[rsi]);
            a.movbe(ebx, __dword_ptr[rsi]);
            a.movbe(cx, __word_ptr[rsi]);
            a.mov(rdx, 0x1122_3344_5566_7788);
            a.movbe(__qword_ptr[rsi + 8], rdx);
            a.hlt();
        }).RunToHlt(engine);
        Assert.Equal(0x0807_0605_0403_0201UL, m.S.Gpr[0]);
        Assert.Equal(0x0807_0605UL, m.S.Gpr[3]);
        Assert.Equal(0x0807UL, m.S.Gpr[1] & 0xFFFF);
        Assert.Equal(0x8877_6655_4433_2211UL, m.Memory.Read(TestMachine.DataAddress + 8, 8));
    }

    [Fact]
    public void CpuidAdvertisesExactlyTheseFamilies()
    {
        // Bit positions from SDM Vol. 2A, CPUID, tables 3-10, 3-8 (leaf 7) and 3-8 (80000001h).
        var model = new CpuidModel(CpuModel.Max);
        Assert.Equal(3u << 22, model.Query(1, 0).Ecx & (3u << 22)); // MOVBE, POPCNT
        Assert.Equal((1u << 3) | (1u << 8) | (1u << 19), model.Query(7, 0).Ebx & ((1u << 3) | (1u << 8) | (1u << 19))); // BMI1, BMI2, ADX
        Assert.Equal(1u << 5, model.Query(0x80000001, 0).Ecx & (1u << 5)); // LZCNT
        Assert.Equal(1u << 20, model.Query(1, 0).Ecx & (1u << 20)); // SSE4.2: CRC32 with the string compares and PCMPGTQ (Simd/)
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void DoubleShiftsMatchHost(Engine engine)
    {
        using var d = new Differential(engine);
        foreach (int w in s_widths)
        {
            foreach (string op in new[] { "Shld", "Shrd" })
            {
                var byCl = Instruction.Create(Differential.CodeOf($"{op}_rm{w}_r{w}_CL")!.Value, Differential.Gpr(Register.RAX, w), Differential.Gpr(Register.RBX, w), Register.CL);
                // 16-bit counts above 16 are undefined (SDM Vol. 2B, SHLD): compare counts up to the width.
                foreach (int count in new[] { 0, 1, 2, 7, 8, 15, 16, 31, 32, 63, 64, 65 }.Where(n => w != 16 || (n & 31) <= 16))
                {
                    var byImmediate = Instruction.Create(Differential.CodeOf($"{op}_rm{w}_r{w}_imm8")!.Value, Differential.Gpr(Register.RAX, w), Differential.Gpr(Register.RBX, w), count);
                    foreach (ulong a in Differential.Values(w, randomCount: 2))
                    {
                        foreach (ulong b in Differential.Values(w, seed: 5, randomCount: 1))
                        {
                            d.Check($"{byCl.Code} count={count}", Differential.Body(byCl), Differential.Dirty(a, w), Differential.Dirty(b, w), (ulong)count, flags: Differential.StatusFlags);
                            d.Check($"{byImmediate.Code} count={count}", Differential.Body(byImmediate), Differential.Dirty(a, w), Differential.Dirty(b, w));
                        }
                    }
                }
            }
        }

        d.AssertAllMatched();
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void RdrandAndRdseedGiveValuesWithCarrySet(Engine engine)
    {
        // SDM Vol. 2B, RDRAND: CF = 1 when a value is returned; OF, SF, ZF, AF, PF are cleared.
        using var m = new TestMachine().LongMode();
        m.Load(a =>
        {
            a.stc();
            a.rdrand(rax);
            a.setc(r8b);
            a.rdrand(rbx);
            a.rdseed(rcx);
            a.setc(r9b);
            a.rdrand(dx);
            a.hlt();
        }).RunToHlt(engine);
        Assert.Equal(1UL, m.S.Gpr[8] & 0xFF);
        Assert.Equal(1UL, m.S.Gpr[9] & 0xFF);
        Assert.NotEqual(m.S.Gpr[0], m.S.Gpr[3]); // two 64-bit draws: equal with probability 2^-64
        Assert.Equal(0UL, m.S.Rflags & 0x8D4);
    }
}
