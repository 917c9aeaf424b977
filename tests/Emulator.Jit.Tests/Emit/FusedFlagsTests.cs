using Emulator.Cpu;
using Emulator.Cpu.State;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.Tests.Emit;

/// <summary>
/// Lazy flags (BlockEmitter.Flags.cs): every condition code read right after every inline flag
/// producer at every operand size, over all pairs of boundary values (0, 1, -1, the sign
/// boundaries of each width), must give the interpreter's result; the materialised RFLAGS is
/// folded into the result too (PUSHF after each reader), and faults after a pending CMP see the
/// interpreter's RFLAGS.
/// </summary>
public class FusedFlagsTests
{
    private static readonly bool s_wide = Environment.GetEnvironmentVariable("EMU_WIDE") is { Length: > 0 } w && w != "0";

    /// <summary>The default run takes every third combination of the lists below (each producer still at some width); EMU_WIDE=1 all of them.</summary>
    private static bool Picked(ref int n) => s_wide || n++ % 3 == 0;

    // The sign boundaries of every width; EMU_WIDE=1 adds their neighbours.
    private static readonly ulong[] s_values = s_wide
        ? [0, 1, 2, ulong.MaxValue, ulong.MaxValue - 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000]
        : [0, 1, ulong.MaxValue, 0x7F, 0x80, 0x8000, 0x7FFF_FFFF, 0x8000_0000, 0x8000_0000_0000_0000];

    private static Register Sized(Register full, int width) => width switch
    {
        8 => full == Register.RCX ? Register.CL : Register.DL,
        16 => full - Register.RAX + Register.AX,
        32 => full - Register.RAX + Register.EAX,
        _ => full,
    };

    private static Code CodeOf(string name) => Enum.Parse<Code>(name);

    /// <summary>The producer on RCX (and RDX, or the table entry of RDX's value at [r8 + r10*8]).</summary>
    private static Instruction Producer(string op, int width, bool memory)
    {
        var c = Sized(Register.RCX, width);
        var d = Sized(Register.RDX, width);
        var table = new MemoryOperand(Register.R8, Register.R10, 8, 0, 1);
        if (op.EndsWith("Cl", StringComparison.Ordinal))
        {
            // A shift of RDX's value by CL (the low byte of RCX's value: counts 0, 1, 31, 0x7F...).
            return Instruction.Create(CodeOf($"{op[..3]}_rm{width}_CL"), d, Register.CL);
        }

        if (op.Length > 3 && op[..3] is "Shl" or "Shr" or "Sar")
        {
            // A shift by an immediate count (the digits after the name).
            return Instruction.Create(CodeOf($"{op[..3]}_rm{width}_imm8"), c, int.Parse(op[3..], System.Globalization.CultureInfo.InvariantCulture));
        }

        return op switch
        {
            "Mul" => Instruction.Create(CodeOf($"Mul_rm{width}"), d),
            "Imul" => Instruction.Create(CodeOf($"Imul_r{width}_rm{width}"), c, d),
            "Inc" or "Dec" or "Neg" => Instruction.Create(CodeOf($"{op}_rm{width}"), c),
            "Test" when memory => Instruction.Create(CodeOf($"Test_rm{width}_r{width}"), table, c),
            _ when memory => Instruction.Create(CodeOf($"{op}_r{width}_rm{width}"), c, table),
            _ => Instruction.Create(CodeOf($"{op}_rm{width}_r{width}"), c, d),
        };
    }

    internal static void Jcc(Assembler a, int cc, Label target)
    {
        switch (cc)
        {
            case 0: a.jo(target); break;
            case 1: a.jno(target); break;
            case 2: a.jb(target); break;
            case 3: a.jae(target); break;
            case 4: a.je(target); break;
            case 5: a.jne(target); break;
            case 6: a.jbe(target); break;
            case 7: a.ja(target); break;
            case 8: a.js(target); break;
            case 9: a.jns(target); break;
            case 10: a.jp(target); break;
            case 11: a.jnp(target); break;
            case 12: a.jl(target); break;
            case 13: a.jge(target); break;
            case 14: a.jle(target); break;
            default: a.jg(target); break;
        }
    }

