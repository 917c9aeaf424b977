using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Emulator.TestKit.SystemTables;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.SystemArchitecture;

/// <summary>
/// Limit and rights checks on ordinary data and stack accesses in protected mode (SDM Vol. 3A 5.3
/// "Limit Checking", 5.4.1 null selectors, 5.6 "Privilege Level Checking When Accessing Data
/// Segments" and the "Protected Mode Exceptions" of MOV, PUSH in Vol. 2), and the 64-bit
/// canonical checks (SDM Vol. 3A 6.15, #SS for stack references).
/// </summary>
public class SegmentAccessTests
{
    private const ushort Probe = FirstFree; // the segment under test
    private const ushort ProbeCode = FirstFree + 8;

    /// <summary>Runs <paramref name="body"/> in 32-bit protected mode after loading <paramref name="descriptor"/> into DS (or SS).</summary>
    private static TestMachine RunWithSegment(Engine engine, ulong descriptor, Seg seg, Action<Assembler> body)
    {
        var m = new TestMachine().ProtectedMode32();
        ProtectedModeIdt.Install(m);
        SetGdt(m, Probe, descriptor);
        m.Load(a =>
        {
            a.mov(ax, Probe);
            if (seg == Seg.SS)
            {
                a.mov(ss, ax);
            }
            else
            {
                a.mov(ds, ax);
            }

            body(a);
            a.mov(edi, 0x99); // reached only without a fault
            a.hlt();
        }).RunToHlt(engine);
        return m;
    }

