using Emulator.TestKit;
using Iced.Intel;
using Xunit;

namespace Emulator.Cpu.Tests.Oracle;

/// <summary>
/// Random register-only instruction sequences, run on the host CPU and on each engine, compared
/// register for register and flag for flag. Flags are masked exactly: a flag an instruction leaves
/// undefined stays masked until a later instruction defines it, and no generated instruction reads
/// a flag that is undefined at that point (Iced's RflagsRead/Modified/Undefined decide).
/// The fast run (CI) uses a fixed seed; EMU_WIDE_FUZZ=N runs N sequences from a fresh seed.
/// A mismatch prints the seed and the sequence, a one-line reproduction.
/// </summary>
public class RandomSequenceTests
{
    private static readonly Register[] s_full = [Register.RAX, Register.RBX, Register.RCX, Register.RDX, Register.RSI, Register.RDI];

    /// <summary>The instruction forms drawn from: the integer families implemented and present on the host.</summary>
    private static readonly string[] s_binary = ["Add", "Or", "Adc", "Sbb", "And", "Sub", "Xor", "Cmp", "Test"];
    private static readonly string[] s_unary = ["Inc", "Dec", "Neg", "Not"];
    private static readonly string[] s_shifts = ["Rol", "Ror", "Rcl", "Rcr", "Shl", "Shr", "Sar"];
    private static readonly ConditionCode[] s_conditions = Enum.GetValues<ConditionCode>().Where(c => c != ConditionCode.None).ToArray();

    private static Instruction Generate(Random random)
    {
        int[] widths = [8, 16, 32, 64];
        int w = widths[random.Next(widths.Length)];
        Register Reg(int width) => width == 8
            ? Differential.Gpr(s_full[random.Next(4)], 8) // AL, BL, CL, DL: no REX-only bytes needed
            : Differential.Gpr(s_full[random.Next(s_full.Length)], width);
        int pick = random.Next(12);
        string wName = w.ToString(System.Globalization.CultureInfo.InvariantCulture);
        switch (pick)
        {
            case 0:
            case 1:
                return Instruction.Create(Differential.CodeOf($"{s_binary[random.Next(s_binary.Length)]}_rm{wName}_r{wName}")!.Value, Reg(w), Reg(w));
            case 2:
                {
                    string op = s_binary[random.Next(s_binary.Length)];
                    var code = w == 64 ? Differential.CodeOf($"{op}_rm64_imm32") : Differential.CodeOf($"{op}_rm{wName}_imm{wName}");
                    return Instruction.Create(code!.Value, Reg(w), (int)random.NextInt64(int.MinValue, int.MaxValue) >> (w == 8 ? 24 : w == 16 ? 16 : 0));
                }

            case 3:
                return Instruction.Create(Differential.CodeOf($"{s_unary[random.Next(s_unary.Length)]}_rm{wName}")!.Value, Reg(w));
            case 4:
                return random.Next(2) == 0
                    ? Instruction.Create(Differential.CodeOf($"{s_shifts[random.Next(s_shifts.Length)]}_rm{wName}_imm8")!.Value, Reg(w), random.Next(0, 70))
                    : Instruction.Create(Differential.CodeOf($"{s_shifts[random.Next(s_shifts.Length)]}_rm{wName}_CL")!.Value, Reg(w), Register.CL);
            case 5:
                return w == 8
                    ? Instruction.Create(Code.Imul_rm8, Reg(8))
                    : Instruction.Create(Differential.CodeOf($"Imul_r{wName}_rm{wName}")!.Value, Reg(w), Reg(w));
            case 6:
                {
                    int cw = w == 8 ? 32 : w;
                    string cwName = cw.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    var cc = s_conditions[random.Next(s_conditions.Length)];
                    return Instruction.Create(Differential.CodeOf($"Cmov{cc}_r{cwName}_rm{cwName}")!.Value, Reg(cw), Reg(cw));
                }

            case 7:
                return Instruction.Create(Differential.CodeOf($"Set{s_conditions[random.Next(s_conditions.Length)]}_rm8")!.Value, Reg(8));
            case 8:
                return Instruction.Create(Differential.CodeOf($"Xchg_rm{wName}_r{wName}")!.Value, Reg(w), Reg(w));
            case 9:
                {
                    int bw = w == 8 ? 16 : w;
                    string bwName = bw.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    string[] bitOps = ["Bt", "Bts", "Btr", "Btc", "Popcnt", "Lzcnt", "Tzcnt"];
                    string op = bitOps[random.Next(bitOps.Length)];
                    return op.StartsWith("Bt", StringComparison.Ordinal)
                        ? Instruction.Create(Differential.CodeOf($"{op}_rm{bwName}_r{bwName}")!.Value, Reg(bw), Reg(bw))
                        : Instruction.Create(Differential.CodeOf($"{op}_r{bwName}_rm{bwName}")!.Value, Reg(bw), Reg(bw));
                }

            case 10:
                {
                    int sw = w == 8 ? 32 : w;
                    string swName = sw.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    string op = random.Next(2) == 0 ? "Shld" : "Shrd";
                    return Instruction.Create(Differential.CodeOf($"{op}_rm{swName}_r{swName}_imm8")!.Value, Reg(sw), Reg(sw), random.Next(0, sw == 16 ? 17 : 64));
                }

            default:
                {
                    int mw = w == 8 ? 16 : w;
                    string mwName = mw.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    return random.Next(2) == 0
                        ? Instruction.Create(Differential.CodeOf($"Movzx_r{(mw == 16 ? "32" : mwName)}_rm8")!.Value, Differential.Gpr(s_full[random.Next(6)], mw == 16 ? 32 : mw), Reg(8))
                        : Instruction.Create(Differential.CodeOf($"Movsx_r{(mw == 16 ? "32" : mwName)}_rm16")!.Value, Differential.Gpr(s_full[random.Next(6)], mw == 16 ? 32 : mw), Reg(16));
                }
        }
    }

