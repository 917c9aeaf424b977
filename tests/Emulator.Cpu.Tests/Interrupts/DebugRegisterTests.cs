using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.Cpu.Tests.Exceptions;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Interrupts;

/// <summary>
/// DR0-DR7 (SDM Vol. 3A 17.2-17.3; Vol. 2B "MOV—Move to/from Debug Registers"): access rules,
/// fixed bits, general detect, instruction breakpoints (faults, suppressed by RF), data
/// breakpoints (traps, by length and R/W type) and I/O breakpoints (CR4.DE).
/// </summary>
public class DebugRegisterTests
{
    private const ulong NoFault = ulong.MaxValue;

    /// <summary>Runs <paramref name="body"/> then HLT with the recording IDT; returns the vector taken (or NoFault) and its error code.</summary>
    private static (ulong Vector, ulong Error) Probe(TestMachine m, Action<Assembler> body, Engine engine)
    {
        LongModeIdt.Install(m);
        m.S.Gpr[8] = NoFault;
        m.Load(a =>
        {
            body(a);
            a.hlt();
        }).RunToHlt(engine);
        return (m.Reg(8), m.Reg(10));
    }

    [Fact]
    public void ResetValuesOfDr6AndDr7()
    {
        using var m = new TestMachine();
        // SDM Vol. 3A 9.1.1, table 9-1: DR6 = FFFF0FF0h, DR7 = 00000400h after RESET.
        Assert.Equal(0xFFFF0FF0UL, m.S.Dr[6]);
        Assert.Equal(0x400UL, m.S.Dr[7]);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void FixedBitsOfDr6AndDr7ReadBack(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        var (vector, _) = Probe(
            m,
            a =>
            {
                a.xor(eax, eax);
                a.mov(dr6, rax);
                a.mov(dr7, rax);
                a.mov(rbx, dr6);
                a.mov(rcx, dr7);
                a.mov(eax, 0xFFFF_FFFF);
                a.mov(dr6, rax);
                a.mov(rdx, dr6);
                a.mov(rax, 0x1234_5678_9ABC_DEF0);
                a.mov(dr0, rax);
                a.mov(rsi, dr0);
            },
            engine);

        Assert.Equal(NoFault, vector);
        // SDM 17.2.3 and 17.2.4, figure 17-1: DR6 bits 4-11 and 16-31 read 1, bit 12 reads 0; DR7 bit 10 reads 1.
        Assert.Equal(0xFFFF0FF0UL, m.Reg(CpuState.RBX));
        Assert.Equal(0x400UL, m.Reg(CpuState.RCX));
        Assert.Equal(0xFFFFEFFFUL, m.Reg(CpuState.RDX));
        Assert.Equal(0x1234_5678_9ABC_DEF0UL, m.Reg(CpuState.RSI)); // DR0-DR3 hold 64-bit addresses
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void Dr4AndDr5AliasDr6AndDr7WithoutCr4De(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        var (vector, _) = Probe(
            m,
            a =>
            {
                a.mov(eax, 0xC301); // bits 14-15 are reserved and read 0
                a.mov(dr5, rax);
                a.mov(rbx, dr7);
                a.mov(eax, 1);
                a.mov(dr4, rax);
                a.mov(rcx, dr6);
                a.xor(eax, eax);
                a.mov(dr7, rax);
            },
            engine);

        Assert.Equal(NoFault, vector);
        Assert.Equal(0x701UL, m.Reg(CpuState.RBX));
        Assert.Equal(0xFFFF0FF1UL, m.Reg(CpuState.RCX));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void Dr4WithCr4DeIsUndefinedOpcode(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        m.S.Cr4 |= ControlBits.Cr4DE;
        Assert.Equal(((ulong)Vector.UD, LongModeIdt.NoErrorCode), Probe(m, a => a.mov(rax, dr4), engine));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void Dr7UpperHalfSetIsGeneralProtection(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        var result = Probe(
            m,
            a =>
            {
                a.mov(rax, 0x1_0000_0000);
                a.mov(dr7, rax);
            },
            engine);

        // SDM Vol. 2B MOV DR, 64-bit mode exceptions: bits 63:32 of DR6 or DR7 set is #GP(0).
        Assert.Equal(((ulong)Vector.GP, 0UL), result);
        Assert.Equal(0x400UL, m.S.Dr[7]);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void MovDrAboveCplZeroIsGeneralProtection(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        SystemTables.InstallRing3(m);
        SystemTables.EnterRing3(m);
        m.Load(a =>
        {
            a.mov(rax, dr7);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal((ulong)Vector.GP, m.Reg(8));
        Assert.Equal(0UL, m.Reg(10));
        Assert.Equal(TestMachine.CodeAddress, m.Reg(9));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void GeneralDetectIsADebugFaultThatClearsGd(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.Load(
            a =>
            {
                a.mov(r9, __qword_ptr[rsp]);
                a.mov(r14, __qword_ptr[rsp + 16]);
                a.mov(r13, dr6);
                a.mov(r12, dr7); // allowed: GD was cleared on entry
                a.hlt();
            },
            LongModeIdt.Handler(Vector.DB));
        var at = EventLog.LoadParts(
            m,
            a =>
            {
                a.mov(eax, 0x2400);
                a.mov(dr7, rax);
            },
            a => a.mov(rbx, dr0),
            a => a.hlt());
        m.RunToHlt(engine);

        // SDM 17.2.4: DR7.GD makes the next MOV DR a #DB fault (RIP of the MOV) with DR6.BD, and
        // the processor clears GD on entry to the handler. A fault pushes RF = 1 (17.3.1.1).
        Assert.Equal(at[1], m.Reg(9));
        Assert.Equal(X86Cpu.Dr6BD, m.Reg(13) & X86Cpu.Dr6BD);
        Assert.Equal(0x400UL, m.Reg(12));
        Assert.Equal(Flags.RF, m.Reg(14) & Flags.RF);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void InstructionBreakpointFaultsBeforeExecutionAndRfResumes(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        EventLog.Install(m, Vector.DB);

        // This #DB handler logs like EventLog's and returns with RF = 1 in the frame, so the
        // breakpoint instruction runs (SDM 17.3.1.1).
        const ulong handler = 0x3C000;
        m.Load(
            a =>
            {
                a.inc(r12);
                a.mov(rax, __qword_ptr[rsp]);
                a.mov(__qword_ptr[r15], rax);
                a.mov(rax, __qword_ptr[rsp + 16]);
                a.mov(__qword_ptr[r15 + 8], rax);
                a.mov(rax, dr6);
                a.mov(__qword_ptr[r15 + 16], rax);
                a.add(r15, 24);
                a.or(__qword_ptr[rsp + 16], 0x10000);
                a.iretq();
            },
            handler);
        LongModeIdt.SetGate(m, Vector.DB, handler);
        var at = EventLog.LoadParts(
            m,
            a => a.mov(ecx, 2),
            a =>
            {
                var loop = a.CreateLabel();
                a.Label(ref loop);
                a.inc(r13);
                a.dec(ecx);
                a.jnz(loop);
            },
            a => a.hlt());
        ulong target = at[1];
        m.S.Dr[0] = target;
        m.S.Dr[7] = 0x401; // L0, R/W0 = 00 (execute), LEN0 = 00
        m.RunToHlt(engine);

        // Each pass through the loop hits the breakpoint once: the handler's RF = 1 lets the
        // instruction run, and RF is cleared after it, so the next pass hits again (SDM 17.3.1.1).
        Assert.Equal(2UL, m.Reg(13));
        Assert.Equal(2, EventLog.Count(m));
        for (int k = 0; k < 2; k++)
        {
            var (rip, rflags, dr6) = EventLog.Entry(m, k);
            Assert.Equal(target, rip); // a fault: the breakpoint instruction's RIP
            Assert.Equal(0UL, rflags & Flags.RF); // an instruction-breakpoint #DB pushes RF as it was
            Assert.Equal(1UL, dr6 & 0xF); // B0
        }

        Assert.Equal(0UL, m.S.Rflags & Flags.RF);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void DisabledBreakpointDoesNotFire(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        EventLog.Install(m, Vector.DB);
        m.Load(a =>
        {
            a.mov(__qword_ptr[rbx], rax);
            a.hlt();
        });
        m.S.Gpr[CpuState.RBX] = TestMachine.DataAddress;
        m.S.Dr[0] = TestMachine.CodeAddress;
        m.S.Dr[1] = TestMachine.DataAddress;
        m.S.Dr[7] = 0x400 | (0xDUL << 20); // R/W and LEN fields set, but L0-G3 all clear
        m.RunToHlt(engine);

        Assert.Equal(0, EventLog.Count(m));
    }

    /// <summary>(R/W bits, LEN bits, breakpoint offset, access offset, access size, write, expected hit).</summary>
    public static TheoryData<Engine, int, int, int, int, int, bool, bool> DataBreakpoints
    {
        get
        {
            var rows = new (int Rw, int Len, int Bp, int At, int Size, bool Write, bool Hit)[]
            {
                (1, 0, 0x10, 0x10, 1, true, true),     // 1-byte write breakpoint, written
                (1, 0, 0x10, 0x10, 1, false, false),   // R/W = 01b ignores reads
                (3, 0, 0x10, 0x10, 1, false, true),    // R/W = 11b breaks on reads
                (1, 0, 0x10, 0x11, 1, true, false),    // next byte: outside
                (1, 0, 0x10, 0x0F, 2, true, true),     // a word write overlapping the byte
                (1, 1, 0x11, 0x10, 1, true, true),     // LEN 01b (2 bytes): the address is aligned down
                (1, 3, 0x10, 0x13, 1, true, true),     // LEN 11b (4 bytes): last byte
                (1, 3, 0x10, 0x14, 1, true, false),    // just past 4 bytes
                (3, 2, 0x15, 0x10, 4, false, true),    // LEN 10b (8 bytes, 64-bit mode): 10h-17h
                (3, 2, 0x15, 0x18, 8, false, false),   // the next quadword
            };
            var data = new TheoryData<Engine, int, int, int, int, int, bool, bool>();
            foreach (var engine in Enum.GetValues<Engine>())
            {
                foreach (var r in rows)
                {
                    data.Add(engine, r.Rw, r.Len, r.Bp, r.At, r.Size, r.Write, r.Hit);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(DataBreakpoints))]
    public void DataBreakpointIsATrapAfterTheAccess(Engine engine, int rw, int len, int bp, int at, int size, bool write, bool hit)
    {
        using var m = new TestMachine().LongMode();
        EventLog.Install(m, Vector.DB);
        var parts = EventLog.LoadParts(
            m,
            a =>
            {
                switch (size, write)
                {
                    case (1, true): a.mov(__byte_ptr[rbx + at], al); break;
                    case (1, false): a.mov(al, __byte_ptr[rbx + at]); break;
                    case (2, true): a.mov(__word_ptr[rbx + at], ax); break;
                    case (2, false): a.mov(ax, __word_ptr[rbx + at]); break;
                    case (4, true): a.mov(__dword_ptr[rbx + at], eax); break;
                    case (4, false): a.mov(eax, __dword_ptr[rbx + at]); break;
                    case (_, true): a.mov(__qword_ptr[rbx + at], rax); break;
                    default: a.mov(rax, __qword_ptr[rbx + at]); break;
                }
            },
            a => a.nop(),
            a => a.hlt());
        m.S.Gpr[CpuState.RBX] = TestMachine.DataAddress;
        m.S.Dr[2] = TestMachine.DataAddress + (ulong)bp;
        m.S.Dr[7] = 0x400 | (1UL << 4) | ((ulong)rw << 24) | ((ulong)len << 26); // L2, R/W2, LEN2
        m.RunToHlt(engine);

        if (!hit)
        {
            Assert.Equal(0, EventLog.Count(m));
            return;
        }

        // SDM 17.3.1.2: a data breakpoint is a trap: the saved RIP is the next instruction, DR6.B2 set.
        Assert.Equal(1, EventLog.Count(m));
        var (rip, _, dr6) = EventLog.Entry(m, 0);
        Assert.Equal(parts[1], rip);
        Assert.Equal(0x4UL, dr6 & 0xF);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void DataBreakpointOnAFaultingInstructionIsNotReported(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        EventLog.Install(m, Vector.DB);
        // MOVSB reads a watched byte, then its write to a non-canonical address is #GP(0): the
        // instruction does not complete, so no trap is reported (SDM 17.3.1.2: traps follow completed instructions).
        m.S.Gpr[CpuState.RSI] = TestMachine.DataAddress;
        m.S.Gpr[CpuState.RDI] = 0x0000_8000_0000_0000;
        m.S.Dr[0] = TestMachine.DataAddress;
        m.S.Dr[7] = 0x400 | 1 | (3UL << 16);
        m.Load(a =>
        {
            a.movsb();
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal((ulong)Vector.GP, m.Reg(8));
        Assert.Equal(0, EventLog.Count(m));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void IoBreakpointNeedsCr4De(Engine engine)
    {
        foreach (bool de in new[] { false, true })
        {
            using var m = new TestMachine().LongMode();
            EventLog.Install(m, Vector.DB);
            if (de)
            {
                m.S.Cr4 |= ControlBits.Cr4DE;
            }

            var at = EventLog.LoadParts(m, a => a.@out(0x80, al), a => a.@in(al, 0x81), a => a.hlt());
            m.S.Dr[3] = 0x80;
            m.S.Dr[7] = 0x400 | (1UL << 6) | (2UL << 28) | (1UL << 30); // L3, R/W3 = 10b, LEN3 = 2 bytes
            m.RunToHlt(engine);

            // SDM 17.2.5: R/W = 10b is an I/O breakpoint only with CR4.DE = 1; each of the two
            // ports in the 2-byte range traps after the access.
            if (!de)
            {
                Assert.Equal(0, EventLog.Count(m));
                continue;
            }

            Assert.Equal(2, EventLog.Count(m));
            Assert.Equal(at[1], EventLog.Entry(m, 0).Rip);
            Assert.Equal(at[2], EventLog.Entry(m, 1).Rip);
            Assert.Equal(0x8UL, EventLog.Entry(m, 0).Dr6 & 0xF);
        }
    }
}
