using Emulator.Cpu.State;
using Emulator.TestKit;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Instructions;

/// <summary>
/// Real-mode string instructions (SDM Vol. 2B MOVS/STOS/CMPS/SCAS/LODS, REP/REPE/REPNE): both
/// directions, termination by CX and by ZF, and 16-bit offset wraparound. Expected values follow
/// the SDM's operation sections: linear = segment * 16 + offset, SI/DI step by the element size.
/// </summary>
public class StringTests
{
    private const ushort Source = 0x2000, Dest = 0x3000; // DS and ES

    private static TestMachine Machine()
    {
        var m = new TestMachine().RealMode();
        m.S.Ds = SegmentRegister.RealMode(Source);
        m.S.Es = SegmentRegister.RealMode(Dest);
        return m;
    }

    private static byte[] ReadBytes(TestMachine m, ulong linear, int count) =>
        [.. Enumerable.Range(0, count).Select(k => (byte)m.Memory.Read(linear + (ulong)k, 1))];

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void RepMovsbCopiesForwardAndBackward(Engine engine)
    {
        byte[] data = [1, 2, 3, 4, 5, 6, 7, 8];
        using var m = Machine();
        m.Memory.WriteBytes((Source << 4) + 0x500UL, data);
        m.Load(a =>
        {
            a.mov(si, 0x500);
            a.mov(di, 0x600);
            a.mov(cx, 8);
            a.cld();
            a.rep.movsb();
            a.mov(bx, si);
            a.mov(dx, di);
            // Backward: copy the same bytes again to 0x700, starting from the last one.
            a.mov(si, 0x507);
            a.mov(di, 0x707);
            a.mov(cx, 8);
            a.std();
            a.rep.movsb();
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(data, ReadBytes(m, (Dest << 4) + 0x600UL, 8));
        Assert.Equal(data, ReadBytes(m, (Dest << 4) + 0x700UL, 8));
        Assert.Equal(0x508UL, m.Reg(CpuState.RBX));
        Assert.Equal(0x608UL, m.Reg(CpuState.RDX) & 0xFFFF); // EDX's upper half holds the reset signature
        Assert.Equal(0x4FFUL, m.Reg(CpuState.RSI));
        Assert.Equal(0x6FFUL, m.Reg(CpuState.RDI));
        Assert.Equal(0UL, m.Reg(CpuState.RCX));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void RepStoswFillsWordsInBothDirections(Engine engine)
    {
        using var m = Machine();
        m.Load(a =>
        {
            a.mov(ax, 0xBEEF);
            a.mov(di, 0x100);
            a.mov(cx, 4);
            a.cld();
            a.rep.stosw();
            a.mov(bx, di);
            a.mov(ax, 0x1234);
            a.mov(di, 0x206);
            a.mov(cx, 4);
            a.std();
            a.rep.stosw();
            a.hlt();
        }).RunToHlt(engine);

        for (ulong k = 0; k < 4; k++)
        {
            Assert.Equal(0xBEEFUL, m.Memory.Read((Dest << 4) + 0x100 + (2 * k), 2));
            Assert.Equal(0x1234UL, m.Memory.Read((Dest << 4) + 0x200 + (2 * k), 2));
        }

        Assert.Equal(0UL, m.Memory.Read((Dest << 4) + 0x108, 2));
        Assert.Equal(0x108UL, m.Reg(CpuState.RBX));
        Assert.Equal(0x1FEUL, m.Reg(CpuState.RDI));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void RepeCmpsbStopsAtTheFirstDifference(Engine engine)
    {
        using var m = Machine();
        m.Memory.WriteBytes((Source << 4) + 0x10UL, "ABCDxF"u8.ToArray());
        m.Memory.WriteBytes((Dest << 4) + 0x20UL, "ABCDyF"u8.ToArray());
        m.Load(a =>
        {
            a.mov(si, 0x10);
            a.mov(di, 0x20);
            a.mov(cx, 6);
            a.cld();
            a.repe.cmpsb();
            a.hlt();
        }).RunToHlt(engine);

        // Five comparisons ran (the fifth differs): CX = 1, both pointers past 'x'/'y', ZF = 0, CF = ('x' < 'y').
        Assert.Equal(1UL, m.Reg(CpuState.RCX));
        Assert.Equal(0x15UL, m.Reg(CpuState.RSI));
        Assert.Equal(0x25UL, m.Reg(CpuState.RDI));
        Assert.Equal(0UL, m.S.Rflags & Flags.ZF);
        Assert.Equal(Flags.CF, m.S.Rflags & Flags.CF);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void RepneScasbFindsTheTerminator(Engine engine)
    {
        using var m = Machine();
        m.Memory.WriteBytes((Dest << 4) + 0x40UL, "hello\0"u8.ToArray());
        m.Load(a =>
        {
            a.xor(al, al);
            a.mov(di, 0x40);
            a.mov(cx, 0xFFFF);
            a.cld();
            a.repne.scasb();
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(0x46UL, m.Reg(CpuState.RDI));
        Assert.Equal(0xFFFFUL - 6, m.Reg(CpuState.RCX));
        Assert.Equal(Flags.ZF, m.S.Rflags & Flags.ZF);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void RepeScasbRunsOutOfCount(Engine engine)
    {
        using var m = Machine();
        m.Memory.WriteBytes((Dest << 4) + 0x40UL, "aaaa"u8.ToArray());
        m.Load(a =>
        {
            a.mov(al, (byte)'a');
            a.mov(di, 0x40);
            a.mov(cx, 4);
            a.cld();
            a.repe.scasb();
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(0UL, m.Reg(CpuState.RCX));
        Assert.Equal(0x44UL, m.Reg(CpuState.RDI));
        Assert.Equal(Flags.ZF, m.S.Rflags & Flags.ZF);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void SegmentArithmeticAndOffsetWraparound(Engine engine)
    {
        using var m = Machine();
        m.Memory.Write(0x12350, 1, 0x5A); // 1234:0010
        m.Memory.Write(0x12340 + 0xFFFF, 1, 0x77); // 1234:FFFF = 0x2233F
        m.Memory.Write(0x12340, 1, 0x66); // 1234:0000, where SI wraps to
        m.Load(a =>
        {
            a.mov(ax, 0x1234);
            a.mov(ds, ax);
            a.mov(si, 0x10);
            a.mov(bl, __byte_ptr[si]);
            a.mov(si, 0xFFFF);
            a.cld();
            a.lodsb(); // reads 1234:FFFF, SI wraps to 0000 (16-bit address size)
            a.mov(bh, al);
            a.lodsb();
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(0x5AUL, m.Reg(CpuState.RBX) & 0xFF);
        Assert.Equal(0x77UL, (m.Reg(CpuState.RBX) >> 8) & 0xFF);
        Assert.Equal(0x66UL, m.Reg(CpuState.RAX) & 0xFF);
        Assert.Equal(1UL, m.Reg(CpuState.RSI));
    }
}
