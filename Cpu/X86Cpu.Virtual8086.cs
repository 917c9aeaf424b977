using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;

namespace Emulator.Cpu;

/// <summary>
/// Virtual-8086 mode (SDM Vol. 3A chapter 20) as far as it touches segments and interrupt
/// delivery: 8086 segments (base = selector * 16, limit FFFFh, CPL 3; 20.1.1), and leaving to a
/// protected-mode handler on an interrupt or exception with GS, FS, DS and ES saved on the ring-0
/// stack and cleared (20.3.1.1, figure 20-2). Entry through IRET is in Instructions/Virtual8086.cs,
/// through a task switch in X86Cpu.Tasks.cs. VME and PVI (20.4) are not implemented.
/// </summary>
public sealed partial class X86Cpu
{
    /// <summary>A virtual-8086 segment: base = selector * 16, limit FFFFh, DPL 3, present, accessed (SDM 20.1.1).</summary>
    public static SegmentRegister Virtual8086Segment(ushort selector, bool code = false) => new()
    {
        Selector = selector,
        Base = (ulong)selector << 4,
        Limit = 0xFFFF,
        Attributes = (ushort)(SegmentRegister.AttrPresent | SegmentRegister.AttrS | SegmentRegister.AttrWritable | SegmentRegister.AttrAccessed
            | (code ? SegmentRegister.AttrCode : 0) | (3 << 5)),
    };

    /// <summary>Loads ES, CS, SS, DS, FS and GS (in Sreg order) as virtual-8086 segments.</summary>
    internal void LoadVirtual8086Segments(ReadOnlySpan<ushort> selectors)
    {
        ref CpuState s = ref S;
        for (int k = 0; k < 6; k++)
        {
            s.Segment((Seg)k) = Virtual8086Segment(selectors[k], code: k == (int)Seg.CS);
        }
    }

    /// <summary>
    /// An interrupt or exception in virtual-8086 mode may only go to a nonconforming ring-0 code
    /// segment: anything else is #GP(new CS selector) (SDM Vol. 2A INT n, "IF VM = 1 and code
    /// segment DPL != 0", and the conforming-or-same-level branch taken with VM = 1).
    /// </summary>
    private bool CheckVirtual8086Handler(in SegmentRegister target, ushort selector)
    {
        bool conforming = (target.Attributes & SegmentRegister.AttrConforming) != 0;
        return (!conforming && target.Dpl == 0) || RaiseFault(Vector.GP, (uint)(selector & ~3));
    }

    /// <summary>
    /// The first part of the frame an interrupt from virtual-8086 mode builds on the ring-0 stack
    /// (SDM 20.3.1.1, figure 20-2): GS, FS, DS and ES, each in a slot of the gate's width, before
    /// SS, ESP, EFLAGS, CS, EIP and the error code.
    /// </summary>
    private bool PushVirtual8086Segments(in CpuState before, int width)
    {
        return Push(before.Gs.Selector, width) && Push(before.Fs.Selector, width) && Push(before.Ds.Selector, width) && Push(before.Es.Selector, width);
    }

    /// <summary>The handler runs with null DS, ES, FS and GS (SDM 20.3.1.1): it must load its own.</summary>
    private void ClearVirtual8086DataSegments()
    {
        ref CpuState s = ref S;
        s.Es = default;
        s.Ds = default;
        s.Fs = default;
        s.Gs = default;
    }
}
