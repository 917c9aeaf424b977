using Emulator.Cpu;
using Emulator.Cpu.State;
using Emulator.TestKit;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.Tests.Emit;

/// <summary>
/// The inline TLB probe of translated code (BlockEmitter.EmitTlbProbe) treats a DS/ES/SS offset as
/// the linear address only while those segments are flat. A segment with a base, loaded before the
/// block or inside it, must send the access through the checked path on every engine.
/// </summary>
public class TlbProbeTests
{
    private const ushort BasedData = 0x30; // GDT entry 6: base 0x1000, 4 GiB, writable data
    private const ulong Base = 0x1000;

    private static TestMachine Setup()
    {
        var m = new TestMachine().ProtectedMode32();
        m.Memory.Write(TestMachine.GdtAddress + BasedData, 8, 0x00CF_9300_1000_FFFFUL);
        m.S.Gdtr = new TableRegister { Base = TestMachine.GdtAddress, Limit = BasedData + 7 };
        m.S.Gpr[CpuState.RSI] = TestMachine.DataAddress;
        m.S.Gpr[CpuState.RBX] = 0x1234_5678;
        return m;
    }

    /// <summary>
    /// Runs a program whose loop makes hundreds of accesses to a few pages on the JIT and checks
    /// that the loop ran compiled and that the inline probe served its accesses: through the
    /// checked path each would count a TLB hit, and fewer than 100 leave room only for the first
    /// accesses, which fill the entries.
    /// </summary>
    private static void RunCompiledAndAssertInline(TestMachine m, long minCompiled)
    {
        m.RunToHlt(Engine.Jit, budget: 10_000_000);

        Assert.True(m.Cpu.CompiledInstructions > minCompiled, $"the loop ran compiled ({m.Cpu.CompiledInstructions} instructions)");
        Assert.True(m.Cpu.Tlb.Hits < 100, $"{m.Cpu.Tlb.Hits} accesses took the checked path and hit there");
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void ASegmentBaseSetBeforeTheBlockIsApplied(Engine engine)
    {
        using var m = Setup();
        m.S.Ds = X86Cpu.FromDescriptor(BasedData, 0x00CF_9300_1000_FFFFUL);
        m.Load(a =>
        {
            a.mov(__dword_ptr[esi], ebx);
            a.mov(ecx, __dword_ptr[esi + 4]);
            a.add(__dword_ptr[esi + 4], ebx);
            a.hlt();
        });
        m.Memory.Write(TestMachine.DataAddress + Base + 4, 4, 5);

        m.RunToHlt(engine);

        Assert.Equal(0x1234_5678UL, m.Memory.Read(TestMachine.DataAddress + Base, 4));
        Assert.Equal(0UL, m.Memory.Read(TestMachine.DataAddress, 4));
        Assert.Equal(5UL, m.Reg(CpuState.RCX));
        Assert.Equal(0x1234_567DUL, m.Memory.Read(TestMachine.DataAddress + Base + 4, 4));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void ASegmentLoadedInsideTheBlockAppliesToTheNextAccess(Engine engine)
    {
        using var m = Setup();
        m.Load(a =>
        {
            a.mov(__dword_ptr[esi + 8], ebx); // flat DS: DataAddress + 8
            a.mov(eax, BasedData);
            a.mov(ds, ax);
            a.mov(__dword_ptr[esi], ebx); // DS base 0x1000 from here on
            a.mov(ecx, __dword_ptr[esi]);
            a.hlt();
        });

        m.RunToHlt(engine);

        Assert.Equal(0x1234_5678UL, m.Memory.Read(TestMachine.DataAddress + 8, 4));
        Assert.Equal(0x1234_5678UL, m.Memory.Read(TestMachine.DataAddress + Base, 4));
        Assert.Equal(0UL, m.Memory.Read(TestMachine.DataAddress, 4));
        Assert.Equal(0x1234_5678UL, m.Reg(CpuState.RCX));
        if (engine == Engine.Jit)
        {
            Assert.True(m.Cpu.CompiledInstructions > 0);
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void AccessesAcrossAPageBoundaryAndAtTheTopOfTheAddressSpaceMatch(Engine engine)
    {
        using var m = Setup();
        m.Load(a =>
        {
            a.mov(__dword_ptr[esi + 0xFFE], ebx); // straddles two pages
            a.mov(ecx, __dword_ptr[esi + 0xFFD]);
            a.mov(edx, __dword_ptr[edi]); // the same bytes through another register
            a.hlt();
        });
        m.S.Gpr[CpuState.RDI] = TestMachine.DataAddress + 0xFFD;

        m.RunToHlt(engine);

        Assert.Equal(0x1234_5678UL, m.Memory.Read(TestMachine.DataAddress + 0xFFE, 4));
        Assert.Equal(0x3456_7800UL, m.Reg(CpuState.RCX));
        Assert.Equal(0x3456_7800UL, m.Reg(CpuState.RDX));
    }

    [Fact]
    public void TheInlineProbeHitsTheEntryTheTlbFilled()
    {
        // Loads from 15 pages whose page numbers differ in the bits the index folds in (every
        // 1 MiB + 4 KiB), 200 times over, in a compiled loop: after each page's first (checked)
        // access fills its entry, the inline probe must find it. A probe that computed another
        // entry would still give the right values, through the checked path, which counts a
        // TLB hit each time.
        using var m = new TestMachine().LongMode();
        m.Load(a =>
        {
            var outer = a.CreateLabel();
            var inner = a.CreateLabel();
            a.mov(r8d, 200);
            a.Label(ref outer);
            a.mov(rsi, 0x10_0000);
            a.mov(ecx, 15);
            a.Label(ref inner);
            a.add(eax, __dword_ptr[rsi]);
            a.add(rsi, 0x10_1000);
            a.dec(ecx);
            a.jnz(inner);
            a.dec(r8d);
            a.jnz(outer);
            a.hlt();
        });

        RunCompiledAndAssertInline(m, minCompiled: 3000);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void AMisalignedReadAtLinearAddressOneNeverMatchesAnEmptyEntry(Engine engine)
    {
        // An empty TLB entry's tags must not equal what the probe compares them with for any
        // address: for a 2-, 4- or 8-byte access that is the page with the offset's low bits
        // kept (a misaligned access must miss), which is 1 for linear address 1. Both through
        // the current set (its entry for page 0 still empty) and through the set that never
        // hits (a data segment with a base: the probe sees the offset, 1).
        using var m = Setup();
        m.Memory.Write(1, 8, 0x1122_3344_5566_7788UL);
        m.Memory.Write(Base + 1, 8, 0x0102_0304_0506_0708UL);
        m.Load(a =>
        {
            a.mov(esi, 1);
            a.mov(__word_ptr[esi], 0x7799); // a write first: the write tag of the empty entry too
            a.mov(cx, __word_ptr[esi]);
            a.mov(edx, __dword_ptr[esi]);
            a.mov(eax, BasedData);
            a.mov(ds, ax);
            a.mov(__word_ptr[esi], 0x0799);
            a.mov(bx, __word_ptr[esi]);
            a.mov(edi, __dword_ptr[esi]);
            a.hlt();
        });

        m.RunToHlt(engine);

        Assert.Equal(0x7799UL, m.Reg(CpuState.RCX) & 0xFFFF);
        Assert.Equal(0x5566_7799UL, m.Reg(CpuState.RDX));
        Assert.Equal(0x0799UL, m.Reg(CpuState.RBX) & 0xFFFF);
        Assert.Equal(0x0506_0799UL, m.Reg(CpuState.RDI));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void ALoopWhoseAccessesMissTheTlbKeepsItsRegistersAndFlags(Engine engine)
    {
        // Each iteration touches a new page: the load at the loop head (with the CMP's record
        // carried in) and the store (with the ADD's record pending across it, read by the ADC)
        // both take their cold path, which stores everything, calls, and loads everything back
        // (BlockEmitter.EmitCheckedAccess). Registers, memory and flags must come out exact.
        const int Pages = 48;
        using var m = Setup();
        ulong sumLow = 7, carries = 0;
        for (int p = 0; p < Pages; p++)
        {
            ulong value = (0xF000_0000UL + ((ulong)p * 0x0123_4567)) & 0xFFFF_FFFF;
            m.Memory.Write(TestMachine.DataAddress + ((ulong)p * 4096), 4, value);
            ulong sum = sumLow + value;
            carries += sum >> 32;
            sumLow = sum & 0xFFFF_FFFF;
        }

        m.Load(a =>
        {
            var loop = a.CreateLabel();
            a.mov(edx, 7);
            a.xor(eax, eax);
            a.Label(ref loop);
            a.mov(ebx, __dword_ptr[esi]);
            a.add(edx, ebx);
            a.mov(__dword_ptr[esi + 8], edx);
            a.adc(eax, 0);
            a.add(esi, 4096);
            a.cmp(esi, (int)(TestMachine.DataAddress + (Pages * 4096)));
            a.jb(loop);
            a.pushfd();
            a.pop(edi);
            a.hlt();
        });

        m.RunToHlt(engine);

        Assert.Equal(sumLow, m.Reg(CpuState.RDX));
        Assert.Equal(carries, m.Reg(CpuState.RAX));
        Assert.Equal(TestMachine.DataAddress + (Pages * 4096), m.Reg(CpuState.RSI));
        Assert.Equal(Flags.ZF | Flags.PF, m.Reg(CpuState.RDI) & 0x8D5); // from the last CMP (equal): ZF and PF, nothing else
        Assert.Equal(m.Memory.Read(TestMachine.DataAddress + ((Pages - 1) * 4096), 4), m.Reg(CpuState.RBX));
        Assert.Equal(sumLow, m.Memory.Read(TestMachine.DataAddress + ((Pages - 1) * 4096) + 8, 4));
        if (engine == Engine.Jit)
        {
            Assert.True(m.Cpu.CompiledInstructions > Pages * 4, $"{m.Cpu.CompiledInstructions} instructions ran compiled");
        }
    }

    [Fact]
    public void MisalignedAccessesWithinAPageHitTheInlineProbe()
    {
        // 2-, 4- and 8-byte loads and stores at odd offsets inside one page, 200 times over, in a
        // compiled loop: after the first (checked) access fills the page's entry, the inline
        // probe must serve them all, as it does aligned ones. Through the checked path each
        // would count a TLB hit.
        using var m = new TestMachine().LongMode();
        m.Memory.Write(TestMachine.DataAddress + 0x101, 8, 0x0102_0304_0506_0708UL);
        m.Load(a =>
        {
            var loop = a.CreateLabel();
            a.mov(rsi, TestMachine.DataAddress);
            a.mov(ecx, 200);
            a.xor(eax, eax);
            a.Label(ref loop);
            a.add(rax, __qword_ptr[rsi + 0x101]);
            a.add(eax, __dword_ptr[rsi + 0x203]);
            a.mov(__word_ptr[rsi + 0x305], ax);
            a.mov(__qword_ptr[rsi + 0x407], rax);
            a.dec(ecx);
            a.jnz(loop);
            a.hlt();
        });

        RunCompiledAndAssertInline(m, minCompiled: 900);
        ulong expected = 0;
        for (int k = 0; k < 200; k++)
        {
            expected += 0x0102_0304_0506_0708UL;
            expected = (uint)(expected + (uint)m.Memory.Read(TestMachine.DataAddress + 0x203, 4));
        }

        Assert.Equal(expected, m.Reg(CpuState.RAX));
        Assert.Equal(expected, m.Memory.Read(TestMachine.DataAddress + 0x407, 8));
        Assert.Equal(expected & 0xFFFF, m.Memory.Read(TestMachine.DataAddress + 0x305, 2));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void MisalignedAccessesThatCrossIntoAPageMappedElsewhereUseBothPages(Engine engine)
    {
        // Linear 0x400000 and 0x401000 map (4 KiB pages) to physical 0x500000 and 0x600000; the
        // physical page after the first holds other bytes. The same loads run over addresses that
        // stay in the first page, cross into the second, and stay in it, with the same offset
        // bits below the size in turn (0xFF5, then 0xFFD): a cached page for one must not serve
        // the other. Then a store crosses the boundary.
        const ulong Linear = 0x40_0000, First = 0x50_0000, Second = 0x60_0000, PageTable = TestMachine.PageTableAddress + 0x3000;
        ulong[] addresses = [Linear + 0xFF5, Linear + 0xFFD, Linear + 0xFF5, Linear + 0xFFD, Linear + 0xFF9, Linear + 0x1007, Linear + 0xFF8, Linear + 0xFFF, Linear + 0x2];
        using var m = new TestMachine().LongMode();
        m.Memory.Write(TestMachine.PageTableAddress + 0x2000 + (2 * 8), 8, PageTable | 0x7);
        m.Memory.Write(PageTable, 8, First | 0x7);
        m.Memory.Write(PageTable + 8, 8, Second | 0x7);
        var random = new Random(11);
        foreach (ulong page in (ulong[])[First, First + 0x1000, Second])
        {
            var bytes = new byte[4096];
            random.NextBytes(bytes);
            m.Memory.WriteBytes(page, bytes);
        }

        for (int k = 0; k < addresses.Length; k++)
        {
            m.Memory.Write(TestMachine.DataAddress + (ulong)(8 * k), 8, addresses[k]);
        }

        ulong Physical(ulong linear) => linear - Linear < 0x1000 ? First + (linear - Linear) : Second + (linear - Linear - 0x1000);
        ulong Read(ulong linear, int size)
        {
            ulong value = 0;
            for (int b = size - 1; b >= 0; b--)
            {
                value = (value << 8) | m.Memory.Read(Physical(linear + (ulong)b), 1);
            }

            return value;
        }

        ulong sum8 = 0, sum4 = 0, sum2 = 0;
        foreach (ulong address in addresses)
        {
            sum8 = ulong.RotateLeft(sum8 + Read(address, 8), 5);
            sum4 += Read(address, 4);
            sum2 += Read(address, 2);
        }

        m.Load(a =>
        {
            var loop = a.CreateLabel();
            a.mov(rbx, TestMachine.DataAddress);
            a.mov(ecx, addresses.Length);
            a.xor(r8d, r8d);
            a.xor(r9d, r9d);
            a.xor(r10d, r10d);
            a.Label(ref loop);
            a.mov(rsi, __qword_ptr[rbx]);
            a.mov(rax, __qword_ptr[rsi]);
            a.add(r8, rax);
            a.rol(r8, 5);
            a.mov(edx, __dword_ptr[rsi]);
            a.add(r9, rdx);
            a.movzx(edx, __word_ptr[rsi]);
            a.add(r10, rdx);
            a.add(rbx, 8);
            a.dec(ecx);
            a.jnz(loop);
            a.mov(rdi, Linear + 0xFFB);
            a.mov(__qword_ptr[rdi], r8);
            a.hlt();
        });

        m.RunToHlt(engine);

        Assert.Equal(sum8, m.Reg(8));
        Assert.Equal(sum4, m.Reg(9));
        Assert.Equal(sum2, m.Reg(10));
        Assert.Equal(sum8, Read(Linear + 0xFFB, 8)); // five bytes at the end of the first page, three at the start of the second
        if (engine == Engine.Jit)
        {
            Assert.True(m.Cpu.CompiledInstructions > 50, $"{m.Cpu.CompiledInstructions} instructions ran compiled");
        }
    }

    [Fact]
    public void FsAndGsAccessesIn64BitCodeHitTheInlineProbe()
    {
        // Loads and stores through FS and GS, whose bases (set below, as WRMSR or SWAPGS would)
        // are added to the offset in 64-bit code, 200 times over in a compiled loop: after each
        // page's first (checked) access the inline probe serves them, as it does DS accesses.
        const ulong FsBase = 0x10_0000, GsBase = 0x20_1000;
        using var m = new TestMachine().LongMode();
        m.S.Fs.Base = FsBase;
        m.S.Gs.Base = GsBase;
        m.Memory.Write(FsBase + 0x28, 8, 0x1122_3344_5566_7788UL);
        m.Memory.Write(GsBase + 0x10, 4, 5);
        m.Load(a =>
        {
            var loop = a.CreateLabel();
            a.mov(ecx, 200);
            a.xor(eax, eax);
            a.Label(ref loop);
            a.mov(rdx, __qword_ptr.fs[0x28]);
            a.add(eax, __dword_ptr.gs[0x10]);
            a.mov(__qword_ptr.gs[0x18], rdx);
            a.add(__dword_ptr.gs[0x20], 3);
            a.dec(ecx);
            a.jnz(loop);
            a.hlt();
        });

        RunCompiledAndAssertInline(m, minCompiled: 900);
        Assert.Equal(1000UL, m.Reg(CpuState.RAX));
        Assert.Equal(0x1122_3344_5566_7788UL, m.Memory.Read(GsBase + 0x18, 8));
        Assert.Equal(600UL, m.Memory.Read(GsBase + 0x20, 4));
        Assert.Equal(0UL, m.Memory.Read(0x18, 8));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void AGsBaseChangedInsideATranslationAppliesToTheNextAccess(Engine engine)
    {
        // SWAPGS exchanges GS's base with IA32_KERNEL_GS_BASE and does not end the translation:
        // each GS:[8] read between two of them goes through the base of its moment. Then WRMSR to
        // IA32_GS_BASE (which does end it) moves the base on by a page for the next iteration.
        const ulong UserBase = 0x30_0000, KernelBase = 0x38_0000;
        const int Iterations = 12;
        using var m = new TestMachine().LongMode();
        m.S.Gs.Base = UserBase;
        m.S.KernelGsBase = KernelBase;
        m.Memory.Write(KernelBase + 8, 8, 1UL << 40);
        ulong expected = 0;
        for (int k = 0; k < Iterations; k++)
        {
            ulong user = (ulong)(k + 1) * 0x0101_0101;
            m.Memory.Write(UserBase + ((ulong)k * 0x1000) + 8, 8, user);
            expected += user + (1UL << 40) + (user * 3);
        }

        m.Load(a =>
        {
            var loop = a.CreateLabel();
            a.mov(r8, UserBase);
            a.mov(r9d, Iterations);
            a.xor(ebx, ebx);
            a.Label(ref loop);
            a.add(rbx, __qword_ptr.gs[8]);     // the user base
            a.swapgs();
            a.add(rbx, __qword_ptr.gs[8]);     // the kernel base
            a.swapgs();
            a.mov(rax, __qword_ptr.gs[8]);     // the user base again
            a.lea(rax, __qword_ptr[rax + (rax * 2)]);
            a.add(rbx, rax);
            a.add(r8, 0x1000);
            a.mov(ecx, 0xC000_0101); // IA32_GS_BASE
            a.mov(eax, r8d);
            a.mov(rdx, r8);
            a.shr(rdx, 32);
            a.wrmsr();
            a.dec(r9d);
            a.jnz(loop);
            a.hlt();
        });

        m.RunToHlt(engine);

        Assert.Equal(expected, m.Reg(CpuState.RBX));
        Assert.Equal(UserBase + (Iterations * 0x1000UL), m.S.Gs.Base);
        if (engine == Engine.Jit)
        {
            Assert.True(m.Cpu.CompiledInstructions > Iterations * 8, $"{m.Cpu.CompiledInstructions} instructions ran compiled");
        }
    }
}
