using Emulator.Cpu.State;
using Emulator.Mmu;
using Emulator.TestKit;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Instructions;

/// <summary>IN and OUT (SDM Vol. 2A IN, Vol. 2B OUT) reaching a device mapped in the port space.</summary>
public class SystemTests
{
    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void InAndOutReachAMappedDevice(Engine engine)
    {
        using var m = new TestMachine().RealMode();
        var device = new RecordingDevice();
        m.Ports.Map(0x3F0, 8, device);
        m.Load(a =>
        {
            a.mov(al, 0x5A);
            a.@out(0xF1, al); // unmapped: ignored
            a.mov(dx, 0x3F2);
            a.@out(dx, al);
            a.mov(ax, 0xBEEF);
            a.@out(dx, ax);
            a.mov(eax, 0x1234_5678);
            a.@out(dx, eax);
            a.@in(al, dx);
            a.mov(bl, al);
            a.@in(ax, dx);
            a.mov(cx, ax);
            a.mov(dx, 0xF0); // unmapped port reads all ones
            a.@in(al, dx);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(["w 2/1 5a", "w 2/2 beef", "w 2/4 12345678", "r 2/1", "r 2/2"], device.Accesses);
        Assert.Equal(0x42UL, m.Reg(CpuState.RBX) & 0xFF);
        Assert.Equal(0x4242UL, m.Reg(CpuState.RCX) & 0xFFFF);
        Assert.Equal(0xFFUL, m.Reg(CpuState.RAX) & 0xFF);
    }

    private sealed class RecordingDevice : IBusDevice
    {
        public List<string> Accesses { get; } = [];

        public string Name => "recorder";

        public ulong Read(ulong offset, int size)
        {
            Accesses.Add($"r {offset}/{size}");
            return size == 1 ? 0x42UL : 0x4242UL;
        }

        public void Write(ulong offset, int size, ulong value) => Accesses.Add($"w {offset}/{size} {value:x}");

        public void Reset() => Accesses.Clear();
    }
}
