using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.Cpu.Tests.SystemArchitecture;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Emulator.TestKit.SystemTables;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Tasks;

/// <summary>
/// Virtual-8086 mode (SDM Vol. 3A chapter 20) under a protected-mode monitor, and the I/O
/// permission bit map (SDM Vol. 1 19.5.2; Vol. 3A 20.2.8.1). The 8086 program lives at
/// 2000:0000 (linear 20000h) with its stack at 2000:1000 and data at 3000:0000.
/// </summary>
public class Virtual8086Tests
{
    private const ushort V86Code = 0x2000, V86Data = 0x3000;
    private const ulong V86Linear = (ulong)V86Code << 4;
    private const ulong Record = TestMachine.DataAddress;
    private const ulong Handler40 = TestMachine.CodeAddress + 0x800;
    private const ulong Monitor = TestMachine.CodeAddress + 0xC00;

    private static TestMachine Protected()
    {
        var m = new TestMachine().ProtectedMode32();
        ProtectedModeIdt.Install(m);
        InstallRing3(m);
        return m;
    }

    /// <summary>
    /// Gives the TSS an I/O bit map at 68h for ports 0-FFh, all denied but <paramref name="allowed"/>,
    /// followed by the all-ones byte of SDM Vol. 1 19.5.2; the TSS limit covers it.
    /// </summary>
    private static void InstallIoBitmap(TestMachine m, params ushort[] allowed)
    {
        const int mapBase = TaskState.Size;
        for (int k = 0; k <= 0x20; k++)
        {
            m.Memory.Write(TssAddress + mapBase + (ulong)k, 1, 0xFF);
        }

        foreach (ushort port in allowed)
        {
            ulong at = TssAddress + mapBase + (ulong)(port >> 3);
            m.Memory.Write(at, 1, m.Memory.Read(at, 1) & ~(1UL << (port & 7)));
        }

        TaskState.Set(m, TssAddress, TaskState.IoMapBase, mapBase);
        SetGdt(m, Tss, SystemTables.System((uint)TssAddress, mapBase + 0x20, Tss32Busy));
        m.S.Tr = X86Cpu.FromDescriptor(Tss, SystemTables.System((uint)TssAddress, mapBase + 0x20, Tss32Busy));
    }

    private static void Load16(TestMachine m, ulong linear, Action<Assembler> program)
    {
        var asm = new Assembler(16);
        program(asm);
        m.Memory.WriteBytes(linear, asm.AssembleBytes(linear & 0xFFFF));
    }

    /// <summary>Ring-0 code that enters virtual-8086 mode with IRETD (SDM 20.2.1, figure 20-2 frame).</summary>
    private static void EnterV86(Assembler a, uint eflags, ushort gs = 0)
    {
        a.push(gs);
        a.push(0);                 // FS
        a.push(V86Data);           // DS
        a.push(V86Data);           // ES
        a.push(V86Code);           // SS
        a.push(0x1000);            // ESP
        a.push((int)eflags);
        a.push(V86Code);           // CS
        a.push(0);                 // EIP
        a.iretd();
    }

