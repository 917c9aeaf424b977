using Emulator.Cpu.Exceptions;
using Emulator.Cpu.Instructions;
using Emulator.Cpu.Simd;
using Emulator.Cpu.State;
using Emulator.Cpu.Tests.Exceptions;
using Emulator.TestKit;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Sse;

/// <summary>
/// FXSAVE/FXRSTOR image layouts (SDM Vol. 1 10.5.1, tables 10-2 and 10-3), the XSAVE family and
/// XCR0 (SDM Vol. 1 chapter 13), CPUID leaf 0DH and CR4.OSXSAVE.
/// </summary>
public class SaveStateTests
{
    private const ulong NoFault = 0xDEAD;
    private const int R8 = 8;
    private static readonly ulong s_area = TestMachine.DataAddress;

    private static TestMachine Machine(bool xsave = false)
    {
        var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.S.Cr4 |= ControlBits.Cr4OSFXSR | ControlBits.Cr4OSXMMEXCPT;
        if (xsave)
        {
            m.Cpu.Cpuid.Leaf1Ecx |= CpuidModel.EcxXsave;
            m.Cpu.Cpuid.XsaveComponents = 7;
            m.S.Cr4 |= ControlBits.Cr4OSXSAVE;
        }

        m.S.Gpr[R8] = NoFault;
        return m;
    }