    private static void AssertFault(TestMachine m, int vector, uint error)
    {
        Assert.Equal((uint)vector, ProtectedModeIdt.RecordedVector(m));
        Assert.Equal(error, ProtectedModeIdt.ErrorCode(m));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void WriteToReadOnlyDataSegmentIsGeneralProtection(Engine engine)
    {
        // SDM Vol. 3A 5.3 / Vol. 2 MOV: "a write to a read-only data segment" is #GP(0); the read before it succeeds.
        using var m = RunWithSegment(engine, Segment(0, 0xFFFFF, DataReadOnly), Seg.DS, a =>
        {
            a.mov(ecx, __dword_ptr[0x40000]);
            a.mov(edx, 1);
            a.mov(__dword_ptr[0x40000], edx);
        });
        AssertFault(m, Vector.GP, 0);
        Assert.Equal(1u, (uint)m.Reg(CpuState.RDX));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void NullDataSegmentFaultsOnUseNotOnLoad(Engine engine)
    {
        // SDM Vol. 3A 5.4.1: loading a null selector into DS is allowed; a memory reference through it is #GP(0).
        using var m = new TestMachine().ProtectedMode32();
        ProtectedModeIdt.Install(m);
        m.Load(a =>
        {
            a.xor(eax, eax);
            a.mov(ds, ax);
            a.mov(ecx, 5);
            a.mov(ecx, __dword_ptr[0x40000]);
            a.hlt();
        }).RunToHlt(engine);
        AssertFault(m, Vector.GP, 0);
        Assert.Equal(5u, (uint)m.Reg(CpuState.RCX));
        Assert.Equal((uint)TestMachine.CodeAddress + 10, ProtectedModeIdt.FaultEip(m)); // xor (2) + mov ds, ax (66 8E D8) + mov ecx (5)
    }

    [Theory]
    [InlineData(Engine.Interpreter, 0xFFCu, false)]
    [InlineData(Engine.Interpreter, 0xFFDu, true)]
    [InlineData(Engine.Interpreter, 0x1000u, true)]
    public void ExpandUpLimitCoversTheLastByte(Engine engine, uint offset, bool faults)
    {
        // SDM Vol. 3A 5.3: with a byte-granular limit of FFFh a doubleword at FFDh crosses it (#GP(0)).
        using var m = RunWithSegment(engine, Segment(0x40000, 0xFFF, DataReadWrite, granular: false), Seg.DS, a =>
        {
            a.mov(ebx, offset);
            a.mov(ecx, __dword_ptr[ebx]);
        });
        if (faults)
        {
            AssertFault(m, Vector.GP, 0);
        }
        else
        {
            Assert.Equal(0x99u, (uint)m.Reg(CpuState.RDI));
        }
    }

    [Theory]
    [InlineData(Engine.Interpreter, true, 0x1000u, false)]
    [InlineData(Engine.Interpreter, true, 0xFFFu, true)]
    [InlineData(Engine.Interpreter, true, 0xFFFF_FFFCu, false)]
    [InlineData(Engine.Interpreter, false, 0xFFFCu, false)]
    [InlineData(Engine.Interpreter, false, 0xFFFEu, true)]
    [InlineData(Engine.Interpreter, false, 0x10000u, true)]
    public void ExpandDownSegmentHoldsOffsetsAboveTheLimit(Engine engine, bool big, uint offset, bool faults)
    {
        // SDM Vol. 3A 3.4.5.1 and 5.3: an expand-down segment spans limit+1 .. FFFFFFFFh (B = 1) or FFFFh (B = 0).
        using var m = RunWithSegment(engine, Segment(0, 0xFFF, DataReadWriteExpandDown, big: big, granular: false), Seg.DS, a =>
        {
            a.mov(ebx, offset);
            a.mov(ecx, __dword_ptr[ebx]);
        });
        if (faults)
        {
            AssertFault(m, Vector.GP, 0);
        }
        else
        {
            Assert.Equal(0x99u, (uint)m.Reg(CpuState.RDI));
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void StackReferencePastTheLimitIsStackFault(Engine engine)
    {
        // SDM Vol. 3A 6.15 (interrupt 12): an SS-relative access beyond the SS limit is #SS(0), here through EBP.
        using var m = RunWithSegment(engine, Segment(0, 0x7FFF, DataReadWrite, granular: false), Seg.SS, a =>
        {
            a.mov(ebp, 0x7FFC);
            a.mov(ecx, __dword_ptr[ebp]);
            a.mov(ebp, 0x7FFE);
            a.mov(ecx, __dword_ptr[ebp]);
        });
        AssertFault(m, Vector.SS, 0);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void ReadThroughExecuteOnlyCodeSegmentIsGeneralProtection(Engine engine)
    {
        // SDM Vol. 3A 5.3 and 3.4.5.1: reading an execute-only code segment (here through a CS override) is #GP(0).
        using var m = new TestMachine().ProtectedMode32();
        ProtectedModeIdt.Install(m);
        SetGdt(m, ProbeCode, Segment(0, 0xFFFFF, CodeExecuteOnly));
        m.Load(a =>
        {
            a.jmp(ProbeCode, (uint)TestMachine.CodeAddress + 7); // 7-byte far JMP to the next instruction
            a.mov(ecx, __dword_ptr.cs[0x40000]);
            a.hlt();
        }).RunToHlt(engine);
        AssertFault(m, Vector.GP, 0);
        Assert.Equal((uint)ProbeCode, ProtectedModeIdt.FaultCs(m));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void PushPastAnExpandDownStackIsStackFaultDeliveredOnTheRingZeroStack(Engine engine)
    {
        // SDM Vol. 3A 5.3 and 6.12.1: a ring-3 expand-down stack (limit 5FFFh) admits pushes down to
        // 6000h; the next push is #SS(0), delivered on the TSS's ring-0 stack, ESP unchanged.
        using var m = new TestMachine().ProtectedMode32();
        ProtectedModeIdt.Install(m);
        InstallRing3(m);
        SetGdt(m, Probe, Segment(0, 0x5FFF, DataReadWriteExpandDown, dpl: 3, granular: false));
        m.Load(a =>
        {
            a.push(eax);
            a.push(eax);
            a.push(eax);
            a.hlt();
        });
        EnterRing3(m);
        m.S.Ss = X86Cpu.FromDescriptor(Probe | 3, Segment(0, 0x5FFF, DataReadWriteExpandDown, dpl: 3, granular: false));
        m.S.Gpr[CpuState.RSP] = 0x6008;
        m.RunToHlt(engine);
        AssertFault(m, Vector.SS, 0);
        Assert.Equal((uint)TestMachine.CodeAddress + 2, ProtectedModeIdt.FaultEip(m));
        Assert.Equal((uint)UserCode32 | 3, ProtectedModeIdt.FaultCs(m));
        Assert.Equal(0u, (uint)m.S.Cs.Selector & 3); // the handler runs at CPL 0
        Assert.Equal(Ring0Stack - 24, m.Reg(CpuState.RSP)); // SS, ESP, EFLAGS, CS, EIP, error code
        Assert.Equal(0x6000UL, m.Memory.Read(Ring0Stack - 8, 4)); // the pushed ESP: the faulting push left it as it was
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void NonCanonicalStackReferenceIn64BitModeIsStackFault(Engine engine)
    {
        // SDM Vol. 3A 6.15 (interrupt 12): a non-canonical address in a stack reference (RBP-based) is #SS(0).
        using var m = new TestMachine().LongMode();
        Exceptions.LongModeIdt.Install(m);
        m.S.Gpr[CpuState.RBP] = 0x0000_8000_0000_0000;
        m.Load(a =>
        {
            a.mov(rax, __qword_ptr[rbp]);
            a.hlt();
        }).RunToHlt(engine);
        Assert.Equal((ulong)Vector.SS, m.Reg(8));
        Assert.Equal(0UL, m.Reg(10));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void InstructionPastTheCodeSegmentLimitIsGeneralProtection(Engine engine)
    {
        // SDM Vol. 3A 5.3: fetching an instruction whose last byte lies past the CS limit is #GP(0).
        using var m = new TestMachine().ProtectedMode32();
        ProtectedModeIdt.Install(m);
        SetGdt(m, ProbeCode, Segment(0, (uint)TestMachine.CodeAddress + 8, CodeExecuteRead, granular: false));
        m.Load(a =>
        {
            a.jmp(ProbeCode, (uint)TestMachine.CodeAddress + 7);
            a.mov(ecx, 1); // bytes 7..11: crosses the limit at 8
            a.hlt();
        }).RunToHlt(engine);
        AssertFault(m, Vector.GP, 0);
        Assert.Equal((uint)TestMachine.CodeAddress + 7, ProtectedModeIdt.FaultEip(m));
    }
}
