using Emulator.Cpu.State;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.Tests.Emit;

/// <summary>
/// Engine parity for every inline family (STYLE.md: a hand-written IL fast path always comes with
/// an engine-parity test): random programs of each family, mixed with instructions the JIT leaves
/// to the handlers (so register spills and reloads around calls are exercised), from random
/// registers and flags, must end in exactly the interpreter's state, faults included.
/// </summary>
public class InlineParityTests
{
    // Registers the generated code writes (RSI holds the data pointer, R11 a small index, RSP the stack).
    private static readonly int[] s_written = [0, 1, 2, 3, 5, 7, 8, 9, 10];
    private static readonly int[] s_written32 = [0, 1, 2, 3, 7];

    [ThreadStatic]
    private static int s_bitness;
    private static readonly Register[] s_legacy8 = [Register.AL, Register.CL, Register.DL, Register.BL, Register.AH, Register.CH, Register.DH, Register.BH];
    private static readonly int[] s_widths = [8, 16, 32, 64];

    private static Register Gpr(Random random, int width)
    {
        if (width == 8)
        {
            return s_legacy8[random.Next(s_legacy8.Length)];
        }

        var pool = s_bitness == 32 ? s_written32 : s_written;
        int g = pool[random.Next(pool.Length)];
        Register full = Register.RAX + g;
        return width switch
        {
            16 => Register.AX + g,
            32 => Register.EAX + g,
            _ => full,
        };
    }

    private static MemoryOperand Memory(Random random, int bitness)
    {
        var baseRegister = bitness == 64 ? Register.RSI : Register.ESI;
        int displacement = random.Next(0, 0x1000) & ~random.Next(0, 8);
        if (random.Next(3) == 0)
        {
            var index = bitness == 64 ? Register.R11 : Register.EBP;
            return new MemoryOperand(baseRegister, index, 1 << random.Next(4), displacement, DisplacementSize(bitness));
        }

        return new MemoryOperand(baseRegister, displacement, DisplacementSize(bitness));
    }

    private static int DisplacementSize(int bitness) => bitness == 64 ? 8 : 4;

    private static Code CodeOf(string name) => Enum.Parse<Code>(name);

    private static Instruction Alu(Random random, string op, int bitness)
    {
        int w = bitness == 64 ? s_widths[random.Next(4)] : s_widths[random.Next(3)];
        string width = w.ToString(System.Globalization.CultureInfo.InvariantCulture);
        switch (random.Next(5))
        {
            case 0:
                return Instruction.Create(CodeOf($"{op}_rm{width}_r{width}"), Gpr(random, w), Gpr(random, w));
            case 1:
                return Instruction.Create(CodeOf($"{op}_rm{width}_r{width}"), Memory(random, bitness), Gpr(random, w));
            case 2 when op != "Test":
                return Instruction.Create(CodeOf($"{op}_r{width}_rm{width}"), Gpr(random, w), Memory(random, bitness));
            case 3 when w > 8 && op != "Test":
                return random.Next(2) == 0
                    ? Instruction.Create(CodeOf($"{op}_rm{width}_imm8"), Gpr(random, w), random.Next(-128, 128))
                    : Instruction.Create(CodeOf($"{op}_rm{width}_imm8"), Memory(random, bitness), random.Next(-128, 128));
            default:
                string imm = w == 64 ? "imm32" : $"imm{width}";
                return random.Next(2) == 0
                    ? Instruction.Create(CodeOf($"{op}_rm{width}_{imm}"), Gpr(random, w), Immediate(random, w))
                    : Instruction.Create(CodeOf($"{op}_rm{width}_{imm}"), Memory(random, bitness), Immediate(random, w));
        }
    }

    private static int Immediate(Random random, int width) => width switch
    {
        8 => random.Next(-128, 128),
        16 => random.Next(-32768, 32768),
        _ => random.Next(4) == 0 ? random.Next(-2, 3) : random.Next(),
    };

