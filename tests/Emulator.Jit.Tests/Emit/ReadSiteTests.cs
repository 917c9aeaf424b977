using Emulator.Cpu.State;
using Emulator.TestKit;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.Tests.Emit;

/// <summary>
/// Read sites (BlockEmitter.ReadSites.cs): a read in a loop remembers the page it read last and
/// reads through it again while the address stays in that page. It must refill when the address
/// leaves the page and not outlive a change of mapping (INVLPG ends the translation). The write
/// tests pin the inline stores of such loops (across pages that are not adjacent; into code the
/// loop runs) for write sites, which were measured slower and left out (Jit/README.md).
/// </summary>
public class ReadSiteTests
{
    /// <summary>Long mode with linear 8 MiB and 10 MiB (two 2 MiB pages) mapped the other way round.</summary>
    private static TestMachine SwappedPages()
    {
        ulong pd = TestMachine.PageTableAddress + 0x2000;
        var m = new TestMachine().LongMode();
        m.Memory.Write(pd + (4 * 8), 8, 0xA0_0000 | 0x87);
        m.Memory.Write(pd + (5 * 8), 8, 0x80_0000 | 0x87);
        return m;
    }

    /// <summary>The physical address of a linear one between 8 and 12 MiB in <see cref="SwappedPages"/>.</summary>
    private static ulong Physical(ulong linear) => linear ^ 0x20_0000;

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void ALoopReadingAcrossPagesSeesEveryValue(Engine engine)
    {
        // Many reads per page (the site hits), two 4 KiB page changes and one into a 2 MiB page
        // that is not next to the first in guest physical (and host) memory: linear 8 MiB and
        // 10 MiB are mapped the other way round, so the site must refill there, not go on with
        // the old page's difference. Word reads at odd addresses in between are misaligned and
        // never go through a site.
        const int Count = 1536; // dwords: 6 KiB from 2 KiB below linear 10 MiB
        const ulong Array = 0xA0_0000 - 0x800;
        using var m = SwappedPages();
        ulong sum = 0, odd = 0;
        for (int n = 0; n < Count; n++)
        {
            ulong value = (ulong)(n * 2654435761L) & 0xFFFF_FFFF;
            m.Memory.Write(Physical(Array + ((ulong)n * 4)), 4, value);
        }

        for (int n = 0; n < Count; n++)
        {
            ulong at = Array + ((ulong)n * 4);
            sum = (sum + m.Memory.Read(Physical(at), 4)) & 0xFFFF_FFFF;
            odd = (odd + m.Memory.Read(Physical(at + 1), 2)) & 0xFFFF_FFFF; // within one 2 MiB page: at + 1 is 1 mod 4
        }

        m.Load(a =>
        {
            var loop = a.CreateLabel();
            a.mov(rsi, (long)Array);
            a.mov(ecx, Count);
            a.xor(eax, eax);
            a.xor(edx, edx);
            a.Label(ref loop);
            a.add(eax, __dword_ptr[rsi]);
            a.movzx(ebx, __word_ptr[rsi + 1]);
            a.add(edx, ebx);
            a.add(rsi, 4);
            a.sub(ecx, 1);
            a.jnz(loop);
            a.hlt();
        });

        m.RunToHlt(engine);

        Assert.Equal(sum, m.Reg(CpuState.RAX));
        Assert.Equal(odd, m.Reg(CpuState.RDX));
        if (engine == Engine.Jit)
        {
            Assert.True(m.Cpu.CompiledInstructions > Count * 4, $"{m.Cpu.CompiledInstructions} instructions ran compiled");
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void AReadAfterInvlpgGoesThroughTheNewMapping(Engine engine)
    {
        // Linear 8 MiB (PD entry 4, a 2 MiB page) maps to physical 8 MiB; the first iteration
        // reads there, then points the entry at physical 10 MiB with an inline store and INVLPG.
        // Every later iteration must read the new page: a site kept across the INVLPG's handler
        // call would go on reading the old one.
        const ulong Linear = 0x80_0000, Other = 0xA0_0000;
        ulong pdEntry = TestMachine.PageTableAddress + 0x2000 + (4 * 8);
        using var m = new TestMachine().LongMode();
        m.Memory.Write(Linear + 0x10, 8, 0x1111);
        m.Memory.Write(Other + 0x10, 8, 0x2222);
        m.Load(a =>
        {
            var loop = a.CreateLabel();
            a.mov(rsi, (long)Linear + 0x10);
            a.mov(rdi, (long)pdEntry);
            a.mov(rdx, (long)(Other | 0x87));
            a.mov(ecx, 6);
            a.xor(ebx, ebx);
            a.Label(ref loop);
            a.mov(rax, __qword_ptr[rsi]);
            a.add(rbx, rax);
            a.mov(__qword_ptr[rdi], rdx);
            a.invlpg(__[rsi]);
            a.sub(ecx, 1);
            a.jnz(loop);
            a.hlt();
        });

        m.RunToHlt(engine);

        Assert.Equal(0x1111UL + (5 * 0x2222UL), m.Reg(CpuState.RBX));
        if (engine == Engine.Jit)
        {
            Assert.True(m.Cpu.CompiledInstructions > 12, $"{m.Cpu.CompiledInstructions} instructions ran compiled");
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void ALoopWritingAcrossPagesWritesEveryValueWhereItBelongs(Engine engine)
    {
        // As the read test: linear 8 MiB and 10 MiB swapped, a run of dwords written across the
        // boundary, so the write site must refill where the physical page is not the next one.
        const int Count = 1536;
        const ulong Array = 0xA0_0000 - 0x800;
        using var m = SwappedPages();
        m.Load(a =>
        {
            var loop = a.CreateLabel();
            a.mov(rdi, (long)Array);
            a.mov(ecx, Count);
            a.mov(eax, 0x1234_5678);
            a.Label(ref loop);
            a.mov(__dword_ptr[rdi], eax);
            a.add(eax, 0x0101_0101);
            a.add(rdi, 4);
            a.sub(ecx, 1);
            a.jnz(loop);
            a.hlt();
        });

        m.RunToHlt(engine);

        for (int n = 0; n < Count; n++)
        {
            ulong expected = (0x1234_5678UL + ((ulong)n * 0x0101_0101)) & 0xFFFF_FFFF;
            Assert.Equal(expected, m.Memory.Read(Physical(Array + ((ulong)n * 4)), 4));
        }

        Assert.Equal(0UL, m.Memory.Read(Array, 4)); // the identity page behind linear 10 MiB - 2 KiB is untouched
        if (engine == Engine.Jit)
        {
            Assert.True(m.Cpu.CompiledInstructions > Count * 3, $"{m.Cpu.CompiledInstructions} instructions ran compiled");
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void ALoopThatWritesIntoCodeItRunsLaterRunsTheNewCode(Engine engine)
    {
        // A loop stores into a data page many times (its write site fills), then into the page
        // of a routine it calls on every iteration: each store to the routine's page must go
        // through the checked path (a page with translated code has no write tag to fill a site
        // with), so the next call runs the rewritten immediate. EBX sums what the routine returns.
        const ulong Routine = TestMachine.CodeAddress + 0x1000;
        using var m = new TestMachine().ProtectedMode32();
        m.Load(a =>
        {
            a.mov(eax, 1); // patched: B8 imm32
            a.ret();
        }, Routine);
        m.Load(a =>
        {
            var loop = a.CreateLabel();
            a.mov(esi, (int)TestMachine.DataAddress);
            a.mov(ecx, 40);
            a.xor(ebx, ebx);
            a.Label(ref loop);
            a.mov(__dword_ptr[esi], ecx); // data page: through the site
            a.mov(__dword_ptr[(int)Routine + 1], ecx); // the routine's immediate: EAX = ECX from now on
            a.call((ulong)Routine);
            a.add(ebx, eax);
            a.sub(ecx, 1);
            a.jnz(loop);
            a.hlt();
        });

        m.RunToHlt(engine);

        Assert.Equal(40UL * 41 / 2, m.Reg(CpuState.RBX)); // each call returns the ECX just stored
        Assert.Equal(1UL, m.Memory.Read(TestMachine.DataAddress, 4));
    }
}