    private static readonly string[] s_conditions = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];

    /// <summary>
    /// For every pair (RAX, RBX) of table values and every condition: RCX = a, RDX = b, the
    /// producer, the reader, then the outcome and PUSHF's RFLAGS folded into R12.
    /// </summary>
    private static void Matrix(Assembler a, string op, int width, bool memory, string reader)
    {
        var table = a.CreateLabel();
        var outer = a.CreateLabel();
        var inner = a.CreateLabel();
        a.lea(r8, __[table]);
        a.xor(r9d, r9d);
        a.Label(ref outer);
        a.xor(r10d, r10d);
        a.Label(ref inner);
        for (int cc = 0; cc < 16; cc++)
        {
            a.mov(rax, __qword_ptr[r8 + r9 * 8]);
            a.mov(rbx, __qword_ptr[r8 + r10 * 8]);
            a.mov(rcx, rax);
            a.mov(rdx, rbx);
            a.AddInstruction(Producer(op, width, memory));
            switch (reader)
            {
                case "jcc":
                    {
                        var taken = a.CreateLabel();
                        var join = a.CreateLabel();
                        Jcc(a, cc, taken);
                        a.lea(r12, __[r12 + r12 * 2 + 1]);
                        a.jmp(join);
                        a.Label(ref taken);
                        a.lea(r12, __[r12 + r12 * 2 + 2]);
                        a.Label(ref join);
                        break;
                    }

                case "setcc":
                    a.AddInstruction(Instruction.Create(CodeOf($"Set{s_conditions[cc]}_rm8"), Register.R13L));
                    a.lea(r12, __[r12 + r12 * 2]);
                    a.add(r12, r13);
                    break;
                default: // cmovcc: r13 = (cc ? rbx : rax) at the producer's width
                    {
                        int w = width == 8 ? 16 : width;
                        a.mov(r13, rax);
                        a.AddInstruction(Instruction.Create(CodeOf($"Cmov{s_conditions[cc]}_r{w}_rm{w}"), Register.R13 - Register.RAX + Sized(Register.RAX, w), Sized(Register.RBX, w)));
                        a.lea(r12, __[r12 + r12 * 2]);
                        a.add(r12, r13);
                        break;
                    }
            }

            a.xor(r12, rcx);
            a.add(r12, rax);
            a.xor(r12, rdx);
            a.pushfq();
            a.pop(r11);
            a.add(r12, r11);
        }

        a.inc(r10);
        a.cmp(r10, s_values.Length);
        a.jb(inner);
        a.inc(r9);
        a.cmp(r9, s_values.Length);
        a.jb(outer);
        a.hlt();
        a.Label(ref table);
        foreach (ulong v in s_values)
        {
            a.dq(v);
        }
    }

    private static void CheckMatrix(string op, int width, bool memory, string reader)
    {
        var gpr = new ulong[16];
        gpr[CpuState.RSP] = TestMachine.StackTop;
        var outcome = EngineParity.AssertSame($"{op}{width}{(memory ? " mem" : "")} + {reader}", 64, a => Matrix(a, op, width, memory, reader), gpr, Flags.CF, 2_000_000);
        Assert.Equal(StopReason.Halted, outcome.Reason);
        Assert.True(outcome.Inlined > 16, $"{op}{width}: only {outcome.Inlined} inlined");
    }

    public static TheoryData<string, int, bool> Producers()
    {
        var data = new TheoryData<string, int, bool>();
        int n = 0;
        foreach (string op in new[] { "Add", "Sub", "Cmp", "And", "Or", "Xor", "Test", "Inc", "Dec", "Neg", "Adc", "Sbb" })
        {
            foreach (int width in new[] { 8, 16, 32, 64 })
            {
                if (Picked(ref n))
                {
                    data.Add(op, width, false);
                }
            }
        }

        foreach (string op in new[] { "Add", "Cmp", "Test", "Sub", "Adc" })
        {
            if (Picked(ref n))
            {
                data.Add(op, 32, true);
            }

            if (Picked(ref n))
            {
                data.Add(op, 64, true);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Producers))]
    public void EveryJccAfterTheProducerMatchesTheInterpreter(string op, int width, bool memory) => CheckMatrix(op, width, memory, "jcc");

    /// <summary>Shifts by immediate counts (1, a middle count, the width's last bit, beyond the width for 8 and 16 bits) and MUL.</summary>
    public static TheoryData<string, int> ShiftsAndMultiplies()
    {
        var data = new TheoryData<string, int>();
        int n = 0;
        foreach (int width in new[] { 8, 16, 32, 64 })
        {
            foreach (string op in new[] { "Shl", "Shr", "Sar" })
            {
                foreach (int count in new[] { 1, width - 1, width < 32 ? width + 3 : (width / 2) + 1 })
                {
                    if (Picked(ref n))
                    {
                        data.Add($"{op}{count}", width);
                    }
                }
            }

            foreach (string op in new[] { "ShlCl", "ShrCl", "SarCl" })
            {
                if (Picked(ref n))
                {
                    data.Add(op, width);
                }
            }

            if (width > 8)
            {
                if (Picked(ref n))
                {
                    data.Add("Mul", width);
                }

                if (Picked(ref n))
                {
                    data.Add("Imul", width);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ShiftsAndMultiplies))]
    public void EveryJccAfterAShiftOrMultiplyMatchesTheInterpreter(string op, int width) => CheckMatrix(op, width, false, "jcc");

    public static TheoryData<string, int, string> Readers()
    {
        var data = new TheoryData<string, int, string>();
        int n = 0;
        foreach (string op in new[] { "Add", "Cmp", "Test", "Dec", "Neg", "Shl1", "Sar3", "Mul", "Imul", "Sbb" })
        {
            foreach (int width in new[] { 16, 32 })
            {
                if (Picked(ref n))
                {
                    data.Add(op, width, "setcc");
                }

                if (Picked(ref n))
                {
                    data.Add(op, width, "cmovcc");
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Readers))]
    public void EverySetccAndCmovccAfterTheProducerMatchesTheInterpreter(string op, int width, string reader) => CheckMatrix(op, width, false, reader);

    [Fact]
    public void AFaultAfterAPendingCompareSeesItsFlags()
    {
        // CMP leaves a pending record; the load after it faults (#PF, then a triple fault without
        // an IDT): the RFLAGS at the fault must be the CMP's, as the interpreter has it.
        var random = new Random(3);
        for (int c = 0; c < 40; c++)
        {
            ulong x = s_values[random.Next(s_values.Length)], y = s_values[random.Next(s_values.Length)];
            void Program(Assembler a)
            {
                a.cmp(rax, rbx);
                a.mov(rcx, __qword_ptr[rdx]);
                a.je(a.CreateLabel());
                a.hlt();
            }

            var gpr = new ulong[16];
            gpr[CpuState.RAX] = x;
            gpr[CpuState.RBX] = y;
            gpr[CpuState.RSP] = TestMachine.StackTop;
            gpr[CpuState.RDX] = 0x7000_0000_0000; // not mapped
            var outcome = EngineParity.AssertSame($"cmp {x:x}, {y:x}; fault", 64, Program, gpr, (ulong)random.Next() & Flags.Arith);
            Assert.Equal(StopReason.TripleFault, outcome.Reason);
        }
    }

    [Theory]
    [InlineData(8)]
    [InlineData(16)]
    [InlineData(32)]
    [InlineData(64)]
    public void AFaultAfterEveryProducerSeesItsFlags(int width)
    {
        // The fault's exit path materialises the pending record out of line (ComputeFlags).
        var random = new Random(width);
        foreach (string op in new[] { "Add", "Sub", "Cmp", "And", "Or", "Xor", "Test", "Inc", "Dec", "Neg", "Adc", "Sbb", "Shl1", "Shl5", "Shr1", "Shr7", "Sar1", "Sar6", "ShlCl", "ShrCl", "SarCl", "Mul", "Imul" })
        {
            if (op is "Mul" or "Imul" && width == 8)
            {
                continue;
            }

            for (int c = 0; c < 2; c++)
            {
                ulong x = s_values[random.Next(s_values.Length)], y = s_values[random.Next(s_values.Length)];
                var producer = Producer(op, width, false);
                void Program(Assembler a)
                {
                    a.AddInstruction(producer);
                    a.mov(rsi, __qword_ptr[rdi]);
                    a.hlt();
                }

                var gpr = new ulong[16];
                gpr[CpuState.RAX] = y;
                gpr[CpuState.RCX] = x;
                gpr[CpuState.RDX] = y;
                gpr[CpuState.RSP] = TestMachine.StackTop;
                gpr[CpuState.RDI] = 0x7000_0000_0000; // not mapped
                var outcome = EngineParity.AssertSame($"{producer} ({x:x}, {y:x}); fault", 64, Program, gpr, (ulong)random.Next() & Flags.Arith);
                Assert.Equal(StopReason.TripleFault, outcome.Reason);
            }
        }
    }

    [Fact]
    public void AFaultInALoopWhoseBackEdgeLeftFlagsPendingSeesThem()
    {
        // The back edge of this one-block loop jumps with CMP's flags pending; the load at the loop
        // head walks towards an unmapped page and faults in a later iteration.
        void Program(Assembler a)
        {
            var top = a.CreateLabel();
            a.Label(ref top);
            a.mov(rcx, __qword_ptr[rdx]);
            a.add(rdx, 0x800_0000);
            a.sub(rax, 3);
            a.cmp(rax, rbx);
            a.jne(top);
            a.hlt();
        }

        for (int c = 0; c < 8; c++)
        {
            var gpr = new ulong[16];
            gpr[CpuState.RAX] = (ulong)(1000 + c);
            gpr[CpuState.RBX] = 7;
            gpr[CpuState.RSP] = TestMachine.StackTop;
            gpr[CpuState.RDX] = EngineParity.DataAddress;
            var outcome = EngineParity.AssertSame($"loop fault {c}", 64, Program, gpr, 0);
            Assert.Equal(StopReason.TripleFault, outcome.Reason);
            Assert.True(outcome.CompiledInstructions > 0);
        }
    }
}