    private static Instruction Unary(Random random, string op, int bitness)
    {
        int w = bitness == 64 ? s_widths[random.Next(4)] : s_widths[random.Next(3)];
        var code = CodeOf($"{op}_rm{w}");
        return random.Next(3) == 0 ? Instruction.Create(code, Memory(random, bitness)) : Instruction.Create(code, Gpr(random, w));
    }

    private static Instruction Move(Random random, int bitness)
    {
        int w = bitness == 64 ? s_widths[random.Next(4)] : s_widths[random.Next(3)];
        switch (random.Next(7))
        {
            case 0:
                return Instruction.Create(CodeOf($"Mov_rm{w}_r{w}"), Gpr(random, w), Gpr(random, w));
            case 1:
                return Instruction.Create(CodeOf($"Mov_rm{w}_r{w}"), Memory(random, bitness), Gpr(random, w));
            case 2:
                return Instruction.Create(CodeOf($"Mov_r{w}_rm{w}"), Gpr(random, w), Memory(random, bitness));
            case 3:
                return w == 64 ? Instruction.Create(Code.Mov_r64_imm64, Gpr(random, 64), (ulong)random.NextInt64()) : Instruction.Create(CodeOf($"Mov_r{w}_imm{w}"), Gpr(random, w), Immediate(random, w));
            case 4:
                {
                    int to = w == 8 ? 32 : w == 64 && bitness == 64 ? 64 : 32;
                    int from = random.Next(2) == 0 ? 8 : 16;
                    string op = random.Next(2) == 0 ? "Movzx" : "Movsx";
                    return random.Next(2) == 0
                        ? Instruction.Create(CodeOf($"{op}_r{to}_rm{from}"), Gpr(random, to), Gpr(random, from))
                        : Instruction.Create(CodeOf($"{op}_r{to}_rm{from}"), Gpr(random, to), Memory(random, bitness));
                }

            case 5 when bitness == 64:
                return random.Next(2) == 0
                    ? Instruction.Create(Code.Movsxd_r64_rm32, Gpr(random, 64), Memory(random, bitness))
                    : Instruction.Create(Code.Movsxd_r64_rm32, Gpr(random, 64), Gpr(random, 32));
            default:
                {
                    int to = bitness == 64 ? s_widths[1 + random.Next(3)] : s_widths[1 + random.Next(2)];
                    var baseRegister = Gpr(random, bitness);
                    var index = Gpr(random, bitness);
                    var operand = random.Next(2) == 0 ? new MemoryOperand(baseRegister, index, 1 << random.Next(4), random.Next(-300, 300), DisplacementSize(bitness)) : new MemoryOperand(baseRegister, random.Next(), DisplacementSize(bitness));
                    return Instruction.Create(CodeOf($"Lea_r{to}_m"), Gpr(random, to), operand);
                }
        }
    }

    /// <summary>Shifts by an immediate (zero counts included) and IMUL with two and three operands.</summary>
    private static Instruction ShiftOrMultiply(Random random, int bitness)
    {
        int w = bitness == 64 ? s_widths[random.Next(4)] : s_widths[random.Next(3)];
        switch (random.Next(4))
        {
            case 0:
                {
                    string op = new[] { "Shl", "Sal", "Shr", "Sar" }[random.Next(4)];
                    int count = random.Next(3) == 0 ? 1 : random.Next(64);
                    if (random.Next(4) == 0)
                    {
                        return Instruction.Create(CodeOf($"{op}_rm{w}_CL"), Gpr(random, w), Register.CL);
                    }

                    return count == 1 && random.Next(2) == 0
                        ? Instruction.Create(CodeOf($"{op}_rm{w}_1"), Gpr(random, w), 1)
                        : Instruction.Create(CodeOf($"{op}_rm{w}_imm8"), Gpr(random, w), count);
                }

            case 1 when w > 8:
                return random.Next(2) == 0
                    ? Instruction.Create(CodeOf($"Imul_r{w}_rm{w}"), Gpr(random, w), Gpr(random, w))
                    : Instruction.Create(CodeOf($"Imul_r{w}_rm{w}"), Gpr(random, w), Memory(random, bitness));
            case 2 when w > 8:
                {
                    string imm = random.Next(2) == 0 ? "imm8" : w == 64 ? "imm32" : $"imm{w}";
                    int value = imm == "imm8" ? random.Next(-128, 128) : Immediate(random, w);
                    return random.Next(2) == 0
                        ? Instruction.Create(CodeOf($"Imul_r{w}_rm{w}_{imm}"), Gpr(random, w), Gpr(random, w), value)
                        : Instruction.Create(CodeOf($"Imul_r{w}_rm{w}_{imm}"), Gpr(random, w), Memory(random, bitness), value);
                }

            default:
                // A flag writer after them, so that their flags are often dead (and so inlined).
                return Alu(random, random.Next(2) == 0 ? "Add" : "Cmp", bitness);
        }
    }

