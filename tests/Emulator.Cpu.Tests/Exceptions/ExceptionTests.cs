using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Exceptions;

/// <summary>Exception delivery (SDM Vol. 3A chapter 6): #DE, #UD, #PF, #GP, #DF and triple faults.</summary>
public class ExceptionTests
{
    private const int R8 = 8, R9 = 9, R10 = 10, R11 = 11, R12 = 12;

    public static TheoryData<Engine, string> DivideErrors
    {
        get
        {
            var data = new TheoryData<Engine, string>();
            foreach (var engine in Enum.GetValues<Engine>())
            {
                foreach (string name in s_divideErrors.Keys)
                {
                    data.Add(engine, name);
                }
            }

            return data;
        }
    }

    /// <summary>SDM Vol. 2A DIV/IDIV: #DE when the divisor is 0 or the quotient does not fit the destination.</summary>
    private static readonly Dictionary<string, (Action<Assembler> Body, ulong Rax, ulong Rdx, ulong Rcx)> s_divideErrors = new()
    {
        ["div cl by zero"] = (a => a.div(cl), 0x1234, 0, 0),
        ["div ecx by zero"] = (a => a.div(ecx), 5, 0, 0xFFFF_FFFF_0000_0000),
        ["idiv rcx by zero"] = (a => a.idiv(rcx), 5, 0, 0),
        ["div cl quotient overflow"] = (a => a.div(cl), 0x1000, 0, 1),
        ["div rcx quotient overflow"] = (a => a.div(rcx), 0, 1, 1),
        ["idiv cl -32768 / -1"] = (a => a.idiv(cl), 0x8000, 0, 0xFF),
        ["idiv cx 65536 / 1"] = (a => a.idiv(cx), 0, 1, 1),
        ["idiv ecx INT64_MIN / -1"] = (a => a.idiv(ecx), 0, 0x8000_0000, 0xFFFF_FFFF),
        ["idiv rcx INT128_MIN / -1"] = (a => a.idiv(rcx), 0, 0x8000_0000_0000_0000, ulong.MaxValue),
        ["idiv rcx -2^64 / 1"] = (a => a.idiv(rcx), 0, ulong.MaxValue, 1),
    };

