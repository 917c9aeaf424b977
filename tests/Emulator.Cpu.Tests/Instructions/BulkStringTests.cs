using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.Cpu.Tests.Exceptions;
using Emulator.TestKit;
using Xunit;
using static Emulator.Cpu.Tests.Paging.GuestPageTables;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Instructions;

/// <summary>
/// REP MOVS and REP STOS in 64-bit and flat 32-bit code, where the interpreter moves a page's
/// worth of elements at a time: runs that cross pages in both directions, overlapping copies
/// (whose result the element order defines, SDM Vol. 2B MOVS), a fault part-way through (the
/// registers and memory show the elements done, SDM Vol. 2B REP: "the instruction can be
/// restarted"), stores into the page being executed, and the count cap that lets interrupts in.
/// Expected values are computed element by element here, as the SDM's operation sections read.
/// </summary>
public class BulkStringTests
{
    private const ulong Src = 0x80_0123, Dst = 0xA0_0F00;

    private static byte[] Pattern(int count) => [.. Enumerable.Range(0, count).Select(k => (byte)((k * 7) + 3))];

    private static byte[] ReadBytes(TestMachine m, ulong address, int count) =>
        [.. Enumerable.Range(0, count).Select(k => (byte)m.Memory.Read(address + (ulong)k, 1))];

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void RepMovsqCopiesAcrossPagesForwardAndBackward(Engine engine)
    {
        const int count = 1500; // 12,000 bytes: four pages at each end, unaligned
        byte[] data = Pattern(count * 8);
        using var m = new TestMachine().LongMode();
        m.Memory.WriteBytes(Src, data);
        m.Load(a =>
        {
            a.mov(rsi, Src);
            a.mov(rdi, Dst);
            a.mov(ecx, count);
            a.cld();
            a.rep.movsq();
            a.mov(r8, rsi);
            a.mov(r9, rdi);

            // Backward, as Linux's decompressor moves itself: from the last element down.
            a.mov(rsi, Src + ((count - 1) * 8));
            a.mov(rdi, Dst + 0x10_0000 + ((count - 1) * 8));
            a.mov(ecx, count);
            a.std();
            a.rep.movsq();
            a.cld();
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(data, ReadBytes(m, Dst, count * 8));
        Assert.Equal(data, ReadBytes(m, Dst + 0x10_0000, count * 8));
        Assert.Equal(Src + (count * 8), m.Reg(8));
        Assert.Equal(Dst + (count * 8), m.Reg(9));
        Assert.Equal(Src - 8, m.Reg(CpuState.RSI));
        Assert.Equal(Dst + 0x10_0000 - 8, m.Reg(CpuState.RDI));
        Assert.Equal(0UL, m.Reg(CpuState.RCX));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void OverlappingCopiesFollowTheElementOrder(Engine engine)
    {
        // Forward with the destination 1 byte above the source: each byte copies the one just
        // written, so the first byte fills the run. Forward MOVSQ 3 bytes up: each element reads
        // 5 bytes of the previous store. Backward with the destination below the source: a
        // memmove would keep the data; element order smears the last element down.
        const ulong a1 = 0x80_0000, a2 = 0x90_0000, a3 = 0xB0_0000;
        byte[] data = Pattern(9000);
        using var m = new TestMachine().LongMode();
        m.Memory.WriteBytes(a1, data);
        m.Memory.WriteBytes(a2, data);
        m.Memory.WriteBytes(a3, data);
        m.Load(a =>
        {
            a.cld();
            a.mov(rsi, a1);
            a.mov(rdi, a1 + 1);
            a.mov(ecx, 8000);
            a.rep.movsb();
            a.mov(rsi, a2);
            a.mov(rdi, a2 + 3);
            a.mov(ecx, 1000);
            a.rep.movsq();
            a.std();
            a.mov(rsi, a3 + 8000);
            a.mov(rdi, a3 + 8000 - 2);
            a.mov(ecx, 2000);
            a.rep.movsd();
            a.cld();
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(ElementCopy(data, 0, 1, 1, 8000, up: true), ReadBytes(m, a1, 9000));
        Assert.Equal(ElementCopy(data, 0, 3, 8, 1000, up: true), ReadBytes(m, a2, 9000));
        Assert.Equal(ElementCopy(data, 8000, 8000 - 2, 4, 2000, up: false), ReadBytes(m, a3, 9000));
    }

    /// <summary>The SDM's MOVS loop over a copy of <paramref name="memory"/>: read an element, write it, step.</summary>
    private static byte[] ElementCopy(byte[] memory, int src, int dst, int size, int count, bool up)
    {
        byte[] r = [.. memory];
        for (int k = 0; k < count; k++)
        {
            byte[] element = r[src..(src + size)];
            element.CopyTo(r, dst);
            src += up ? size : -size;
            dst += up ? size : -size;
        }

        return r;
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void RepStosFillsPatternsAndZeroesAcrossPages(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        m.Memory.WriteBytes(Dst, Pattern(0x6000));
        m.Load(a =>
        {
            a.cld();
            a.mov(eax, 0x11223344);
            a.mov(rdi, Dst + 2);
            a.mov(ecx, 0x900);
            a.rep.stosd();
            a.mov(r8, rdi);
            a.xor(eax, eax);
            a.mov(rdi, Dst + 0x5000);
            a.mov(ecx, 0xC01);
            a.std();
            a.rep.stosb();
            a.cld();
            a.hlt();
        }).RunToHlt(engine);

        byte[] expected = Pattern(0x6000);
        for (int k = 0; k < 0x900; k++)
        {
            BitConverter.GetBytes(0x11223344u).CopyTo(expected, 2 + (4 * k));
        }

        for (int k = 0; k < 0xC01; k++)
        {
            expected[0x5000 - k] = 0;
        }

        Assert.Equal(expected, ReadBytes(m, Dst, 0x6000));
        Assert.Equal(Dst + 2 + (4 * 0x900), m.Reg(8));
        Assert.Equal(Dst + 0x5000 - 0xC01, m.Reg(CpuState.RDI));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void AFaultPartWayLeavesTheElementsDoneAndRestartableRegisters(Engine engine)
    {
        // The 2 MiB page at 6 MiB is not present: a copy running into it from below stops at its
        // first byte with #PF, RCX counting the elements left and the ones before it written.
        const ulong end = 0x60_0000;
        byte[] data = Pattern(0x3000);
        using var m = new TestMachine().LongMode();
        LongModeIdt.Install(m);
        m.Memory.Write(PdeAddress(end), 8, 0);
        m.Memory.WriteBytes(Src, data);
        m.Load(a =>
        {
            a.cld();
            a.mov(rsi, Src);
            a.mov(rdi, end - 0x2000);
            a.mov(ecx, 0x600);
            a.rep.movsq();
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal((ulong)Vector.PF, m.Reg(8));
        Assert.Equal(end, m.Reg(11));
        Assert.Equal(0x600UL - 0x400, m.Reg(CpuState.RCX));
        Assert.Equal(end, m.Reg(CpuState.RDI));
        Assert.Equal(Src + 0x2000, m.Reg(CpuState.RSI));
        Assert.Equal(data[..0x2000], ReadBytes(m, end - 0x2000, 0x2000));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void StoresOverTheCodeBeingRunAreSeen(Engine engine)
    {
        // REP STOSB over the instructions that follow it: NOPs replace "mov ebx, 1", so EBX stays 7.
        using var m = new TestMachine().LongMode();
        m.Load(a =>
        {
            var target = a.CreateLabel();
            a.mov(ebx, 7);
            a.mov(al, 0x90);
            a.lea(rdi, __[target]);
            a.mov(ecx, 5);
            a.cld();
            a.rep.stosb();
            a.Label(ref target);
            a.mov(ebx, 1);
            a.hlt();
        });
        m.RunToHlt(engine);

        Assert.Equal(7UL, m.Reg(CpuState.RBX));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void FlatProtectedModeCopiesInBulkToo(Engine engine)
    {
        const int count = 5000;
        byte[] data = Pattern(count * 2);
        using var m = new TestMachine().ProtectedMode32();
        m.Memory.WriteBytes(Src, data);
        m.Load(a =>
        {
            a.cld();
            a.mov(esi, (uint)Src);
            a.mov(edi, (uint)Dst);
            a.mov(ecx, count);
            a.rep.movsw();
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(data, ReadBytes(m, Dst, count * 2));
        Assert.Equal(Src + (count * 2), m.Reg(CpuState.RSI));
        Assert.Equal(0UL, m.Reg(CpuState.RCX));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void ALongRepYieldsToTheRunLoopEveryStep(Engine engine)
    {
        // 40,000 elements take three passes of StringOps.IterationsPerStep; a budget of five
        // instructions stops after the first pass with the count part-way down.
        using var m = new TestMachine().LongMode();
        m.Load(a =>
        {
            a.cld();
            a.xor(eax, eax);
            a.mov(rdi, Dst);
            a.mov(ecx, 40_000);
            a.rep.stosb();
            a.hlt();
        });
        m.Run(engine, budget: 5);
        Assert.Equal(40_000UL - Emulator.Cpu.Instructions.StringOps.IterationsPerStep, m.Reg(CpuState.RCX));
        m.RunToHlt(engine);
        Assert.Equal(0UL, m.Reg(CpuState.RCX));
        Assert.Equal(Dst + 40_000, m.Reg(CpuState.RDI));
    }
}
