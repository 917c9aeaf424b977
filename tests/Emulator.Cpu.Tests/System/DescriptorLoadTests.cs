using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.TestKit;
using Xunit;
using static Emulator.TestKit.SystemTables;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.SystemArchitecture;

/// <summary>
/// Segment-register loads and direct far jumps with the checks and error codes of SDM Vol. 3A
/// 5.4-5.8 and the "Protected Mode Exceptions" of MOV (Vol. 2B) and JMP (Vol. 2A): the error
/// code is the selector with its RPL bits cleared (6.13).
/// </summary>
public class DescriptorLoadTests
{
    private const ushort Probe = FirstFree;
    private const uint NoFault = 0x99;

    public sealed record LoadCase(ulong Descriptor, ushort Selector, bool Stack, int Vector, uint Error);

    /// <summary>MOV DS / MOV SS at CPL 0 (SDM Vol. 2B, MOV, "Protected Mode Exceptions").</summary>
    private static readonly Dictionary<string, LoadCase> s_loads = new()
    {
        ["DS readable code is allowed"] = new(Segment(0, 0xFFFFF, CodeExecuteRead), Probe, false, -1, 0),
        ["DS beyond the GDT limit"] = new(0, 0x100, false, Vector.GP, 0x100),
        ["DS in the LDT while LDTR is null"] = new(0, Probe | 4, false, Vector.GP, Probe | 4),
        ["DS system descriptor (TSS)"] = new(SystemTables.System(0x3000, 0x67, Tss32Available), Probe, false, Vector.GP, Probe),
        ["DS execute-only code"] = new(Segment(0, 0xFFFFF, CodeExecuteOnly), Probe, false, Vector.GP, Probe),
        ["DS DPL below RPL"] = new(Segment(0, 0xFFFFF, DataReadWrite, dpl: 2), Probe | 3, false, Vector.GP, Probe),
        ["DS not present"] = new(Segment(0, 0xFFFFF, DataReadWrite, present: false), Probe, false, Vector.NP, Probe),
        ["SS null"] = new(0, 0, true, Vector.GP, 0),
        ["SS read-only data"] = new(Segment(0, 0xFFFFF, DataReadOnly), Probe, true, Vector.GP, Probe),
        ["SS code"] = new(Segment(0, 0xFFFFF, CodeExecuteRead), Probe, true, Vector.GP, Probe),
        ["SS RPL not CPL"] = new(Segment(0, 0xFFFFF, DataReadWrite), Probe | 1, true, Vector.GP, Probe),
        ["SS DPL not CPL"] = new(Segment(0, 0xFFFFF, DataReadWrite, dpl: 3), Probe, true, Vector.GP, Probe),
        ["SS not present"] = new(Segment(0, 0xFFFFF, DataReadWrite, present: false), Probe, true, Vector.SS, Probe),
    };

    public static TheoryData<Engine, string> Loads => Cases(s_loads.Keys);

    /// <summary>Direct far JMP at CPL 0 (SDM Vol. 2A, JMP; Vol. 3A 5.8.1).</summary>
    private static readonly Dictionary<string, (ulong Descriptor, ushort Selector, uint Offset, int Vector, uint Error)> s_jumps = new()
    {
        ["null selector"] = (0, 0, 0, Vector.GP, 0),
        ["data segment"] = (Segment(0, 0xFFFFF, DataReadWrite), Probe, 0, Vector.GP, Probe),
        ["nonconforming code with DPL above CPL"] = (Segment(0, 0xFFFFF, CodeExecuteRead, dpl: 3), Probe, 0, Vector.GP, Probe),
        ["nonconforming code with RPL above CPL"] = (Segment(0, 0xFFFFF, CodeExecuteRead), Probe | 3, 0, Vector.GP, Probe),
        ["code not present"] = (Segment(0, 0xFFFFF, CodeExecuteRead, present: false), Probe, 0, Vector.NP, Probe),
        ["offset beyond the limit"] = (Segment(0, 0xFFFF, CodeExecuteRead, granular: false), Probe, 0x1_0000, Vector.GP, 0),
    };

    public static TheoryData<Engine, string> Jumps => Cases(s_jumps.Keys);

    private static TheoryData<Engine, string> Cases(IEnumerable<string> names)
    {
        var data = new TheoryData<Engine, string>();
        foreach (var engine in Enum.GetValues<Engine>())
        {
            foreach (string name in names)
            {
                data.Add(engine, name);
            }
        }

        return data;
    }