    [Theory]
    [MemberData(nameof(DivideErrors))]
    public void DivideErrorIsDeliveredThroughTheIdt(Engine engine, string name)
    {
        var (body, rax, rdx, rcx) = s_divideErrors[name];
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.S.Gpr[CpuState.RAX] = rax;
        m.S.Gpr[CpuState.RDX] = rdx;
        m.S.Gpr[CpuState.RCX] = rcx;
        m.Load(a =>
        {
            body(a);
            a.mov(r8, 0x99); // not reached: #DE is a fault
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal((ulong)Vector.DE, m.Reg(R8));
        Assert.Equal(TestMachine.CodeAddress, m.Reg(R9)); // a fault pushes the faulting instruction's RIP
        Assert.Equal(LongModeIdt.NoErrorCode, m.Reg(R10));
        // A fault leaves the destination registers as they were.
        Assert.Equal(rax, m.Reg(CpuState.RAX));
        Assert.Equal(rdx, m.Reg(CpuState.RDX));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void DivideErrorInRealModeGoesThroughTheIvt(Engine engine)
    {
        using var m = new TestMachine().RealMode();
        // IVT entry 0 -> 0000:3000 (SDM Vol. 3A 20.1.4: the IVT holds 4-byte segment:offset pointers).
        m.Memory.Write(0, 4, 0x0000_3000);
        m.Load(
            a =>
            {
                a.mov(bp, sp);
                a.mov(si, __word_ptr[bp]);
                a.mov(di, __word_ptr[bp + 2]);
                a.mov(dx, __word_ptr[bp + 4]);
                a.hlt();
            },
            0x3000);
        m.S.Gpr[CpuState.RAX] = 0x0400;
        m.S.Gpr[CpuState.RBX] = 2; // 400h / 2 = 200h does not fit AL
        m.S.Rflags |= Flags.IF;
        m.Load(a =>
        {
            a.nop();
            a.div(bl);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(0x3000UL + 12, m.S.Rip); // after the handler's HLT (12 bytes of handler)
        Assert.Equal(1UL, m.Reg(CpuState.RSI)); // pushed IP: the DIV, after the one-byte NOP
        Assert.Equal((ulong)TestMachine.RealModeCodeSegment, m.Reg(CpuState.RDI));
        Assert.NotEqual(0UL, m.Reg(CpuState.RDX) & Flags.IF); // FLAGS pushed before IF was cleared
        Assert.Equal(0UL, m.S.Rflags & Flags.IF);
        Assert.Equal(TestMachine.StackTop - 6, m.Reg(CpuState.RSP));
        Assert.Equal(0x0400UL, m.Reg(CpuState.RAX) & 0xFFFF);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void UnimplementedInstructionRaisesUdAndIsLoggedOnce(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        // This #UD handler counts in R12 and skips the 3-byte XTEST (TSX, not implemented).
        m.Load(
            a =>
            {
                a.inc(r12);
                a.add(__qword_ptr[rsp], 3);
                a.iretq();
            },
            LongModeIdt.Handler(Vector.UD));
        m.Load(a =>
        {
            a.xtest();
            a.xtest();
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(2UL, m.Reg(R12));
        Assert.Single(m.Log);
        Assert.Contains("Xtest", m.Log[0], StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void VexInstructionWithoutAvxRaisesUd(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.Load(a =>
        {
            a.vzeroupper();
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal((ulong)Vector.UD, m.Reg(R8));
        Assert.Equal(TestMachine.CodeAddress, m.Reg(R9));
    }

    [Theory]
    [InlineData(Engine.Interpreter, false, 0x0UL)]
    [InlineData(Engine.Interpreter, true, 0x2UL)]
    public void PageFaultReportsErrorCodeAndCr2(Engine engine, bool write, ulong errorCode)
    {
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        // Clear the PDE for 4 MiB..6 MiB (SDM Vol. 3A 4.7: P = 0 -> error bit 0 clear; W/R = bit 1).
        m.Memory.Write(TestMachine.PageTableAddress + 0x2000 + (2 * 8), 8, 0);
        const ulong address = 0x40_0123;
        m.S.Gpr[CpuState.RBX] = address;
        m.Load(a =>
        {
            if (write)
            {
                a.mov(__qword_ptr[rbx], rax);
            }
            else
            {
                a.mov(rax, __qword_ptr[rbx]);
            }

            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal((ulong)Vector.PF, m.Reg(R8));
        Assert.Equal(TestMachine.CodeAddress, m.Reg(R9));
        Assert.Equal(errorCode, m.Reg(R10));
        Assert.Equal(address, m.Reg(R11));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void NonCanonicalAddressRaisesGeneralProtectionZero(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.S.Gpr[CpuState.RBX] = 0x0000_8000_0000_0000; // bits 63:47 not all equal (SDM Vol. 1 3.3.7.1)
        m.Load(a =>
        {
            a.mov(rax, __qword_ptr[rbx]);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal((ulong)Vector.GP, m.Reg(R8));
        Assert.Equal(TestMachine.CodeAddress, m.Reg(R9));
        Assert.Equal(0UL, m.Reg(R10));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void PageFaultThroughNotPresentGateBecomesDoubleFault(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        LongModeIdt.SetGate(m, Vector.PF, LongModeIdt.Handler(Vector.PF), present: false);
        m.Memory.Write(TestMachine.PageTableAddress + 0x2000 + (2 * 8), 8, 0);
        m.S.Gpr[CpuState.RBX] = 0x40_0000;
        m.Load(a =>
        {
            a.mov(rax, __qword_ptr[rbx]);
            a.hlt();
        }).RunToHlt(engine);

        // SDM Vol. 3A 6.15, table 6-5: a contributory exception (#NP for the not-present gate)
        // while delivering a page fault is a double fault; #DF pushes an error code of 0 and
        // its saved RIP is undefined (interrupt 8, "Saved Instruction Pointer"), so it is not checked.
        Assert.Equal((ulong)Vector.DF, m.Reg(R8));
        Assert.Equal(0UL, m.Reg(R10));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void FaultWithEmptyIdtIsATripleFault(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        m.S.Idtr = new TableRegister { Base = TestMachine.IdtAddress, Limit = 0 };
        m.Load(a =>
        {
            a.ud2();
            a.hlt();
        });

        // #UD -> #GP (vector past the IDT limit) -> #DF -> #GP again: shutdown (SDM Vol. 3A 6.15, interrupt 8).
        Assert.Equal(StopReason.TripleFault, m.Run(engine));
        Assert.Contains(m.Log, line => line.Contains("triple fault", StringComparison.Ordinal));
    }
}
