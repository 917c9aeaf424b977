using System.Buffers.Binary;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using Xunit.Abstractions;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Fpu;

/// <summary>
/// Differential tests of the x87 against the host CPU (see <see cref="X87Oracle"/>): every
/// instruction family over random and special operands in every rounding and precision mode,
/// with random exception masks. One instruction per body, so an unmasked exception cannot fault
/// the host.
/// </summary>
public class X87OracleTests(ITestOutputHelper output)
{
    private const int CasesPerBody = 300;

    public static TheoryData<Engine, string> Families()
    {
        var data = new TheoryData<Engine, string>();
        foreach (Engine e in Enum.GetValues<Engine>())
        {
            foreach (string family in s_bodies.Keys)
            {
                data.Add(e, family);
            }
        }

        return data;
    }

    private static readonly Dictionary<string, Action<Assembler>[]> s_bodies = new()
    {
        ["add"] = [a => a.fadd(st0, st1), a => a.fadd(st1, st0), a => a.faddp(st2, st0), a => a.fadd(__dword_ptr[rsi]), a => a.fadd(__qword_ptr[rsi]), a => a.fiadd(__word_ptr[rsi]), a => a.fiadd(__dword_ptr[rsi])],
        ["sub"] = [a => a.fsub(st0, st1), a => a.fsub(st1, st0), a => a.fsubp(st1, st0), a => a.fsubr(st0, st1), a => a.fsubr(st2, st0), a => a.fsubrp(st1, st0), a => a.fsub(__dword_ptr[rsi]), a => a.fsubr(__qword_ptr[rsi]), a => a.fisub(__dword_ptr[rsi]), a => a.fisubr(__word_ptr[rsi])],
        ["mul"] = [a => a.fmul(st0, st1), a => a.fmul(st1, st0), a => a.fmulp(st1, st0), a => a.fmul(__dword_ptr[rsi]), a => a.fmul(__qword_ptr[rsi]), a => a.fimul(__dword_ptr[rsi])],
        ["div"] = [a => a.fdiv(st0, st1), a => a.fdiv(st1, st0), a => a.fdivp(st1, st0), a => a.fdivr(st0, st1), a => a.fdivrp(st1, st0), a => a.fdiv(__qword_ptr[rsi]), a => a.fdivr(__dword_ptr[rsi]), a => a.fidiv(__word_ptr[rsi]), a => a.fidivr(__dword_ptr[rsi])],
        ["sqrt"] = [a => a.fsqrt()],
        ["rndint"] = [a => a.frndint()],
        ["abs-chs"] = [a => a.fabs(), a => a.fchs()],
        ["scale"] = [a => a.fscale()],
        ["xtract"] = [a => a.fxtract()],
        ["prem"] = [a => a.fprem(), a => a.fprem1()],
        ["compare"] = [a => a.fcom(st0, st1), a => a.fcomp(st0, st2), a => a.fcompp(), a => a.fucom(st0, st1), a => a.fucomp(st0, st1), a => a.fucompp(), a => a.fcom(__dword_ptr[rsi]), a => a.fcomp(__qword_ptr[rsi]), a => a.ficom(__word_ptr[rsi]), a => a.ficomp(__dword_ptr[rsi])],
        ["comi"] = [a => a.fcomi(st0, st1), a => a.fcomip(st0, st1), a => a.fucomi(st0, st2), a => a.fucomip(st0, st1)],
        ["tst-xam"] = [a => a.ftst(), a => a.fxam()],
        ["load"] = [a => a.fld(__dword_ptr[rsi]), a => a.fld(__qword_ptr[rsi]), a => a.fld(__tword_ptr[rsi]), a => a.fld(st1), a => a.fild(__word_ptr[rsi]), a => a.fild(__dword_ptr[rsi]), a => a.fild(__qword_ptr[rsi]), a => a.fbld(__tword_ptr[rsi])],
        ["constants"] = [a => a.fld1(), a => a.fldz(), a => a.fldpi(), a => a.fldl2e(), a => a.fldl2t(), a => a.fldlg2(), a => a.fldln2()],
        ["store"] = [a => a.fst(__dword_ptr[rsi]), a => a.fst(__qword_ptr[rsi]), a => a.fstp(__dword_ptr[rsi]), a => a.fstp(__qword_ptr[rsi]), a => a.fstp(__tword_ptr[rsi]), a => a.fst(st2), a => a.fstp(st1)],
        ["store-int"] = [a => a.fist(__word_ptr[rsi]), a => a.fist(__dword_ptr[rsi]), a => a.fistp(__qword_ptr[rsi]), a => a.fisttp(__word_ptr[rsi]), a => a.fisttp(__dword_ptr[rsi]), a => a.fisttp(__qword_ptr[rsi]), a => a.fbstp(__tword_ptr[rsi])],
        ["xch-cmov"] = [a => a.fxch(st0, st1), a => a.fxch(st0, st3), a => a.fcmovb(st0, st1), a => a.fcmove(st0, st2), a => a.fcmovbe(st0, st1), a => a.fcmovu(st0, st1), a => a.fcmovnb(st0, st1), a => a.fcmovne(st0, st1), a => a.fcmovnbe(st0, st1), a => a.fcmovnu(st0, st1)],
        ["stack"] = [a => a.ffree(st1), a => a.ffreep(st0), a => a.fincstp(), a => a.fdecstp(), a => a.fnop()],
        ["control"] = [a => a.fnstsw(ax), a => a.fnstcw(__word_ptr[rsi]), a => a.fldcw(__word_ptr[rsi]), a => a.fnclex(), a => a.fninit(), a => a.fnstenv(__[rsi])],
    };

