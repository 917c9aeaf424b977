using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.Cpu.Tests.Exceptions;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.SystemArchitecture;

/// <summary>
/// The CPU models of <c>--cpu</c>: which CPUID bits each sets, which x86-64 level glibc would
/// find in them, and the decoder's feature gate (#UD for an extension the model does not
/// advertise; LZCNT and TZCNT as BSR and BSF), on every engine.
/// </summary>
public class CpuModelTests
{
    private const ulong NoFault = 0xDEAD;

    /// <summary>
    /// glibc's x86-64 levels, as sysdeps/x86/get-isa-level.h checks them: each a CPUID leaf,
    /// register and bit (SDM Vol. 2A, CPUID, tables 3-8 to 3-20). Level 2 needs every row marked 2;
    /// level 3 every row marked 2 or 3.
    /// </summary>
    public static readonly (int Level, string Name, uint Leaf, char Register, int Bit)[] GlibcChecks =
    [
        (2, "CMPXCHG16B", 1, 'c', 13),
        (2, "LAHF64_SAHF64", 0x80000001, 'c', 0),
        (2, "POPCNT", 1, 'c', 23),
        (2, "SSE3", 1, 'c', 0),
        (2, "SSE4_1", 1, 'c', 19),
        (2, "SSE4_2", 1, 'c', 20),
        (2, "SSSE3", 1, 'c', 9),
        (3, "AVX", 1, 'c', 28),
        (3, "AVX2", 7, 'b', 5),
        (3, "BMI1", 7, 'b', 3),
        (3, "BMI2", 7, 'b', 8),
        (3, "F16C", 1, 'c', 29),
        (3, "FMA", 1, 'c', 12),
        (3, "LZCNT", 0x80000001, 'c', 5),
        (3, "MOVBE", 1, 'c', 22),
        (3, "OSXSAVE", 1, 'c', 27),
    ];

    public static TheoryData<CpuModel> Models => new(Enum.GetValues<CpuModel>());

    /// <summary>The x86-64 level glibc would compute for a CPU reporting <paramref name="cpuid"/>, with an OS that enables XSAVE when it can.</summary>
    public static int GlibcLevel(CpuidModel cpuid, out List<string> missing)
    {
        bool xsave = (cpuid.Query(1, 0).Ecx & CpuidModel.EcxXsave) != 0;
        ulong cr4 = xsave ? ControlBits.Cr4OSXSAVE : 0;
        missing = [];
        int level = 3;
        foreach (var (rowLevel, name, leaf, register, bit) in GlibcChecks)
        {
            var (_, ebx, ecx, _) = cpuid.Query(leaf, 0, cr4: cr4, xcr0: cpuid.XsaveComponents);
            uint value = register == 'b' ? ebx : ecx;
            if ((value & (1u << bit)) == 0)
            {
                missing.Add(name);
                level = Math.Min(level, rowLevel - 1);
            }
        }

        return level;
    }