    private static ulong ToEflags(RflagsBits bits) => FlagMask.ToEflags(bits);

    private static bool IsShift(in Instruction instruction) => instruction.Mnemonic is Mnemonic.Rol or Mnemonic.Ror or Mnemonic.Rcl or Mnemonic.Rcr
        or Mnemonic.Shl or Mnemonic.Shr or Mnemonic.Sar or Mnemonic.Shld or Mnemonic.Shrd;

    /// <summary>Builds a sequence whose instructions never read an undefined flag; returns it and the flags undefined at its end.</summary>
    private static (List<Instruction> Sequence, ulong Undefined) Sequence(Random random, int length)
    {
        var sequence = new List<Instruction>();
        ulong undefined = 0;
        while (sequence.Count < length)
        {
            var instruction = Generate(random);
            if ((ToEflags(instruction.RflagsRead) & undefined) != 0)
            {
                continue;
            }

            ulong written = ToEflags(instruction.RflagsModified);
            ulong nowUndefined = ToEflags(instruction.RflagsUndefined);
            if (IsShift(instruction))
            {
                // A masked count of zero leaves every flag as it was (SDM Vol. 2B, SAL/SAR/SHL/SHR):
                // with a CL count nothing is known to be defined afterwards; with a zero immediate nothing changes.
                bool byCl = instruction.GetOpKind(instruction.OpCount - 1) == OpKind.Register;
                int mask = instruction.Op0Register.GetSize() == 8 ? 63 : 31;
                if (byCl)
                {
                    written = 0;
                }
                else if ((instruction.Immediate8 & mask) == 0)
                {
                    written = 0;
                    nowUndefined = 0;
                }
            }
            undefined = (undefined & ~written) | nowUndefined;
            sequence.Add(instruction);
        }

        return (sequence, undefined);
    }

    private static void Run(Engine engine, int seed, int sequences, int length)
    {
        var random = new Random(seed);
        using var d = new Differential(engine);
        for (int n = 0; n < sequences; n++)
        {
            var (sequence, undefined) = Sequence(random, length);
            ulong[] regs = Enumerable.Range(0, 6).Select(_ => (ulong)random.NextInt64() ^ ((ulong)random.NextInt64() << 32)).ToArray();
            ulong flags = (ulong)random.Next(0, 0x1000) & Differential.StatusFlags;
            string text = string.Join("; ", sequence.Select(i => i.ToString()));
            d.Check($"seed={seed} n={n} [{text}]", a =>
            {
                foreach (var instruction in sequence)
                {
                    a.AddInstruction(instruction);
                }
            }, regs[0], regs[1], regs[2], regs[3], flags, regs[4], regs[5], undefined);
        }

        d.AssertAllMatched();
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void FastRunMatchesHost(Engine engine) => Run(engine, seed: 20261122, sequences: 400, length: 12);

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void WideRunWhenAsked(Engine engine)
    {
        // The slow, wide run: EMU_WIDE_FUZZ=100000 ./run-tests --filter WideRun
        int count = int.TryParse(Environment.GetEnvironmentVariable("EMU_WIDE_FUZZ"), out int n) ? n : 50;
        int seed = Environment.GetEnvironmentVariable("EMU_WIDE_FUZZ") is null ? 1 : Environment.TickCount;
        Run(engine, seed, count, length: 24);
    }
}
