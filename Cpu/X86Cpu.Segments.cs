using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;

namespace Emulator.Cpu;

/// <summary>
/// Descriptor-table access and segment-register loads (SDM Vol. 3A 3.4 and 5.4-5.8).
/// This covers what a kernel entering protected and long mode needs; issue "system architecture"
/// completes the checks (call gates, conforming-code corners, expand-down limits).
/// </summary>
public sealed partial class X86Cpu
{
    /// <summary>Reads the 8-byte descriptor for <paramref name="selector"/> from the GDT or LDT; #GP(selector) past the limit.</summary>
    public bool ReadDescriptor(ushort selector, out ulong descriptor, out ulong address)
    {
        ref CpuState s = ref S;
        bool local = (selector & 4) != 0;
        ulong tableBase = local ? s.Ldtr.Base : s.Gdtr.Base;
        ulong limit = local ? s.Ldtr.Limit : s.Gdtr.Limit;
        ulong index = (ulong)(selector & ~7);
        address = tableBase + index;
        descriptor = 0;
        if ((local && !s.Ldtr.Present) || index + 7 > limit)
        {
            return RaiseFault(Vector.GP, (uint)(selector & ~3));
        }

        return ReadLinear(address, 8, out descriptor);
    }

    /// <summary>Unpacks a code or data descriptor into a segment register (SDM Vol. 3A 3.4.5, figure 3-8).</summary>
    public static SegmentRegister FromDescriptor(ushort selector, ulong d)
    {
        ulong limit = (d & 0xFFFF) | (((d >> 48) & 0xF) << 16);
        var attributes = (ushort)((d >> 40) & 0xF0FF);
        if ((attributes & SegmentRegister.AttrGranularity) != 0)
        {
            limit = (limit << 12) | 0xFFF;
        }

        return new SegmentRegister
        {
            Selector = selector,
            Base = ((d >> 16) & 0xFFFFFF) | (((d >> 56) & 0xFF) << 24),
            Limit = (uint)limit,
            Attributes = attributes,
        };
    }

    private bool SetAccessed(ulong descriptorAddress, ulong descriptor)
    {
        const ulong accessed = 1UL << 40;
        return (descriptor & accessed) != 0 || WriteLinear(descriptorAddress + 5, 1, (descriptor >> 40) | 1);
    }

    /// <summary>MOV Sreg, POP Sreg, LDS and friends: loads a data or stack segment register.</summary>
    public bool LoadSegment(Seg seg, ushort selector)
    {
        ref CpuState s = ref S;
        if (!s.ProtectedMode || (s.Rflags & Flags.VM) != 0)
        {
            ref SegmentRegister r = ref s.Segment(seg);
            r.Selector = selector;
            r.Base = (ulong)selector << 4;
            if ((s.Rflags & Flags.VM) != 0)
            {
                r.Limit = 0xFFFF;
                r.Attributes = (ushort)(SegmentRegister.AttrPresent | SegmentRegister.AttrS | SegmentRegister.AttrWritable | SegmentRegister.AttrAccessed | (3 << 5));
            }

            return true;
        }

        int cpl = s.Cpl;
        int rpl = selector & 3;
        if ((selector & ~3) == 0)
        {
            // A null selector: allowed for DS/ES/FS/GS; for SS only in 64-bit mode below CPL 3 (SDM 5.4.1.1).
            if (seg == Seg.SS && !(s.LongModeActive && s.Cs.Long && cpl != 3 && rpl == cpl))
            {
                return RaiseFault(Vector.GP, 0);
            }

            ref SegmentRegister r = ref s.Segment(seg);
            r = default;
            r.Selector = selector;
            if (seg == Seg.SS)
            {
                r.Attributes = (ushort)(SegmentRegister.AttrS | SegmentRegister.AttrWritable | SegmentRegister.AttrPresent | (cpl << 5));
            }

            return true;
        }

        if (!ReadDescriptor(selector, out ulong d, out ulong address))
        {
            return false;
        }

        var loaded = FromDescriptor(selector, d);
        uint error = (uint)(selector & ~3);
        bool isCode = (loaded.Attributes & SegmentRegister.AttrCode) != 0;
        bool readableOrWritable = (loaded.Attributes & SegmentRegister.AttrWritable) != 0;
        if ((loaded.Attributes & SegmentRegister.AttrS) == 0)
        {
            return RaiseFault(Vector.GP, error);
        }

        if (seg == Seg.SS)
        {
            if (isCode || !readableOrWritable || rpl != cpl || loaded.Dpl != cpl)
            {
                return RaiseFault(Vector.GP, error);
            }

            if (!loaded.Present)
            {
                return RaiseFault(Vector.SS, error);
            }
        }
        else
        {
            bool conforming = isCode && (loaded.Attributes & 4) != 0;
            if ((isCode && !readableOrWritable) || (!conforming && (loaded.Dpl < cpl || loaded.Dpl < rpl)))
            {
                return RaiseFault(Vector.GP, error);
            }

            if (!loaded.Present)
            {
                return RaiseFault(Vector.NP, error);
            }
        }

        if (!SetAccessed(address, d))
        {
            return false;
        }

        loaded.Attributes |= SegmentRegister.AttrAccessed;
        s.Segment(seg) = loaded;
        return true;
    }