    /// <summary>A recognisable x87 and SSE state: TOP = 6, R6 valid 1.0, R7 zero, R0 a denormal, the rest empty; XMM k = k * 0x0101...</summary>
    private static void FillState(TestMachine m)
    {
        ref X87State x = ref m.S.X87;
        x.Fcw = 0x027F;
        x.Fsw = (6 << 11) | 0x21;
        x.Registers[6] = new X87Register { Significand = 0x8000_0000_0000_0000, SignExponent = 0x3FFF };
        x.Registers[7] = new X87Register { Significand = 0, SignExponent = 0x8000 };
        x.Registers[0] = new X87Register { Significand = 0x0000_0000_0000_1234, SignExponent = 0 };
        x.Ftw = 0b01_00_11_11_11_11_11_10; // R7 zero, R6 valid, R5-R1 empty, R0 special
        x.Fop = 0x1D9;
        x.Fip = 0x1234_5678_9ABC;
        x.Fdp = 0x0FED_CBA9_8765;
        x.Fcs = 0x23;
        x.Fds = 0x2B;
        for (int k = 0; k < 16; k++)
        {
            m.S.Vector.Ymm[k][0] = 0x0101_0101_0101_0101UL * (ulong)k;
            m.S.Vector.Ymm[k][1] = ~(0x0101_0101_0101_0101UL * (ulong)k);
            m.S.Vector.Ymm[k][2] = 0xA0 + (ulong)k;
            m.S.Vector.Ymm[k][3] = 0xB0 + (ulong)k;
        }

        m.S.Vector.Mxcsr = 0x9FC1;
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void Fxsave64Layout(Engine engine)
    {
        using var m = Machine();
        FillState(m);
        m.Memory.Write(s_area + 500, 8, 0x5555); // bytes 464-511 are left alone
        m.S.Gpr[CpuState.RBX] = s_area;
        m.Load(a =>
        {
            a.fxsave64(__[rbx]);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(NoFault, m.Reg(R8));
        Assert.Equal(0x027FUL, m.Memory.Read(s_area, 2));
        Assert.Equal((6UL << 11) | 0x21, m.Memory.Read(s_area + 2, 2));
        Assert.Equal(0xC1UL, m.Memory.Read(s_area + 4, 1)); // abridged: R0, R6, R7 in use
        Assert.Equal(0x1D9UL, m.Memory.Read(s_area + 6, 2));
        Assert.Equal(0x1234_5678_9ABCUL, m.Memory.Read(s_area + 8, 8));
        Assert.Equal(0x0FED_CBA9_8765UL, m.Memory.Read(s_area + 16, 8));
        Assert.Equal(0x9FC1UL, m.Memory.Read(s_area + 24, 4));
        Assert.Equal(0xFFFFUL, m.Memory.Read(s_area + 28, 4)); // MXCSR_MASK
        // ST0 = R6 (TOP = 6), ST1 = R7, ST2 = R0.
        Assert.Equal(0x8000_0000_0000_0000UL, m.Memory.Read(s_area + 32, 8));
        Assert.Equal(0x3FFFUL, m.Memory.Read(s_area + 40, 2));
        Assert.Equal(0x8000UL, m.Memory.Read(s_area + 56, 2));
        Assert.Equal(0x1234UL, m.Memory.Read(s_area + 64, 8));
        for (int k = 0; k < 16; k++)
        {
            Assert.Equal(0x0101_0101_0101_0101UL * (ulong)k, m.Memory.Read(s_area + 160 + (ulong)(16 * k), 8));
            Assert.Equal(~(0x0101_0101_0101_0101UL * (ulong)k), m.Memory.Read(s_area + 168 + (ulong)(16 * k), 8));
        }

        Assert.Equal(0x5555UL, m.Memory.Read(s_area + 500, 8));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void Fxsave32LayoutInProtectedMode(Engine engine)
    {
        using var m = new TestMachine().ProtectedMode32();
        m.S.Cr4 |= ControlBits.Cr4OSFXSR;
        FillState(m);
        m.Memory.Write(s_area + 160 + (16 * 8), 8, 0x7777); // XMM8 slot: not written outside 64-bit mode
        m.S.Gpr[CpuState.RBX] = s_area;
        m.Load(a =>
        {
            a.fxsave(__[ebx]);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(0x5678_9ABCUL, m.Memory.Read(s_area + 8, 4)); // FIP[31:0]
        Assert.Equal(0x23UL, m.Memory.Read(s_area + 12, 2)); // FCS
        Assert.Equal(0xCBA9_8765UL, m.Memory.Read(s_area + 16, 4)); // FDP[31:0]
        Assert.Equal(0x2BUL, m.Memory.Read(s_area + 20, 2)); // FDS
        Assert.Equal(0x9FC1UL, m.Memory.Read(s_area + 24, 4));
        Assert.Equal(0x0707_0707_0707_0707UL, m.Memory.Read(s_area + 160 + (16 * 7), 8));
        Assert.Equal(0x7777UL, m.Memory.Read(s_area + 160 + (16 * 8), 8));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void FxrstorRoundTripRebuildsTheTagWord(Engine engine)
    {
        using var m = Machine();
        FillState(m);
        ushort ftw = m.S.X87.Ftw;
        m.S.Gpr[CpuState.RBX] = s_area;
        m.Load(a =>
        {
            a.fxsave64(__[rbx]);
            a.hlt();
        }).RunToHlt(engine);

        // Clobber what FXRSTOR must bring back, then restore.
        m.S.X87.Ftw = 0xFFFF;
        m.S.X87.Registers[6] = default;
        m.S.X87.Fip = 0;
        m.S.Vector.Ymm[3][0] = 0;
        m.S.Vector.Mxcsr = VectorState.MxcsrResetValue;
        m.S.Rip = TestMachine.CodeAddress;
        m.S.Halted = 0;
        m.Load(a =>
        {
            a.fxrstor64(__[rbx]);
            a.hlt();
        });
        m.RunToHlt(engine);
        Assert.Equal(NoFault, m.Reg(R8));
        Assert.Equal(ftw, m.S.X87.Ftw); // valid, zero and special recovered from the contents
        Assert.Equal(0x0303_0303_0303_0303UL, m.S.Vector.Ymm[3][0]);
        Assert.Equal(0xA3UL, m.S.Vector.Ymm[3][2]);
        Assert.Equal(0x9FC1u, m.S.Vector.Mxcsr);
        Assert.Equal(0x1234_5678_9ABCUL, m.S.X87.Fip);
    }

    [Fact]
    public void FullTagFromAbridged()
    {
        var registers = default(X87RegisterFile);
        registers[0] = new X87Register { Significand = 0x8000_0000_0000_0001, SignExponent = 0x4000 }; // valid
        registers[1] = new X87Register { Significand = 0, SignExponent = 0x8000 };                     // zero
        registers[2] = new X87Register { Significand = 0x4000_0000_0000_0000, SignExponent = 0x4000 }; // unnormal: special
        registers[3] = new X87Register { Significand = 0x8000_0000_0000_0000, SignExponent = 0x7FFF }; // infinity: special
        registers[4] = new X87Register { Significand = 1, SignExponent = 0 };                          // denormal: special
        Assert.Equal(0b11_11_11_10_10_10_01_00, SaveState.FullTag(0x1F, registers));
        Assert.Equal(0xFFFF, SaveState.FullTag(0, registers));
        Assert.Equal(0x1F, SaveState.AbridgedTag(0b11_11_11_10_10_10_01_00));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void FxsaveFaults(Engine engine)
    {
        foreach (var (address, mxcsrImage, cr0, expected) in new (ulong, uint, ulong, ulong)[]
        {
            (s_area + 8, 0x1F80, 0, Vector.GP),                         // misaligned
            (s_area, 0x1_1F80, 0, Vector.GP),                           // FXRSTOR of a reserved MXCSR bit
            (s_area, 0x1F80, ControlBits.Cr0TS, Vector.NM),
        })
        {
            using var m = Machine();
            m.S.Cr0 |= cr0;
            m.Memory.Write(s_area + 24, 4, mxcsrImage);
            m.S.Gpr[CpuState.RBX] = address;
            m.Load(a =>
            {
                a.fxrstor64(__[rbx]);
                a.hlt();
            }).RunToHlt(engine);
            Assert.Equal(expected, m.Reg(R8));
            Assert.Equal(VectorState.MxcsrResetValue, m.S.Vector.Mxcsr);
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void XsaveRoundTripWithTheAvxComponent(Engine engine)
    {
        using var m = Machine(xsave: true);
        FillState(m);
        m.S.Gpr[CpuState.RBX] = s_area;
        m.Load(a =>
        {
            a.xor(ecx, ecx);
            a.mov(eax, 7);
            a.xor(edx, edx);
            a.xsetbv();                   // XCR0 = x87 | SSE | AVX
            a.xsave64(__[rbx]);
            a.mov(rsi, __qword_ptr[rbx + 512]); // XSTATE_BV
            a.mov(eax, 6);                // restore SSE and AVX only, from an image saying "SSE in init state"
            a.and(__qword_ptr[rbx + 512], ~2);
            a.xrstor64(__[rbx]);
            a.mov(eax, 1);
            a.mov(ecx, eax);
            a.xgetbv();                   // XINUSE & XCR0
            a.mov(rdi, rax);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(NoFault, m.Reg(R8));
        Assert.Equal(7UL, m.S.Vector.Xcr0);
        Assert.Equal(7UL, m.Reg(CpuState.RSI));
        Assert.Equal(0xA5UL, m.Memory.Read(s_area + 576 + (16 * 5), 8)); // YMM5 bits 191:128
        Assert.Equal(0xB5UL, m.Memory.Read(s_area + 576 + (16 * 5) + 8, 8));
        Assert.Equal(0x0505_0505_0505_0505UL, m.Memory.Read(s_area + 160 + (16 * 5), 8));
        Assert.Equal(0UL, m.S.Vector.Ymm[5][0]);   // SSE put in its init state
        Assert.Equal(0xA5UL, m.S.Vector.Ymm[5][2]); // AVX loaded
        Assert.Equal(0x9FC1u, m.S.Vector.Mxcsr);    // MXCSR loaded with RFBM[1]
        Assert.Equal(0x027F, m.S.X87.Fcw);          // x87 not requested: unchanged
        Assert.Equal(7UL, m.Reg(CpuState.RDI) & 7); // x87 in use; SSE: MXCSR != 1F80H; AVX in use
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void XsavecWritesTheCompactedHeader(Engine engine)
    {
        using var m = Machine(xsave: true);
        m.S.Vector.Xcr0 = 7;
        m.S.Vector.Ymm[2][3] = 0x42; // AVX in use; x87 as FNINIT leaves it, SSE zero with MXCSR 1F80H
        m.S.X87.Initialize();
        m.S.Gpr[CpuState.RBX] = s_area;
        m.Load(a =>
        {
            a.mov(eax, 7);
            a.xor(edx, edx);
            a.xsavec64(__[rbx]);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(NoFault, m.Reg(R8));
        Assert.Equal(4UL, m.Memory.Read(s_area + 512, 8)); // XSTATE_BV: x87 and SSE in their init state, AVX in use
        Assert.Equal((1UL << 63) | 7, m.Memory.Read(s_area + 520, 8));
        Assert.Equal(0x42UL, m.Memory.Read(s_area + 576 + 32 + 8, 8));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void XsetbvAndXrstorReject(Engine engine)
    {
        foreach (var (xcr0Value, header, expected) in new (uint, ulong, ulong)[]
        {
            (2, 0, Vector.GP),          // x87 bit clear
            (5, 0, Vector.GP),          // AVX without SSE
            (9, 0, Vector.GP),          // unsupported component (bit 3)
            (3, 4, Vector.GP),          // XRSTOR: XSTATE_BV bit outside XCR0
            (3, 0, NoFault),
        })
        {
            using var m = Machine(xsave: true);
            m.Memory.Write(s_area + 512, 8, header);
            m.Memory.Write(s_area + 24, 4, 0x1F80);
            m.S.Gpr[CpuState.RBX] = s_area;
            m.Load(a =>
            {
                a.xor(ecx, ecx);
                a.mov(eax, xcr0Value);
                a.xor(edx, edx);
                a.xsetbv();
                a.mov(eax, 3);
                a.xrstor64(__[rbx]);
                a.hlt();
            }).RunToHlt(engine);
            Assert.Equal(expected, m.Reg(R8));
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void OsxsaveNeedsCpuidSupportAndGatesXgetbv(Engine engine)
    {
        using var m = Machine();
        m.Load(a =>
        {
            a.xor(ecx, ecx);
            a.xgetbv();         // CR4.OSXSAVE = 0: #UD
            a.hlt();
        }).RunToHlt(engine);
        Assert.Equal((ulong)Vector.UD, m.Reg(R8));

        using var n = Machine();
        n.Cpu.Model = CpuModel.V2; // a model without XSAVE
        n.Load(a =>
        {
            a.mov(rax, cr4);
            a.or(eax, 1 << 18);
            a.mov(cr4, rax);    // XSAVE not reported by CPUID: #GP(0)
            a.hlt();
        }).RunToHlt(engine);
        Assert.Equal((ulong)Vector.GP, n.Reg(R8));
    }

    [Fact]
    public void CpuidLeafDDescribesTheStandardLayout()
    {
        var model = new CpuidModel(CpuModel.V2);
        Assert.Equal((0u, 0u, 0u, 0u), model.Query(0xD, 0, xcr0: 3)); // XSAVE not reported (v2)
        model.Leaf1Ecx |= CpuidModel.EcxXsave;
        model.XsaveComponents = 7;
        Assert.Equal((7u, 576u, 832u, 0u), model.Query(0xD, 0, xcr0: 3));
        Assert.Equal(832u, model.Query(0xD, 0, xcr0: 7).Ebx);
        Assert.Equal((256u, 576u, 0u, 0u), model.Query(0xD, 2));
        Assert.Equal(7u, model.Query(0xD, 1).Eax & 7); // XSAVEOPT, XSAVEC, XGETBV ECX = 1
        Assert.NotEqual(0u, model.Query(1, 0, cr4: ControlBits.Cr4OSXSAVE).Ecx & CpuidModel.EcxOsxsave);
        Assert.Equal(0u, new CpuidModel(CpuModel.V2).Query(1, 0).Ecx & (CpuidModel.EcxXsave | CpuidModel.EcxAvx));
        Assert.Equal((7u, 576u, 832u, 0u), new CpuidModel(CpuModel.V3).Query(0xD, 0, xcr0: 3)); // v3: x87, SSE and AVX
    }
}
