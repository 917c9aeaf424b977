using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Sse;

/// <summary>
/// SSE floating-point instructions against the host CPU (<see cref="SseDifferential"/>): one test
/// per family, every form with random and edge inputs under random rounding, FTZ and DAZ.
/// </summary>
public class SseOracleTests
{
    private const int Cases = 1500;

    private static void RunAll(Engine engine, int seed, params (string Label, Action<Assembler> Body)[] forms)
    {
        using var d = new SseDifferential(engine, seed);
        foreach (var (label, body) in forms)
        {
            d.Run(label, body, Cases);
        }

        d.AssertAllMatched();
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void AddSubMulDiv(Engine engine) => RunAll(
        engine,
        1,
        ("addps", a => a.addps(xmm0, xmm1)),
        ("addss", a => a.addss(xmm0, xmm1)),
        ("addpd", a => a.addpd(xmm0, xmm1)),
        ("addsd", a => a.addsd(xmm0, xmm1)),
        ("subps", a => a.subps(xmm0, xmm1)),
        ("subss", a => a.subss(xmm0, xmm1)),
        ("subpd", a => a.subpd(xmm0, xmm1)),
        ("subsd", a => a.subsd(xmm0, xmm1)),
        ("mulps", a => a.mulps(xmm0, xmm1)),
        ("mulss", a => a.mulss(xmm0, xmm1)),
        ("mulpd", a => a.mulpd(xmm0, xmm1)),
        ("mulsd", a => a.mulsd(xmm0, xmm1)),
        ("divps", a => a.divps(xmm0, xmm1)),
        ("divss", a => a.divss(xmm0, xmm1)),
        ("divpd", a => a.divpd(xmm0, xmm1)),
        ("divsd", a => a.divsd(xmm0, xmm1)));

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void SqrtMinMax(Engine engine) => RunAll(
        engine,
        2,
        ("sqrtps", a => a.sqrtps(xmm0, xmm1)),
        ("sqrtss", a => a.sqrtss(xmm0, xmm1)),
        ("sqrtpd", a => a.sqrtpd(xmm0, xmm1)),
        ("sqrtsd", a => a.sqrtsd(xmm0, xmm1)),
        ("minps", a => a.minps(xmm0, xmm1)),
        ("minss", a => a.minss(xmm0, xmm1)),
        ("minpd", a => a.minpd(xmm0, xmm1)),
        ("minsd", a => a.minsd(xmm0, xmm1)),
        ("maxps", a => a.maxps(xmm0, xmm1)),
        ("maxss", a => a.maxss(xmm0, xmm1)),
        ("maxpd", a => a.maxpd(xmm0, xmm1)),
        ("maxsd", a => a.maxsd(xmm0, xmm1)));

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void CompareAllPredicates(Engine engine)
    {
        var forms = new List<(string, Action<Assembler>)>();
        for (int p = 0; p < 8; p++)
        {
            byte predicate = (byte)p;
            forms.Add(($"cmpps {p}", (Action<Assembler>)(a => a.cmpps(xmm0, xmm1, predicate))));
            forms.Add(($"cmpss {p}", (Action<Assembler>)(a => a.cmpss(xmm0, xmm1, predicate))));
            forms.Add(($"cmppd {p}", (Action<Assembler>)(a => a.cmppd(xmm0, xmm1, predicate))));
            forms.Add(($"cmpsd {p}", (Action<Assembler>)(a => a.cmpsd(xmm0, xmm1, predicate))));
        }

        forms.Add(("comiss", (Action<Assembler>)(a => a.comiss(xmm0, xmm1))));
        forms.Add(("ucomiss", (Action<Assembler>)(a => a.ucomiss(xmm0, xmm1))));
        forms.Add(("comisd", (Action<Assembler>)(a => a.comisd(xmm0, xmm1))));
        forms.Add(("ucomisd", (Action<Assembler>)(a => a.ucomisd(xmm0, xmm1))));
        RunAll(engine, 3, [.. forms]);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void ScalarConversions(Engine engine) => RunAll(
        engine,
        4,
        ("cvtsi2ss r32", a => a.cvtsi2ss(xmm0, eax)),
        ("cvtsi2ss r64", a => a.cvtsi2ss(xmm0, rax)),
        ("cvtsi2sd r32", a => a.cvtsi2sd(xmm0, eax)),
        ("cvtsi2sd r64", a => a.cvtsi2sd(xmm0, rax)),
        ("cvtss2si r32", a => a.cvtss2si(eax, xmm1)),
        ("cvtss2si r64", a => a.cvtss2si(rax, xmm1)),
        ("cvttss2si r32", a => a.cvttss2si(eax, xmm1)),
        ("cvttss2si r64", a => a.cvttss2si(rax, xmm1)),
        ("cvtsd2si r32", a => a.cvtsd2si(eax, xmm1)),
        ("cvtsd2si r64", a => a.cvtsd2si(rax, xmm1)),
        ("cvttsd2si r32", a => a.cvttsd2si(eax, xmm1)),
        ("cvttsd2si r64", a => a.cvttsd2si(rax, xmm1)),
        ("cvtss2sd", a => a.cvtss2sd(xmm0, xmm1)),
        ("cvtsd2ss", a => a.cvtsd2ss(xmm0, xmm1)));

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void PackedConversions(Engine engine) => RunAll(
        engine,
        5,
        ("cvtps2pd", a => a.cvtps2pd(xmm0, xmm1)),
        ("cvtpd2ps", a => a.cvtpd2ps(xmm0, xmm1)),
        ("cvtdq2ps", a => a.cvtdq2ps(xmm0, xmm1)),
        ("cvtps2dq", a => a.cvtps2dq(xmm0, xmm1)),
        ("cvttps2dq", a => a.cvttps2dq(xmm0, xmm1)),
        ("cvtdq2pd", a => a.cvtdq2pd(xmm0, xmm1)),
        ("cvtpd2dq", a => a.cvtpd2dq(xmm0, xmm1)),
        ("cvttpd2dq", a => a.cvttpd2dq(xmm0, xmm1)));

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void Sse3AndSse41Arithmetic(Engine engine)
    {
        var forms = new List<(string, Action<Assembler>)>
        {
            ("addsubps", a => a.addsubps(xmm0, xmm1)),
            ("addsubpd", a => a.addsubpd(xmm0, xmm1)),
            ("haddps", a => a.haddps(xmm0, xmm1)),
            ("haddpd", a => a.haddpd(xmm0, xmm1)),
            ("hsubps", a => a.hsubps(xmm0, xmm1)),
            ("hsubpd", a => a.hsubpd(xmm0, xmm1)),
        };
        for (int imm = 0; imm < 16; imm++)
        {
            byte mode = (byte)imm;
            forms.Add(($"roundps {imm}", (Action<Assembler>)(a => a.roundps(xmm0, xmm1, mode))));
            forms.Add(($"roundss {imm}", (Action<Assembler>)(a => a.roundss(xmm0, xmm1, mode))));
            forms.Add(($"roundpd {imm}", (Action<Assembler>)(a => a.roundpd(xmm0, xmm1, mode))));
            forms.Add(($"roundsd {imm}", (Action<Assembler>)(a => a.roundsd(xmm0, xmm1, mode))));
        }

        foreach (byte imm in new byte[] { 0xFF, 0xF1, 0x31, 0x5A, 0xC3, 0x0F, 0x80 })
        {
            forms.Add(($"dpps {imm:x}", (Action<Assembler>)(a => a.dpps(xmm0, xmm1, imm))));
        }

        foreach (byte imm in new byte[] { 0x33, 0x31, 0x12, 0x23, 0x03 })
        {
            forms.Add(($"dppd {imm:x}", (Action<Assembler>)(a => a.dppd(xmm0, xmm1, imm))));
        }

        RunAll(engine, 6, [.. forms]);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void MovesShufflesAndLogic(Engine engine) => RunAll(
        engine,
        7,
        ("movaps", a => a.movaps(xmm0, xmm1)),
        ("movss", a => a.movss(xmm0, xmm1)),
        ("movsd", a => a.movsd(xmm0, xmm1)),
        ("movhlps", a => a.movhlps(xmm0, xmm1)),
        ("movlhps", a => a.movlhps(xmm0, xmm1)),
        ("movmskps", a => a.movmskps(eax, xmm1)),
        ("movmskpd", a => a.movmskpd(rax, xmm1)),
        ("movsldup", a => a.movsldup(xmm0, xmm1)),
        ("movshdup", a => a.movshdup(xmm0, xmm1)),
        ("movddup", a => a.movddup(xmm0, xmm1)),
        ("andps", a => a.andps(xmm0, xmm1)),
        ("andnpd", a => a.andnpd(xmm0, xmm1)),
        ("orps", a => a.orps(xmm0, xmm1)),
        ("xorpd", a => a.xorpd(xmm0, xmm1)),
        ("shufps", a => a.shufps(xmm0, xmm1, 0x9C)),
        ("shufpd", a => a.shufpd(xmm0, xmm1, 2)),
        ("unpcklps", a => a.unpcklps(xmm0, xmm1)),
        ("unpckhps", a => a.unpckhps(xmm0, xmm1)),
        ("unpcklpd", a => a.unpcklpd(xmm0, xmm1)),
        ("unpckhpd", a => a.unpckhpd(xmm0, xmm1)),
        ("blendps", a => a.blendps(xmm1, xmm2, 0x5)),
        ("blendpd", a => a.blendpd(xmm1, xmm2, 0x2)),
        ("blendvps", a => a.blendvps(xmm1, xmm2)),
        ("blendvpd", a => a.blendvpd(xmm1, xmm2)),
        ("insertps", a => a.insertps(xmm0, xmm1, 0x9A)),
        ("insertps 2", a => a.insertps(xmm2, xmm1, 0x70)),
        ("extractps", a => a.extractps(eax, xmm1, 2)),
        ("extractps r64", a => a.extractps(rax, xmm1, 3)));

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void MemoryOperandForms(Engine engine) => RunAll(
        engine,
        8,
        ("addps m128", a => a.addps(xmm0, __xmmword_ptr[rsi + 16])),
        ("addss m32", a => a.addss(xmm0, __dword_ptr[rsi + 4])),
        ("mulsd m64", a => a.mulsd(xmm0, __qword_ptr[rsi + 8])),
        ("divpd m128", a => a.divpd(xmm0, __xmmword_ptr[rsi + 32])),
        ("sqrtss m32", a => a.sqrtss(xmm0, __dword_ptr[rsi + 12])),
        ("maxsd m64", a => a.maxsd(xmm0, __qword_ptr[rsi + 24])),
        ("cmpltps m128", a => a.cmpps(xmm0, __xmmword_ptr[rsi], 1)),
        ("ucomiss m32", a => a.ucomiss(xmm0, __dword_ptr[rsi + 8])),
        ("comisd m64", a => a.comisd(xmm0, __qword_ptr[rsi + 16])),
        ("movss load", a => a.movss(xmm0, __dword_ptr[rsi + 4])),
        ("movsd load", a => a.movsd(xmm0, __qword_ptr[rsi + 8])),
        ("movss store", a => a.movss(__dword_ptr[rsi + 4], xmm1)),
        ("movsd store", a => a.movsd(__qword_ptr[rsi + 8], xmm1)),
        ("movups load", a => a.movups(xmm0, __xmmword_ptr[rsi + 4])),
        ("movaps store", a => a.movaps(__xmmword_ptr[rsi + 16], xmm1)),
        ("movupd store", a => a.movupd(__xmmword_ptr[rsi + 8], xmm1)),
        ("movlps load", a => a.movlps(xmm0, __qword_ptr[rsi + 8])),
        ("movhpd load", a => a.movhpd(xmm0, __qword_ptr[rsi + 8])),
        ("movhps store", a => a.movhps(__qword_ptr[rsi + 40], xmm1)),
        ("movddup m64", a => a.movddup(xmm0, __qword_ptr[rsi + 8])),
        ("lddqu", a => a.lddqu(xmm0, __xmmword_ptr[rsi + 3])),
        ("cvtsi2ss m32", a => a.cvtsi2ss(xmm0, __dword_ptr[rsi + 4])),
        ("cvtsi2sd m64", a => a.cvtsi2sd(xmm0, __qword_ptr[rsi + 8])),
        ("cvtss2si m32", a => a.cvtss2si(rax, __dword_ptr[rsi + 4])),
        ("cvttsd2si m64", a => a.cvttsd2si(eax, __qword_ptr[rsi + 8])),
        ("cvtps2pd m64", a => a.cvtps2pd(xmm0, __qword_ptr[rsi + 8])),
        ("cvtdq2pd m64", a => a.cvtdq2pd(xmm0, __qword_ptr[rsi + 8])),
        ("cvtss2sd m32", a => a.cvtss2sd(xmm0, __dword_ptr[rsi + 4])),
        ("insertps m32", a => a.insertps(xmm0, __dword_ptr[rsi + 4], 0xE5)),
        ("extractps m32", a => a.extractps(__dword_ptr[rsi + 4], xmm1, 3)),
        ("roundsd m64", a => a.roundsd(xmm0, __qword_ptr[rsi + 8], 9)),
        ("stmxcsr", a => a.stmxcsr(__dword_ptr[rsi + 4])),
        ("ldmxcsr", a => a.ldmxcsr(__dword_ptr[rsi + 60])));
}
