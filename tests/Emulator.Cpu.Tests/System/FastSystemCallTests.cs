using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.TestKit;
using Xunit;
using static Emulator.TestKit.SystemTables;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.SystemArchitecture;

/// <summary>SYSCALL/SYSRET, SYSENTER/SYSEXIT and SWAPGS (SDM Vol. 2B and Vol. 3A 5.8.7-5.8.8).</summary>
public class FastSystemCallTests
{
    private const ulong Kernel = TestMachine.CodeAddress + 0x100;
    private const ulong User = TestMachine.CodeAddress + 0x200;
    private const ulong Record = TestMachine.DataAddress;
    private const uint Efer = 0xC000_0080, Star = 0xC000_0081, Lstar = 0xC000_0082, Fmask = 0xC000_0084;
    private const uint GsBase = 0xC000_0101, KernelGsBase = 0xC000_0102;
    private const uint SysenterCs = 0x174, SysenterEsp = 0x175, SysenterEip = 0x176;

    private static void Wrmsr(Iced.Intel.Assembler a, uint msr, ulong value)
    {
        a.mov(ecx, msr);
        a.mov(eax, (uint)value);
        a.mov(edx, (uint)(value >> 32));
        a.wrmsr();
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void SyscallAndSysretRoundTrip(Engine engine)
    {
        // SDM Vol. 2B SYSCALL: RCX = next RIP, R11 = RFLAGS, RFLAGS &= ~IA32_FMASK, CS = STAR[47:32],
        // SS = STAR[47:32] + 8, RIP = LSTAR. SYSRET (REX.W): RIP = RCX, RFLAGS = (R11 & 3C7FD7h) | 2,
        // CS = STAR[63:48] + 16 | 3, SS = STAR[63:48] + 8 | 3.
        using var m = new TestMachine().LongMode();
        Exceptions.LongModeIdt.Install(m);
        InstallRing3(m);
        const ulong userFlags = Flags.Reserved1 | Flags.CF | Flags.DF | Flags.AC;
        m.Load(
            a =>
            {
                a.mov(__qword_ptr[Record], rcx);
                a.mov(__qword_ptr[Record + 8], r11);
                a.pushfq();
                a.pop(rax);
                a.mov(__qword_ptr[Record + 0x10], rax);
                a.mov(eax, cs);
                a.mov(__qword_ptr[Record + 0x18], rax);
                a.mov(eax, ss);
                a.mov(__qword_ptr[Record + 0x20], rax);
                a.and(r11, ~1); // return with CF clear
                a.sysretq();
            },
            Kernel);
        Iced.Intel.Label afterSyscall = default;
        m.Load(
            a =>
            {
                afterSyscall = a.CreateLabel();
                a.syscall();
                a.Label(ref afterSyscall);
                a.pushfq();
                a.pop(rbx);
                a.mov(ecx, cs);
                a.mov(edx, ss);
                a.hlt();
            },
            User);
        m.Load(a =>
        {
            a.mov(ecx, Efer);
            a.rdmsr();
            a.or(eax, 1); // SCE
            a.wrmsr();
            Wrmsr(a, Star, (0x30UL << 48) | ((ulong)TestMachine.Code64 << 32));
            Wrmsr(a, Lstar, Kernel);
            Wrmsr(a, Fmask, Flags.DF | Flags.AC);
            a.mov(rcx, User);
            a.mov(r11, userFlags);
            a.sysretq();
        }).RunToHlt(engine);

        ulong Read(ulong offset) => m.Memory.Read(Record + offset, 8);
        Assert.Equal(User + 2, Read(0)); // SYSCALL is 2 bytes
        Assert.Equal(userFlags, Read(8));
        Assert.Equal(Flags.Reserved1 | Flags.CF, Read(0x10)); // DF and AC masked
        Assert.Equal((ulong)TestMachine.Code64, Read(0x18));
        Assert.Equal((ulong)TestMachine.Data, Read(0x20));

        Assert.Equal((ulong)Vector.GP, m.Reg(8)); // the user HLT
        Assert.Equal(Flags.Reserved1 | Flags.DF | Flags.AC, m.Reg(CpuState.RBX));
        Assert.Equal((ulong)UserCode64 | 3, m.Reg(CpuState.RCX));
        Assert.Equal((ulong)UserData | 3, m.Reg(CpuState.RDX));
    }

    [Theory]
    [InlineData(Engine.Interpreter, "SYSCALL with EFER.SCE clear", Vector.UD)]
    [InlineData(Engine.Interpreter, "SYSRET with EFER.SCE clear", Vector.UD)]
    [InlineData(Engine.Interpreter, "SYSRET to a non-canonical RCX", Vector.GP)]
    [InlineData(Engine.Interpreter, "SYSRET at CPL 3", Vector.GP)]
    [InlineData(Engine.Interpreter, "SWAPGS at CPL 3", Vector.GP)]
    public void FastSystemCallFaults(Engine engine, string name, int vector)
    {
        // SDM Vol. 2B, SYSCALL/SYSRET/SWAPGS "64-Bit Mode Exceptions".
        using var m = new TestMachine().LongMode();
        Exceptions.LongModeIdt.Install(m);
        InstallRing3(m);
        if (name.Contains("CPL 3", StringComparison.Ordinal) || name.Contains("non-canonical", StringComparison.Ordinal))
        {
            m.S.Efer |= ControlBits.EferSCE;
        }

        m.Load(a =>
        {
            a.mov(rcx, 0x0000_8000_0000_0000);
            if (name.StartsWith("SYSCALL", StringComparison.Ordinal))
            {
                a.syscall();
            }
            else if (name.StartsWith("SWAPGS", StringComparison.Ordinal))
            {
                a.swapgs();
            }
            else
            {
                a.sysretq();
            }

            a.hlt();
        });
        if (name.Contains("CPL 3", StringComparison.Ordinal))
        {
            EnterRing3(m);
        }

        m.RunToHlt(engine);
        Assert.Equal((ulong)vector, m.Reg(8));
        Assert.Equal(TestMachine.CodeAddress + 10, m.Reg(9)); // after the 10-byte MOV RCX
        Assert.Equal(vector == Vector.GP ? 0UL : Exceptions.LongModeIdt.NoErrorCode, m.Reg(10));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void SysexitAndSysenterRoundTrip(Engine engine)
    {
        // SDM Vol. 2B SYSEXIT (32-bit): CS = SYSENTER_CS + 16 | 3, SS = + 24 | 3, EIP = EDX, ESP = ECX.
        // SYSENTER: CS = SYSENTER_CS, SS = + 8, ESP = SYSENTER_ESP, EIP = SYSENTER_EIP, IF and VM cleared.
        using var m = new TestMachine().ProtectedMode32();
        ProtectedModeIdt.Install(m);
        m.Load(
            a =>
            {
                a.mov(ebp, esp);
                a.mov(ecx, cs);
                a.mov(edx, ss);
                a.pushfd();
                a.pop(eax);
                a.hlt();
            },
            Kernel);
        m.Load(
            a =>
            {
                a.mov(ebx, cs);
                a.mov(esi, ss);
                a.mov(edi, esp);
                a.sysenter();
            },
            User);
        m.Load(a =>
        {
            Wrmsr(a, SysenterCs, TestMachine.Code32);
            Wrmsr(a, SysenterEsp, Ring0Stack);
            Wrmsr(a, SysenterEip, Kernel);
            a.sti(); // SYSEXIT keeps EFLAGS; SYSENTER clears IF
            a.mov(ecx, (uint)Ring3Stack);
            a.mov(edx, (uint)User);
            a.sysexit();
        }).RunToHlt(engine);

        Assert.Equal((ulong)TestMachine.Code32 + 16 | 3, m.Reg(CpuState.RBX));
        Assert.Equal((ulong)TestMachine.Code32 + 24 | 3, m.Reg(CpuState.RSI));
        Assert.Equal(Ring3Stack, m.Reg(CpuState.RDI));
        Assert.Equal((ulong)TestMachine.Code32, m.Reg(CpuState.RCX));
        Assert.Equal((ulong)TestMachine.Code32 + 8, m.Reg(CpuState.RDX));
        Assert.Equal(Ring0Stack, m.Reg(CpuState.RBP));
        Assert.Equal(0UL, m.Reg(CpuState.RAX) & Flags.IF);
        Assert.Equal(0, m.S.Cpl);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void SysenterWithANullSysenterCsIsGeneralProtection(Engine engine)
    {
        // SDM Vol. 2B SYSENTER: IA32_SYSENTER_CS[15:2] = 0 is #GP(0).
        using var m = new TestMachine().ProtectedMode32();
        ProtectedModeIdt.Install(m);
        m.Load(a =>
        {
            a.sysenter();
            a.hlt();
        }).RunToHlt(engine);
        Assert.Equal((uint)Vector.GP, ProtectedModeIdt.RecordedVector(m));
        Assert.Equal(0u, ProtectedModeIdt.ErrorCode(m));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void SwapgsExchangesGsBaseWithKernelGsBase(Engine engine)
    {
        // SDM Vol. 2B SWAPGS: GS.base <-> IA32_KERNEL_GS_BASE.
        using var m = new TestMachine().LongMode();
        Exceptions.LongModeIdt.Install(m);
        m.Memory.Write(0x9000, 8, 0x1111);
        m.Memory.Write(0x5000, 8, 0x2222);
        m.Load(a =>
        {
            Wrmsr(a, GsBase, 0x9000);
            Wrmsr(a, KernelGsBase, 0x5000);
            a.swapgs();
            a.mov(rbx, __qword_ptr.gs[0]);
            a.mov(ecx, GsBase);
            a.rdmsr();
            a.mov(esi, eax);
            a.mov(ecx, KernelGsBase);
            a.rdmsr();
            a.mov(edi, eax);
            a.hlt();
        }).RunToHlt(engine);
        Assert.Equal(0x2222UL, m.Reg(CpuState.RBX));
        Assert.Equal(0x5000UL, m.Reg(CpuState.RSI));
        Assert.Equal(0x9000UL, m.Reg(CpuState.RDI));
    }
}