    private static TestMachine Machine()
    {
        var m = new TestMachine().ProtectedMode32();
        ProtectedModeIdt.Install(m);
        SetGdt(m, Probe, 0);
        return m;
    }

    [Theory]
    [MemberData(nameof(Loads))]
    public void SegmentRegisterLoadChecksTheDescriptor(Engine engine, string name)
    {
        var c = s_loads[name];
        using var m = Machine();
        SetGdt(m, Probe, c.Descriptor);
        m.Load(a =>
        {
            a.mov(ecx, c.Selector);
            if (c.Stack)
            {
                a.mov(ss, cx);
            }
            else
            {
                a.mov(ds, cx);
            }

            a.mov(edi, NoFault);
            a.hlt();
        }).RunToHlt(engine);
        if (c.Vector < 0)
        {
            Assert.Equal(NoFault, ProtectedModeIdt.RecordedVector(m));
            Assert.Equal(c.Selector, m.S.Ds.Selector);
            Assert.NotEqual(0UL, m.Memory.Read(TestMachine.GdtAddress + Probe + 5, 1) & 1); // the accessed bit is set (SDM 3.4.5.1)
            return;
        }

        Assert.Equal((uint)c.Vector, ProtectedModeIdt.RecordedVector(m));
        Assert.Equal(c.Error, ProtectedModeIdt.ErrorCode(m));
        Assert.Equal((uint)TestMachine.CodeAddress + 5, ProtectedModeIdt.FaultEip(m)); // the MOV Sreg faults
        Assert.Equal(TestMachine.Data, m.S.Ds.Selector);
    }

    [Theory]
    [MemberData(nameof(Jumps))]
    public void FarJumpChecksTheCodeSegment(Engine engine, string name)
    {
        var (descriptor, selector, offset, vector, error) = s_jumps[name];
        using var m = Machine();
        SetGdt(m, Probe, descriptor);
        m.Load(a =>
        {
            a.jmp(selector, offset);
            a.hlt();
        }).RunToHlt(engine);
        Assert.Equal((uint)vector, ProtectedModeIdt.RecordedVector(m));
        Assert.Equal(error, ProtectedModeIdt.ErrorCode(m));
        Assert.Equal((uint)TestMachine.CodeAddress, ProtectedModeIdt.FaultEip(m));
        Assert.Equal((uint)TestMachine.Code32, ProtectedModeIdt.FaultCs(m));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void FarJumpToConformingCodeKeepsTheCallersPrivilege(Engine engine)
    {
        // SDM Vol. 3A 5.8.2.2: a conforming segment with DPL <= CPL may be entered; CPL does not
        // change and CS.RPL is set to the CPL. From ring 3 the HLT there is still #GP(0).
        using var m = Machine();
        InstallRing3(m);
        SetGdt(m, Probe, Segment(0, 0xFFFFF, CodeConformingExecuteRead, dpl: 0));
        m.Load(a =>
        {
            a.jmp(Probe, (uint)TestMachine.CodeAddress + 7);
            a.hlt();
        });
        EnterRing3(m);
        m.RunToHlt(engine);
        Assert.Equal((uint)Vector.GP, ProtectedModeIdt.RecordedVector(m));
        Assert.Equal((uint)TestMachine.CodeAddress + 7, ProtectedModeIdt.FaultEip(m));
        Assert.Equal((uint)Probe | 3, ProtectedModeIdt.FaultCs(m));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void RingThreeCannotLoadARingZeroDataSegment(Engine engine)
    {
        // SDM Vol. 3A 5.6: loading DS needs DPL >= CPL; Data (DPL 0) at CPL 3 is #GP(10h).
        using var m = Machine();
        InstallRing3(m);
        m.Load(a =>
        {
            a.mov(ecx, TestMachine.Data);
            a.mov(ds, cx);
            a.hlt();
        });
        EnterRing3(m);
        m.RunToHlt(engine);
        Assert.Equal((uint)Vector.GP, ProtectedModeIdt.RecordedVector(m));
        Assert.Equal((uint)TestMachine.Data, ProtectedModeIdt.ErrorCode(m));
        Assert.Equal((uint)TestMachine.CodeAddress + 5, ProtectedModeIdt.FaultEip(m));
    }
}