    [Theory]
    [MemberData(nameof(Families))]
    public void FamilyMatchesHost(Engine engine, string family)
    {
        using var oracle = new X87Oracle(engine);
        var values = new X87Values(family.GetHashCode(StringComparison.Ordinal) & 0x7FFF_FFFF);
        var bodies = s_bodies[family];
        foreach (var body in bodies)
        {
            for (int n = 0; n < CasesPerBody; n++)
            {
                int depth = values.Int(10) switch { 0 => 0, 1 => 1, 2 => 8, _ => 3 };
                var stack = new List<(ulong, ushort)>();
                for (int k = 0; k < depth; k++)
                {
                    stack.Add(values.Next());
                }

                // Sticky flags already set, but only masked ones: a pending unmasked exception would fault the host.
                ushort fcw = values.ControlWord(allowUnmasked: true);
                ushort sticky = (ushort)(values.Int(4) == 0 ? values.Int(0x40) & fcw & 0x3F : 0);
                byte[] state = X87Oracle.State(fcw, values.Top(), stack, sticky);
                byte[] data = values.Bytes(HostX87.DataSize);
                var (sig, se) = values.Next();
                switch (values.Int(4))
                {
                    case 0:
                        BinaryPrimitives.WriteUInt64LittleEndian(data, sig);
                        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(8), se);
                        break;
                    case 1:
                        BinaryPrimitives.WriteUInt32LittleEndian(data, (uint)(sig >> 32));
                        break;
                    case 2:
                        // A valid FCW for FLDCW, small integers for the integer forms.
                        BinaryPrimitives.WriteInt64LittleEndian(data, values.Int(2000) - 1000);
                        data[0] = (byte)(data[0] | 0x3F);
                        break;
                }

                ulong flags = 0x202UL | (uint)values.Int(2) | ((uint)values.Int(2) << 6) | ((uint)values.Int(2) << 2);
                oracle.Check($"{family}#{Array.IndexOf(bodies, body)}", body, state, data, flags, rax: 0x1234_5678_9ABC_DEF0);
            }
        }

        output.WriteLine($"{oracle.Cases} cases, {oracle.Failures.Count} differ");
        oracle.AssertAllMatched();
    }
}