    [Fact]
    public void GlibcIsaLevel()
    {
        int Level(CpuModel model) => GlibcLevel(new CpuidModel(model), out _);
        Assert.Equal(1, Level(CpuModel.Baseline));
        Assert.Equal(2, Level(CpuModel.V2));
        // Every v3 family is implemented (CpuModels.Implemented), so the v3 model passes glibc's v3 check.
        Assert.Equal(3, GlibcLevel(new CpuidModel(CpuModel.V3), out var missing));
        Assert.Empty(missing);
        Assert.Equal(3, Level(CpuModel.Max));

        // The default model is the highest level the implementation reaches.
        Assert.Equal(Level(CpuModel.Max), Level(CpuModels.DefaultModel));
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void CpuidBitsPerModel(CpuModel model)
    {
        var cpuid = new CpuidModel(model);
        var (_, _, ecx1, edx1) = cpuid.Query(1, 0);
        var (_, ebx7, ecx7, _) = cpuid.Query(7, 0);
        var (_, _, extEcx, extEdx) = cpuid.Query(0x80000001, 0);
        bool Has(uint value, int bit) => (value & (1u << bit)) != 0;

        // Every model: the x86-64 baseline (FPU, CX8, CMOV, MMX, FXSR, SSE, SSE2; SYSCALL, NX, LM).
        foreach (int bit in new[] { 0, 8, 15, 23, 24, 25, 26 })
        {
            Assert.True(Has(edx1, bit), $"CPUID.1:EDX bit {bit}");
        }

        Assert.True(Has(extEdx, 11) && Has(extEdx, 20) && Has(extEdx, 29));

        bool v2 = model >= CpuModel.V2;
        Assert.Equal(v2, Has(ecx1, 0));   // SSE3
        Assert.Equal(v2, Has(ecx1, 9));   // SSSE3
        Assert.Equal(v2, Has(ecx1, 13));  // CMPXCHG16B
        Assert.Equal(v2, Has(ecx1, 19));  // SSE4.1
        Assert.Equal(v2, Has(ecx1, 20));  // SSE4.2
        Assert.Equal(v2, Has(ecx1, 23));  // POPCNT
        Assert.Equal(v2, Has(extEcx, 0)); // LAHF/SAHF in 64-bit mode

        bool v3 = model >= CpuModel.V3;
        Assert.Equal(v3, Has(ebx7, 3));    // BMI1
        Assert.Equal(v3, Has(ebx7, 8));    // BMI2
        Assert.Equal(v3, Has(extEcx, 5));  // LZCNT (ABM)
        Assert.Equal(v3, Has(ecx1, 22));   // MOVBE
        Assert.Equal(v3, Has(ecx1, 25));   // AES (Haswell has it)
        Assert.Equal(v3, Has(ecx1, 1));    // PCLMULQDQ
        Assert.Equal(v3, Has(ecx1, 30));   // RDRAND

        // Families not implemented are advertised by no model, and with them XSAVE's AVX component.
        bool avx = v3 && (CpuModels.Implemented & IsaFeature.Avx) != 0;
        Assert.Equal(avx, Has(ecx1, 28));
        Assert.Equal(v3 && (CpuModels.Implemented & IsaFeature.Avx2) != 0, Has(ebx7, 5));
        Assert.Equal(v3 && (CpuModels.Implemented & IsaFeature.Fma) != 0, Has(ecx1, 12));
        Assert.Equal(v3 && (CpuModels.Implemented & IsaFeature.F16c) != 0, Has(ecx1, 29));
        Assert.Equal(avx ? 7UL : 3UL, cpuid.XsaveComponents);

        // max: what Broadwell and later add.
        bool max = model == CpuModel.Max;
        Assert.Equal(max, Has(ebx7, 18)); // RDSEED
        Assert.Equal(max, Has(ebx7, 19)); // ADX
        Assert.Equal(max, Has(ebx7, 20)); // SMAP
        Assert.Equal(max, Has(ecx7, 2));  // UMIP
        Assert.Equal(v3, Has(ebx7, 7));   // SMEP
    }

    [Fact]
    public void ApplyKeepsTheMachinesBits()
    {
        // The machine adds APIC, x2APIC and TSC-deadline; a model change must not drop them.
        var cpuid = new CpuidModel(CpuModel.Max);
        cpuid.Leaf1Edx |= CpuidModel.EdxApic;
        cpuid.Leaf1Ecx |= CpuidModel.EcxX2Apic | CpuidModel.EcxTscDeadline;
        cpuid.Apply(CpuModel.Baseline);
        Assert.Equal(CpuModel.Baseline, cpuid.Model);
        Assert.NotEqual(0u, cpuid.Leaf1Edx & CpuidModel.EdxApic);
        Assert.Equal(CpuidModel.EcxX2Apic | CpuidModel.EcxTscDeadline, cpuid.Leaf1Ecx & (CpuidModel.EcxX2Apic | CpuidModel.EcxTscDeadline));
        Assert.Equal(0u, cpuid.Leaf1Ecx & CpuidModel.EcxPopcnt);
    }

    [Theory]
    [InlineData("x86-64", CpuModel.Baseline)]
    [InlineData("qemu64", CpuModel.Baseline)]
    [InlineData("x86-64-v2", CpuModel.V2)]
    [InlineData("Nehalem", CpuModel.V2)]
    [InlineData("x86-64-v3", CpuModel.V3)]
    [InlineData("Haswell", CpuModel.V3)]
    [InlineData("max", CpuModel.Max)]
    [InlineData("host", CpuModel.Max)]
    public void ModelNames(string name, CpuModel expected)
    {
        Assert.True(CpuModels.TryParse(name, out var model));
        Assert.Equal(expected, model);
    }

    [Fact]
    public void UnknownModelNamesAreRefused()
    {
        Assert.False(CpuModels.TryParse("Skylake-Server", out _));
        Assert.False(CpuModels.TryParse("max,+avx512f", out _));
    }

    /// <summary>One instruction per gated extension, with the lowest model that advertises it (null: none today).</summary>
    public static TheoryData<Engine, CpuModel, string> GateCases()
    {
        var data = new TheoryData<Engine, CpuModel, string>();
        foreach (var engine in Enum.GetValues<Engine>())
        {
            foreach (var model in Enum.GetValues<CpuModel>())
            {
                foreach (string name in s_gated.Keys)
                {
                    data.Add(engine, model, name);
                }
            }
        }

        return data;
    }

    private static readonly Dictionary<string, (CpuModel? Lowest, Action<Assembler> Body)> s_gated = new()
    {
        ["POPCNT"] = (CpuModel.V2, a => a.popcnt(eax, ebx)),
        ["SSE3 HADDPS"] = (CpuModel.V2, a => a.haddps(xmm0, xmm1)),
        ["SSSE3 PSHUFB"] = (CpuModel.V2, a => a.pshufb(xmm0, xmm1)),
        ["SSE4.1 PTEST"] = (CpuModel.V2, a => a.ptest(xmm0, xmm1)),
        ["SSE4.2 CRC32"] = (CpuModel.V2, a => a.crc32(eax, bl)),
        ["CMPXCHG16B"] = (CpuModel.V2, a => a.cmpxchg16b(__[rsi])),
        ["LAHF"] = (CpuModel.V2, a => a.lahf()),
        ["MOVBE"] = (CpuModel.V3, a => a.movbe(eax, __dword_ptr[rsi])),
        ["BMI1 ANDN"] = (CpuModel.V3, a => a.andn(eax, ebx, ecx)),
        ["BMI2 PDEP"] = (CpuModel.V3, a => a.pdep(eax, ebx, ecx)),
        ["AES"] = (CpuModel.V3, a => a.aesenc(xmm0, xmm1)),
        ["PCLMULQDQ"] = (CpuModel.V3, a => a.pclmulqdq(xmm0, xmm1, 0)),
        ["RDRAND"] = (CpuModel.V3, a => a.rdrand(eax)),
        ["ADX ADCX"] = (CpuModel.Max, a => a.adcx(eax, ebx)),
        ["RDSEED"] = (CpuModel.Max, a => a.rdseed(eax)),
        ["AVX2 VPADDB"] = ((CpuModels.Implemented & IsaFeature.Avx2) != 0 ? CpuModel.V3 : null, a => a.vpaddb(ymm0, ymm1, ymm2)),
    };

    [Theory]
    [MemberData(nameof(GateCases))]
    public void GateRaisesUdBelowTheModel(Engine engine, CpuModel model, string name)
    {
        var (lowest, body) = s_gated[name];
        using var m = new TestMachine().LongMode();
        m.Cpu.Model = model;
        LongModeIdt.Install(m);
        m.S.Cr4 |= ControlBits.Cr4OSFXSR | ControlBits.Cr4OSXMMEXCPT | ControlBits.Cr4OSXSAVE;
        m.S.Vector.Xcr0 = 7;
        m.S.Gpr[8] = NoFault;
        m.S.Gpr[CpuState.RSI] = TestMachine.DataAddress;
        m.S.Gpr[CpuState.RBX] = 5;
        m.Load(a =>
        {
            a.nop(); // the gated instruction is not the first of its block
            body(a);
            a.hlt();
        }).RunToHlt(engine);
        bool advertised = lowest is { } low && model >= low;
        Assert.Equal(advertised ? NoFault : (ulong)Vector.UD, m.S.Gpr[8]);
        if (!advertised)
        {
            // #UD is a fault: the saved RIP is the gated instruction's (after the 1-byte NOP).
            Assert.Equal(TestMachine.CodeAddress + 1, m.S.Gpr[9]);
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void LzcntAndTzcntRunAsBsrAndBsfWithoutTheirFeature(Engine engine)
    {
        foreach (var model in Enum.GetValues<CpuModel>())
        {
            using var m = new TestMachine().LongMode();
            m.Cpu.Model = model;
            m.S.Gpr[CpuState.RBX] = 1;
            m.S.Gpr[CpuState.RCX] = 0;
            m.S.Gpr[CpuState.RDX] = 0x1234;
            m.Load(a =>
            {
                a.lzcnt(eax, ebx); // LZCNT 1 = 31; BSR 1 = 0
                a.tzcnt(edx, ecx); // TZCNT 0 = 32; BSF 0 leaves EDX (AMD's documented behaviour, Intel's in practice) and sets ZF
                a.hlt();
            }).RunToHlt(engine);
            bool v3 = model >= CpuModel.V3;
            Assert.Equal(v3 ? 31UL : 0UL, m.S.Gpr[CpuState.RAX]);
            if (v3)
            {
                Assert.Equal(32UL, m.S.Gpr[CpuState.RDX]);
            }
            else
            {
                Assert.NotEqual(0UL, m.S.Rflags & Flags.ZF);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void LahfIsAllowedOutside64BitModeOnEveryModel(Engine engine)
    {
        using var m = new TestMachine().ProtectedMode32();
        m.Cpu.Model = CpuModel.Baseline;
        m.S.Rflags |= Flags.CF;
        m.Load(a =>
        {
            a.lahf();
            a.hlt();
        }).RunToHlt(engine);
        Assert.Equal(1UL, (m.S.Gpr[CpuState.RAX] >> 8) & 1);
    }
}
