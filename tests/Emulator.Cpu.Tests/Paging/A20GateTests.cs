using Emulator.Mmu;
using Emulator.TestKit;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Paging;

/// <summary>
/// The A20 gate (SDM Vol. 3A 21.33.2; the 8042 output port and port 92h drive it on a PC): while it
/// is disabled physical address bit 20 is forced to 0, so 0x100000 + x reads and writes x, as the
/// 8086 wrapped at 1 MiB. Every engine, with the gate switched before the run and in the middle of
/// it by an OUT (which must drop translations the TLB and the compiled code already hold).
/// </summary>
public class A20GateTests
{
    private const ushort GatePort = 0xEE;
    private const uint Low = 0x5000, High = 0x10_5000;

    /// <summary>A port whose bit 1 drives the gate, as port 92h's does on the board.</summary>
    private sealed class GateDevice(TestMachine m) : IBusDevice
    {
        public string Name => "a20-test-gate";

        public ulong Read(ulong offset, int size) => m.Memory.A20Enabled ? 2UL : 0UL;

        public void Write(ulong offset, int size, ulong value) => m.Memory.A20Enabled = (value & 2) != 0;

        public void Reset() => m.Memory.A20Enabled = true;
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void RealModeFfff0010AliasesZeroWhileA20IsOff(Engine engine)
    {
        foreach (bool enabled in new[] { false, true })
        {
            using var m = new TestMachine().RealMode();
            m.Memory.A20Enabled = enabled;
            m.Memory.Write(0x100, 2, 0x1111);
            m.Memory.Write(0x10_0100, 2, 0x2222);
            m.Load(a =>
            {
                a.mov(ax, 0xFFFF);
                a.mov(ds, ax);
                a.mov(bx, __word_ptr[0x110]); // FFFF:0110 = linear 0x100100
                a.mov(__word_ptr[0x120], 0x3333); // linear 0x100110
                a.hlt();
            }).RunToHlt(engine);

            Assert.Equal(enabled ? 0x2222UL : 0x1111UL, m.Reg(3) & 0xFFFF);
            Assert.Equal(enabled ? 0UL : 0x3333UL, m.Memory.Read(0x110, 2));
            Assert.Equal(enabled ? 0x3333UL : 0UL, m.Memory.Read(0x10_0110, 2));
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void WritesThroughTheHighAliasLandLowWhileA20IsOff(Engine engine)
    {
        using var m = new TestMachine().ProtectedMode32();
        m.Memory.A20Enabled = false;
        m.Load(a =>
        {
            a.mov(__dword_ptr[High + 0x10], 0xAABB_CCDD);
            a.mov(eax, __dword_ptr[Low + 0x10]);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(0xAABB_CCDDUL, m.Reg(0));
        Assert.Equal(0xAABB_CCDDUL, m.Memory.Read(Low + 0x10, 4));
        Assert.Equal(0UL, m.Memory.Read(High + 0x10, 4));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void SwitchingTheGateMidRunDropsCachedTranslations(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        m.Ports.Map(GatePort, 1, new GateDevice(m));
        m.Memory.Write(Low, 4, 0x2222_2222);
        m.Memory.Write(High, 4, 0x1111_1111);
        m.Load(a =>
        {
            a.mov(r12d, __dword_ptr[High]); // A20 on: the real 0x105000, now in the TLB
            a.xor(eax, eax);
            a.@out((byte)GatePort, al); // gate off
            a.mov(r13d, __dword_ptr[High]); // aliases 0x5000
            a.mov(__dword_ptr[High + 4], 0x3333_3333); // lands at 0x5004
            a.mov(al, 2);
            a.@out((byte)GatePort, al); // gate on again
            a.mov(r14d, __dword_ptr[High]);
            a.mov(r15d, __dword_ptr[High + 4]);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(0x1111_1111UL, m.Reg(12));
        Assert.Equal(0x2222_2222UL, m.Reg(13));
        Assert.Equal(0x1111_1111UL, m.Reg(14));
        Assert.Equal(0UL, m.Reg(15));
        Assert.Equal(0x3333_3333UL, m.Memory.Read(Low + 4, 4));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void PageWalksGoThroughTheGate(Engine engine)
    {
        // The long-mode tables sit at 0x200000; with A20 off a CR3 of 0x300000 (bit 20 set) names
        // the same tables, so paging keeps working, while with A20 on 0x300000 holds zeros.
        using var m = new TestMachine().LongMode();
        m.Memory.A20Enabled = false;
        m.Memory.Write(0x6000, 8, 0x0123_4567_89AB_CDEF);
        m.Load(a =>
        {
            a.mov(rax, 0x30_0000UL);
            a.mov(cr3, rax);
            a.mov(rbx, __qword_ptr[0x6000]);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(0x0123_4567_89AB_CDEFUL, m.Reg(3));
    }
}