    private static readonly string[] s_conditions = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];

    /// <summary>SETcc, CMOVcc, CBW..CQO, XCHG, BSWAP and MUL after flag producers (whose records they read or settle).</summary>
    private static Instruction Misc(Random random, int bitness)
    {
        int w = bitness == 64 ? s_widths[1 + random.Next(3)] : s_widths[1 + random.Next(2)];
        string cc = s_conditions[random.Next(16)];
        switch (random.Next(8))
        {
            case 0:
                return random.Next(3) == 0 ? Instruction.Create(CodeOf($"Set{cc}_rm8"), Memory(random, bitness)) : Instruction.Create(CodeOf($"Set{cc}_rm8"), Gpr(random, 8));
            case 1:
                return random.Next(3) == 0 ? Instruction.Create(CodeOf($"Cmov{cc}_r{w}_rm{w}"), Gpr(random, w), Memory(random, bitness)) : Instruction.Create(CodeOf($"Cmov{cc}_r{w}_rm{w}"), Gpr(random, w), Gpr(random, w));
            case 2:
                {
                    var codes = bitness == 64 ? new[] { Code.Cbw, Code.Cwde, Code.Cdqe, Code.Cwd, Code.Cdq, Code.Cqo } : new[] { Code.Cbw, Code.Cwde, Code.Cwd, Code.Cdq };
                    return Instruction.Create(codes[random.Next(codes.Length)]);
                }

            case 3:
                {
                    int x = random.Next(3) == 0 ? 8 : w;
                    return Instruction.Create(CodeOf($"Xchg_rm{x}_r{x}"), Gpr(random, x), Gpr(random, x));
                }

            case 4:
                return bitness == 64 && random.Next(2) == 0 ? Instruction.Create(Code.Bswap_r64, Gpr(random, 64)) : Instruction.Create(Code.Bswap_r32, Gpr(random, 32));
            case 5:
                return random.Next(3) == 0 ? Instruction.Create(CodeOf($"Mul_rm{w}"), Memory(random, bitness)) : Instruction.Create(CodeOf($"Mul_rm{w}"), Gpr(random, w));
            case 6:
                return ShiftOrMultiply(random, bitness);
            default:
                return Alu(random, new[] { "Add", "Sub", "Cmp", "Test", "And" }[random.Next(5)], bitness);
        }
    }

    /// <summary>
    /// DIV and IDIV of 16, 32 and (64-bit code) 64 bits, often right after an instruction that
    /// makes the dividend small (zero or sign-extended RDX, a small EDX), so both the inline fast
    /// path, the interpreter's slow path and #DE are reached; and ALU instructions leaving flags pending.
    /// </summary>
    private static Instruction Divide(Random random, int bitness)
    {
        int w = bitness == 64 ? s_widths[1 + random.Next(3)] : s_widths[1 + random.Next(2)];
        switch (random.Next(6))
        {
            case 0:
            case 1:
                {
                    string op = random.Next(2) == 0 ? "Div" : "Idiv";
                    return random.Next(3) == 0 ? Instruction.Create(CodeOf($"{op}_rm{w}"), Memory(random, bitness)) : Instruction.Create(CodeOf($"{op}_rm{w}"), Gpr(random, w));
                }

            case 2:
                return Instruction.Create(Code.Xor_r32_rm32, Register.EDX, Register.EDX);
            case 3:
                {
                    var codes = bitness == 64 ? new[] { Code.Cwd, Code.Cdq, Code.Cqo } : new[] { Code.Cwd, Code.Cdq };
                    return Instruction.Create(codes[random.Next(codes.Length)]);
                }

            case 4:
                return Instruction.Create(Code.Mov_r32_imm32, Register.EDX, random.Next(0, 4));
            default:
                return Alu(random, new[] { "Add", "Sub", "Cmp" }[random.Next(3)], bitness);
        }
    }

    /// <summary>Instructions the JIT leaves to the interpreter's handlers.</summary>
    private static Instruction Handler(Random random, int bitness) => random.Next(4) switch
    {
        0 => Instruction.Create(bitness == 64 ? Code.Rcl_rm64_1 : Code.Rcl_rm32_1, Gpr(random, bitness), 1),
        1 => Instruction.Create(Code.Rcr_rm32_1, Gpr(random, 32), 1),
        2 => Instruction.Create(bitness == 64 ? Code.Bt_rm64_r64 : Code.Bt_rm32_r32, Gpr(random, bitness), Gpr(random, bitness)),
        _ => Instruction.Create(Code.Bsf_r32_rm32, Gpr(random, 32), Gpr(random, 32)),
    };

    private static void EndWithJcc(Assembler a, Random random)
    {
        var taken = a.CreateLabel();
        switch (random.Next(16))
        {
            case 0: a.jo(taken); break;
            case 1: a.jno(taken); break;
            case 2: a.jb(taken); break;
            case 3: a.jae(taken); break;
            case 4: a.je(taken); break;
            case 5: a.jne(taken); break;
            case 6: a.jbe(taken); break;
            case 7: a.ja(taken); break;
            case 8: a.js(taken); break;
            case 9: a.jns(taken); break;
            case 10: a.jp(taken); break;
            case 11: a.jnp(taken); break;
            case 12: a.jl(taken); break;
            case 13: a.jge(taken); break;
            case 14: a.jle(taken); break;
            default: a.jg(taken); break;
        }

        a.hlt();
        a.Label(ref taken);
        a.nop();
        a.hlt();
    }

    private static bool Encodable(in Instruction instruction, int bitness)
    {
        var encoder = Encoder.Create(bitness, new NullWriter());
        return encoder.TryEncode(instruction, TestMachine.CodeAddress, out _, out _);
    }

    private sealed class NullWriter : CodeWriter
    {
        public override void WriteByte(byte value)
        {
        }
    }

    private static ulong[] RandomRegisters(Random random, int bitness)
    {
        var gpr = new ulong[16];
        for (int r = 0; r < 16; r++)
        {
            gpr[r] = random.Next(4) switch
            {
                0 => (ulong)random.Next(-3, 3),
                1 => 0x8000_0000_0000_0000UL >> random.Next(64),
                _ => (ulong)random.NextInt64() ^ ((ulong)random.NextInt64() << 32),
            };
            if (bitness != 64)
            {
                gpr[r] &= 0xFFFF_FFFF;
            }
        }

        gpr[CpuState.RSP] = TestMachine.StackTop;
        gpr[CpuState.RSI] = EngineParity.DataAddress;
        gpr[bitness == 64 ? 11 : CpuState.RBP] = (ulong)random.Next(0x100);
        return gpr;
    }

    private static void Check(string family, int bitness, int seed, Func<Random, Instruction> pick)
    {
        var random = new Random(seed);
        s_bitness = bitness;
        long inlined = 0;
        for (int c = 0; c < 150; c++)
        {
            var body = new List<Instruction>();
            int length = random.Next(1, 14);
            while (body.Count < length)
            {
                // Random operands can ask for an impossible encoding (AH with a REX prefix): draw again.
                var instruction = random.Next(6) == 0 ? Handler(random, bitness) : pick(random);
                if (Encodable(instruction, bitness))
                {
                    body.Add(instruction);
                }
            }

            int endSeed = random.Next();
            void Program(Assembler a)
            {
                foreach (var instruction in body)
                {
                    a.AddInstruction(instruction);
                }

                EndWithJcc(a, new Random(endSeed));
            }

            var gpr = RandomRegisters(random, bitness);
            ulong flags = (ulong)random.Next() & Flags.Arith;
            var outcome = EngineParity.AssertSame($"{family} case {c}: {string.Join("; ", body)}", bitness, Program, gpr, flags);
            inlined += outcome.Inlined;
        }

        // The family really took its inline path (not only the handlers).
        Assert.True(inlined > 150, $"{family}: only {inlined} instructions inlined");
    }

    [Theory]
    [InlineData("Add", 64)]
    [InlineData("Sub", 64)]
    [InlineData("And", 64)]
    [InlineData("Or", 64)]
    [InlineData("Xor", 64)]
    [InlineData("Cmp", 64)]
    [InlineData("Test", 64)]
    [InlineData("Add", 32)]
    [InlineData("Sub", 32)]
    [InlineData("Cmp", 32)]
    [InlineData("Adc", 64)]
    [InlineData("Sbb", 64)]
    [InlineData("Adc", 32)]
    [InlineData("Sbb", 32)]
    public void BinaryAluMatchesTheInterpreter(string op, int bitness) => Check(op, bitness, op.Length * bitness, random => Alu(random, op, bitness));

    [Theory]
    [InlineData("Inc", 64)]
    [InlineData("Dec", 64)]
    [InlineData("Neg", 64)]
    [InlineData("Not", 64)]
    [InlineData("Inc", 32)]
    [InlineData("Neg", 32)]
    public void UnaryAluMatchesTheInterpreter(string op, int bitness) => Check(op, bitness, op[0] * bitness, random => Unary(random, op, bitness));

    [Theory]
    [InlineData(64)]
    [InlineData(32)]
    public void MovesAndLeaMatchTheInterpreter(int bitness) => Check("Mov", bitness, bitness, random => Move(random, bitness));

    [Theory]
    [InlineData(64)]
    [InlineData(32)]
    public void ShiftsAndMultipliesMatchTheInterpreter(int bitness) => Check("ShiftMul", bitness, 3 * bitness, random => ShiftOrMultiply(random, bitness));

    [Theory]
    [InlineData(64)]
    [InlineData(32)]
    public void ConditionalMovesAndAccumulatorFamiliesMatchTheInterpreter(int bitness) => Check("Misc", bitness, 5 * bitness, random => Misc(random, bitness));

    [Theory]
    [InlineData(64)]
    [InlineData(32)]
    public void DivisionsMatchTheInterpreter(int bitness) => Check("Divide", bitness, 7 * bitness, random => Divide(random, bitness));

    [Fact]
    public void OneBlockLoopsMatchTheInterpreter()
    {
        // The body runs R12 times inside one translation (the back edge jumps in IL).
        var random = new Random(11);
        s_bitness = 64;
        for (int c = 0; c < 60; c++)
        {
            var body = new List<Instruction>();
            int length = random.Next(1, 10);
            while (body.Count < length)
            {
                var instruction = random.Next(4) switch
                {
                    0 => Move(random, 64),
                    1 => ShiftOrMultiply(random, 64),
                    2 => Handler(random, 64),
                    _ => Alu(random, new[] { "Add", "Sub", "Xor", "Cmp" }[random.Next(4)], 64),
                };
                if (Encodable(instruction, 64))
                {
                    body.Add(instruction);
                }
            }

            void Program(Assembler a)
            {
                var top = a.CreateLabel();
                a.Label(ref top);
                foreach (var instruction in body)
                {
                    a.AddInstruction(instruction);
                }

                a.dec(r12);
                a.jne(top);
                a.hlt();
            }

            var gpr = RandomRegisters(random, 64);
            gpr[12] = (ulong)random.Next(1, 40);
            var outcome = EngineParity.AssertSame($"loop case {c}: {string.Join("; ", body)}", 64, Program, gpr, (ulong)random.Next() & Flags.Arith);
            Assert.True(outcome.CompiledInstructions > 0, $"loop case {c} ran compiled");
        }
    }

    [Fact]
    public void MixedFamiliesMatchTheInterpreter() => Check("mixed", 64, 99, random => random.Next(4) switch
    {
        0 => Move(random, 64),
        1 => Unary(random, "Dec", 64),
        2 => Alu(random, random.Next(2) == 0 ? "Add" : "Xor", 64),
        _ => Alu(random, "Cmp", 64),
    });

    [Theory]
    [InlineData(64)]
    [InlineData(32)]
    public void PushPopCallRetMatchTheInterpreter(int bitness)
    {
        var random = new Random(5);
        var pool = bitness == 64 ? s_written : s_written32;
        var first = bitness == 64 ? Register.RAX : Register.EAX;
        long inlined = 0;
        for (int c = 0; c < 100; c++)
        {
            var pushes = Enumerable.Range(0, random.Next(1, 6)).Select(_ => first + pool[random.Next(pool.Length)]).ToArray();
            var pops = Enumerable.Range(0, random.Next(1, 6)).Select(_ => first + pool[random.Next(pool.Length)]).ToArray();
            int immediate = random.Next(2) == 0 ? random.Next(-128, 128) : random.Next();
            bool popStackPointer = random.Next(8) == 0;
            void Program(Assembler a)
            {
                var sub = a.CreateLabel();
                foreach (var r in pushes)
                {
                    a.AddInstruction(Instruction.Create(bitness == 64 ? Code.Push_r64 : Code.Push_r32, r));
                }

                a.AddInstruction(Instruction.Create(bitness == 64 ? (immediate is >= -128 and < 128 ? Code.Pushq_imm8 : Code.Pushq_imm32) : immediate is >= -128 and < 128 ? Code.Pushd_imm8 : Code.Pushd_imm32, immediate));
                a.call(sub);
                foreach (var r in pops)
                {
                    a.AddInstruction(Instruction.Create(bitness == 64 ? Code.Pop_r64 : Code.Pop_r32, r));
                }

                if (popStackPointer)
                {
                    a.AddInstruction(Instruction.Create(bitness == 64 ? Code.Push_r64 : Code.Push_r32, first + CpuState.RSP));
                    a.AddInstruction(Instruction.Create(bitness == 64 ? Code.Pop_r64 : Code.Pop_r32, first + CpuState.RSP));
                }

                a.hlt();
                a.Label(ref sub);
                if (bitness == 64)
                {
                    a.add(rax, rbx);
                    a.push(rcx);
                    a.pop(rdx);
                    a.ret();
                }
                else
                {
                    a.add(eax, ebx);
                    a.push(ecx);
                    a.pop(edx);
                    a.ret(4); // drops the pushed immediate
                }
            }

            inlined += EngineParity.AssertSame($"stack case {c}", bitness, Program, RandomRegisters(random, bitness), 0).Inlined;
        }

        Assert.True(inlined > 500, $"only {inlined} instructions inlined");
    }

    [Fact]
    public void AFaultInTheMiddleOfABlockIsPrecise()
    {
        // Registers change before the faulting load; nothing after it may happen, and RIP and
        // every register must be those of the interpreter when the #PF (then a triple fault, as
        // there is no IDT) is taken at the load.
        void Program(Assembler a)
        {
            a.mov(rax, 1);
            a.add(rbx, rax);
            a.push(rbx);
            a.mov(rcx, __qword_ptr[rdx]);
            a.mov(rdi, 5);
            a.hlt();
        }

        var gpr = RandomRegisters(new Random(1), 64);
        gpr[CpuState.RDX] = 0x7000_0000_0000; // not mapped by the test's page tables
        var outcome = EngineParity.AssertSame("fault", 64, Program, gpr, 0);
        Assert.Equal(Cpu.StopReason.TripleFault, outcome.Reason);
        Assert.True(outcome.Inlined >= 4);
    }
}