    private static List<(ushort Port, bool Write)> ObservePorts(TestMachine m)
    {
        var seen = new List<(ushort, bool)>();
        m.Ports.Observer = (port, _, _, write) => seen.Add((port, write));
        return seen;
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void InterruptFromVirtual8086ModeBuildsTheFigure20_2FrameAndIretReturns(Engine engine)
    {
        // SDM 20.1.1: addresses are selector * 16 + offset. 20.3.1.1 and figure 20-2: an INT n
        // (IOPL = 3) through a DPL-3 gate to ring-0 code switches to SS0:ESP0 and pushes GS, FS, DS,
        // ES, SS, ESP, EFLAGS (VM = 1), CS, EIP; the handler runs with null DS, ES, FS, GS. IRETD at
        // CPL 0 with VM = 1 in the image goes back (Vol. 2A IRET, RETURN-TO-VIRTUAL-8086-MODE).
        // With IOPL = 3, CLI, STI, PUSHF and POPF work (20.2.7); I/O follows the bit map (20.2.8.1).
        using var m = Protected();
        InstallIoBitmap(m, 0x80);
        var ports = ObservePorts(m);
        m.S.Idtr.Limit = (0x41 * 8) - 1;
        m.Memory.Write(TestMachine.IdtAddress + (0x40 * 8), 8, (Handler40 & 0xFFFF) | ((ulong)TestMachine.Code32 << 16) | (0xEEUL << 40) | ((Handler40 >> 16) << 48));
        m.Memory.Write((V86Data << 4) + 0x10, 2, 0xBEEF);
        m.Load(
            a =>
            {
                a.mov(edx, ds);
                a.mov(ecx, esp);
                a.mov(eax, TestMachine.Data);
                a.mov(ds, eax);
                for (int k = 0; k < 9; k++)
                {
                    a.mov(eax, __dword_ptr[esp + (4 * k)]);
                    a.mov(__dword_ptr[Record + (ulong)(4 * k)], eax);
                }

                a.mov(__dword_ptr[Record + 0x40], edx);
                a.mov(__dword_ptr[Record + 0x44], ecx);
                a.iretd();
            },
            Handler40);
        Load16(m, V86Linear, a =>
        {
            a.mov(ax, __word_ptr[0x10]);
            a.mov(__word_ptr[0x12], ax);
            a.@in(al, 0x80);
            a.@int(0x40);
            a.cli();
            a.sti();
            a.pushf();
            a.pop(bx);
            a.mov(cx, ds);
            a.hlt();
        });
        m.Load(a => EnterV86(a, (uint)(Flags.VM | Flags.IOPL | Flags.Reserved1), gs: 0x4000));
        m.RunToHlt(engine);

        Assert.Equal(0xBEEFUL, m.Memory.Read((V86Data << 4) + 0x12, 2));
        Assert.Equal([((ushort)0x80, false)], ports);

        ulong Frame(int slot) => m.Memory.Read(Record + (ulong)(4 * slot), 4);
        Assert.Equal(3UL + 3 + 2 + 2, Frame(0)); // EIP after INT 40h
        Assert.Equal((ulong)V86Code, Frame(1));
        Assert.Equal(Flags.VM | Flags.IOPL | Flags.Reserved1, Frame(2) & (Flags.VM | Flags.IOPL | Flags.Reserved1));
        Assert.Equal(0x1000UL, Frame(3));
        Assert.Equal((ulong)V86Code, Frame(4));
        Assert.Equal((ulong)V86Data, Frame(5)); // ES
        Assert.Equal((ulong)V86Data, Frame(6)); // DS
        Assert.Equal(0UL, Frame(7));            // FS
        Assert.Equal(0x4000UL, Frame(8));       // GS
        Assert.Equal(0UL, m.Memory.Read(Record + 0x40, 4)); // DS in the handler: null
        Assert.Equal(Ring0Stack - 36, m.Memory.Read(Record + 0x44, 4));

        // Back in virtual-8086 mode: PUSHF saw IF = 1 (STI), DS is the 8086 one; HLT at CPL 3 is #GP(0).
        Assert.NotEqual(0UL, m.Reg(CpuState.RBX) & Flags.IF);
        Assert.Equal((ulong)V86Data, m.Reg(CpuState.RCX) & 0xFFFF);
        Assert.Equal((uint)Vector.GP, ProtectedModeIdt.RecordedVector(m));
        Assert.Equal(0u, ProtectedModeIdt.ErrorCode(m));
        Assert.Equal((uint)V86Code, ProtectedModeIdt.FaultCs(m));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void MonitorEmulatesCliAndReflectsIntAndIretWhenIoplIsBelowThree(Engine engine)
    {
        // SDM 20.2.7 and 20.3.3: with IOPL < 3 (no VME) CLI, INT n and IRET in virtual-8086 mode
        // are #GP(0). The monitor (a ring-0 #GP handler) emulates CLI by stepping over it, reflects
        // INT 21h through the 8086 IVT at linear 0 (pushing FLAGS, CS, IP on the 8086 stack,
        // 20.3.1.2) and emulates the 8086 handler's IRET; HLT ends the test.
        using var m = Protected();
        const ushort handler21 = 0x100;
        m.Memory.Write(0x21 * 4, 4, ((ulong)V86Code << 16) | handler21);
        m.Memory.Write(TestMachine.IdtAddress + (Vector.GP * 8), 8, (Monitor & 0xFFFF) | ((ulong)TestMachine.Code32 << 16) | (0x8EUL << 40) | ((Monitor >> 16) << 48));
        m.Load(
            a =>
            {
                Label cliCase = a.CreateLabel(), intCase = a.CreateLabel(), iretCase = a.CreateLabel(), resume = a.CreateLabel();
                const int eip = 36, cs = 40, eflags = 44, sp = 48, ss = 52;
                a.pushad();
                a.mov(eax, TestMachine.Data);
                a.mov(ds, eax);
                a.movzx(eax, __word_ptr[esp + cs]);
                a.shl(eax, 4);
                a.add(eax, __dword_ptr[esp + eip]);
                a.movzx(ecx, __byte_ptr[eax]);
                a.cmp(ecx, 0xFA);
                a.je(cliCase);
                a.cmp(ecx, 0xCD);
                a.je(intCase);
                a.cmp(ecx, 0xCF);
                a.je(iretCase);
                a.mov(edi, __dword_ptr[esp + eip]);
                a.hlt();

                a.Label(ref cliCase);
                a.inc(__dword_ptr[Record]);
                a.inc(__dword_ptr[esp + eip]);
                a.jmp(resume);

                a.Label(ref intCase);
                a.movzx(edx, __byte_ptr[eax + 1]);
                a.movzx(ebx, __word_ptr[esp + ss]);
                a.shl(ebx, 4);
                a.movzx(ecx, __word_ptr[esp + sp]);
                a.sub(ecx, 6);
                a.mov(__dword_ptr[esp + sp], ecx);
                a.add(ebx, ecx);
                a.mov(ecx, __dword_ptr[esp + eip]);
                a.add(ecx, 2);
                a.mov(__word_ptr[ebx], cx);
                a.mov(ecx, __dword_ptr[esp + cs]);
                a.mov(__word_ptr[ebx + 2], cx);
                a.mov(ecx, __dword_ptr[esp + eflags]);
                a.mov(__word_ptr[ebx + 4], cx);
                a.mov(ecx, __dword_ptr[edx * 4]);
                a.movzx(eax, cx);
                a.mov(__dword_ptr[esp + eip], eax);
                a.shr(ecx, 16);
                a.mov(__dword_ptr[esp + cs], ecx);
                a.jmp(resume);

                a.Label(ref iretCase);
                a.movzx(ebx, __word_ptr[esp + ss]);
                a.shl(ebx, 4);
                a.movzx(ecx, __word_ptr[esp + sp]);
                a.add(ebx, ecx);
                a.movzx(eax, __word_ptr[ebx]);
                a.mov(__dword_ptr[esp + eip], eax);
                a.movzx(eax, __word_ptr[ebx + 2]);
                a.mov(__dword_ptr[esp + cs], eax);
                a.add(ecx, 6);
                a.mov(__dword_ptr[esp + sp], ecx);

                a.Label(ref resume);
                a.popad();
                a.add(esp, 4);
                a.iretd();
            },
            Monitor);
        Load16(m, V86Linear, a =>
        {
            a.cli();
            a.mov(ax, 0x1234);
            a.@int(0x21);
            a.mov(__word_ptr[0x200], bx);
            a.hlt();
        });
        Load16(m, V86Linear + handler21, a =>
        {
            a.mov(bx, ax);
            a.inc(bx);
            a.iret();
        });
        m.Load(a => EnterV86(a, (uint)(Flags.VM | Flags.Reserved1)));
        m.RunToHlt(engine);

        Assert.Equal(1UL, m.Memory.Read(Record, 4)); // one CLI emulated
        Assert.Equal(0x1235UL, m.Memory.Read((V86Data << 4) + 0x200, 2));
        Assert.Equal(1UL + 3 + 2 + 4, m.Reg(CpuState.RDI)); // the HLT's offset
    }

    [Theory]
    [InlineData(0x80, 1, true)]
    [InlineData(0x80, 2, false)] // covers 81h too (Vol. 1 19.5.2: every bit must be 0)
    [InlineData(0x7E, 2, true)]
    [InlineData(0x81, 1, false)]
    [InlineData(0x3F8, 1, false)] // past the end of the bit map: beyond the TSS limit
    public void RingThreeIoFollowsTheBitmapWhenCplExceedsIopl(ushort port, int size, bool allowed)
    {
        // SDM Vol. 1 19.5.2: with CPL > IOPL the TSS's I/O bit map decides, else #GP(0).
        using var m = Protected();
        InstallIoBitmap(m, 0x7E, 0x7F, 0x80);
        var ports = ObservePorts(m);
        m.Load(a =>
        {
            a.mov(edx, port);
            if (size == 1)
            {
                a.@in(al, dx);
            }
            else
            {
                a.@in(ax, dx);
            }

            a.mov(esi, 0x600D);
            a.hlt();
        });
        EnterRing3(m);
        m.RunToHlt();

        Assert.Equal((uint)Vector.GP, ProtectedModeIdt.RecordedVector(m)); // the HLT at CPL 3, or the IN
        Assert.Equal(allowed, ProtectedModeIdt.ErrorCode(m) == 0 && ports.Count > 0);
        Assert.Equal(allowed ? 1 : 0, ports.Count);
    }

    [Fact]
    public void VirtualModeIoIgnoresIoplAndUsesTheBitmap()
    {
        // SDM Vol. 3A 20.2.8.1: in virtual-8086 mode I/O is not IOPL-sensitive; the bit map decides.
        using var m = Protected();
        InstallIoBitmap(m, 0x80);
        var ports = ObservePorts(m);
        Load16(m, V86Linear, a => a.@out(0x81, al));
        m.Load(a => EnterV86(a, (uint)(Flags.VM | Flags.IOPL | Flags.Reserved1)));
        m.RunToHlt();

        Assert.Empty(ports);
        Assert.Equal((uint)Vector.GP, ProtectedModeIdt.RecordedVector(m));
        Assert.Equal(0u, ProtectedModeIdt.FaultEip(m));
    }
}