    /// <summary>
    /// Loads CS for a far JMP, CALL, RET or IRET to <paramref name="selector"/> at privilege
    /// <paramref name="newCpl"/> (SDM Vol. 3A 5.8.1). In real and virtual-8086 mode, selector * 16.
    /// </summary>
    public bool LoadCodeSegment(ushort selector, int newCpl, bool allowOuter)
    {
        ref CpuState s = ref S;
        if (!s.ProtectedMode || (s.Rflags & Flags.VM) != 0)
        {
            s.Cs.Selector = selector;
            s.Cs.Base = (ulong)selector << 4;
            return true;
        }

        uint error = (uint)(selector & ~3);
        if ((selector & ~3) == 0)
        {
            return RaiseFault(Vector.GP, 0);
        }

        if (!ReadDescriptor(selector, out ulong d, out ulong address))
        {
            return false;
        }

        var loaded = FromDescriptor(selector, d);
        if ((loaded.Attributes & (SegmentRegister.AttrS | SegmentRegister.AttrCode)) != (SegmentRegister.AttrS | SegmentRegister.AttrCode))
        {
            // System descriptors (call gates, TSS) belong to the system-architecture issue.
            return RaiseFault(Vector.GP, error);
        }

        bool conforming = (loaded.Attributes & 4) != 0;
        int cpl = s.Cpl;
        if (conforming ? loaded.Dpl > newCpl : (allowOuter ? loaded.Dpl != newCpl : loaded.Dpl != cpl || (selector & 3) > cpl))
        {
            return RaiseFault(Vector.GP, error);
        }

        if (!loaded.Present)
        {
            return RaiseFault(Vector.NP, error);
        }

        if (s.LongModeActive && loaded.Long && loaded.DefaultBig)
        {
            return RaiseFault(Vector.GP, error);
        }

        if (!SetAccessed(address, d))
        {
            return false;
        }

        loaded.Attributes |= SegmentRegister.AttrAccessed;
        loaded.Selector = (ushort)((selector & ~3) | (conforming ? cpl : newCpl));
        if (conforming && allowOuter)
        {
            loaded.Selector = (ushort)((selector & ~3) | newCpl);
        }

        // CPL lives in CS.DPL in this model, so a conforming segment takes the caller's privilege.
        loaded.Attributes = (ushort)((loaded.Attributes & ~(3 << 5)) | ((loaded.Selector & 3) << 5));
        s.Cs = loaded;
        return true;
    }
}
