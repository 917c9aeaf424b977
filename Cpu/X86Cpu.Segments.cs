using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;

namespace Emulator.Cpu;

/// <summary>
/// Descriptor-table access and segment-register loads (SDM Vol. 3A 3.4 and 5.4-5.8): data and
/// stack segments (MOV/POP Sreg, LDS and friends), code segments for far transfers, the inner
/// stack of a privilege change, and the data-segment nulling of a return to an outer level.
/// Error codes carry the selector with RPL cleared (the EXT and IDT bits are 0; SDM 6.13).
/// </summary>
public sealed partial class X86Cpu
{
    /// <summary>
    /// Reads the 8-byte descriptor for <paramref name="selector"/> from the GDT or LDT. A selector
    /// past the table limit (or in an LDT when LDTR is null) raises <paramref name="vector"/>
    /// with the selector as error code: #GP for most loads, #TS for a stack from the TSS.
    /// </summary>
    public bool ReadDescriptor(ushort selector, out ulong descriptor, out ulong address, int vector = Vector.GP)
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
            return RaiseFault(vector, (uint)(selector & ~3));
        }

        return ReadSystem(address, 8, out descriptor);
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
        return (descriptor & accessed) != 0 || WriteSystem(descriptorAddress + 5, 1, (descriptor >> 40) | 1);
    }

    /// <summary>True in 64-bit mode proper (IA-32e mode with CS.L = 1), not in compatibility mode.</summary>
    private bool In64BitMode => S.LongModeActive && S.Cs.Long;

    /// <summary>MOV Sreg, POP Sreg, LDS and friends: loads a data or stack segment register (SDM Vol. 2B, MOV, "Protected Mode Exceptions").</summary>
    public bool LoadSegment(Seg seg, ushort selector)
    {
        ref CpuState s = ref S;

        // Translated code chose its inline TLB set (CpuState.TlbSet) for the segments it entered with.
        s.ExitRequest = 1;
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
            // A null selector: allowed for DS/ES/FS/GS (using it later is #GP(0)); for SS only in
            // 64-bit mode below CPL 3 with RPL = CPL (SDM 5.4.1.1 and Vol. 2B, MOV).
            if (seg == Seg.SS && !(In64BitMode && cpl != 3 && rpl == cpl))
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
            // SS: a writable data segment with RPL = DPL = CPL, else #GP(selector); not present is #SS(selector).
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
            // DS/ES/FS/GS: data or readable code; unless conforming code, DPL >= CPL and DPL >= RPL.
            bool conforming = isCode && (loaded.Attributes & SegmentRegister.AttrConforming) != 0;
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
    /// Checks a code-segment descriptor as the target of a far transfer (SDM Vol. 3A 5.8.1-5.8.2,
    /// and the JMP, CALL, RET and IRET pseudocode of Vol. 2). A jump or call keeps the CPL:
    /// nonconforming code needs DPL = CPL and RPL &lt;= CPL, conforming code DPL &lt;= CPL. A return
    /// (<paramref name="isReturn"/>) moves to CPL = RPL: RPL &lt; CPL is #GP, nonconforming code
    /// needs DPL = RPL, conforming code DPL &lt;= RPL. Not present is #NP(selector); in IA-32e mode
    /// L = 1 with D = 1 is #GP(selector). On success <paramref name="loaded"/> carries the new
    /// CPL in its RPL and DPL (this model keeps CPL in CS.DPL).
    /// </summary>
    public bool CheckCodeSegment(ushort selector, ulong d, bool isReturn, out SegmentRegister loaded)
    {
        ref CpuState s = ref S;
        loaded = FromDescriptor(selector, d);
        uint error = (uint)(selector & ~3);
        if ((loaded.Attributes & (SegmentRegister.AttrS | SegmentRegister.AttrCode)) != (SegmentRegister.AttrS | SegmentRegister.AttrCode))
        {
            return RaiseFault(Vector.GP, error);
        }

        bool conforming = (loaded.Attributes & SegmentRegister.AttrConforming) != 0;
        int cpl = s.Cpl;
        int rpl = selector & 3;
        int newCpl = isReturn ? rpl : cpl;
        bool allowed = isReturn
            ? rpl >= cpl && (conforming ? loaded.Dpl <= rpl : loaded.Dpl == rpl)
            : conforming ? loaded.Dpl <= cpl : loaded.Dpl == cpl && rpl <= cpl;
        if (!allowed)
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

        WithCpl(ref loaded, newCpl);
        return true;
    }

    /// <summary>Sets the selector's RPL and the cached DPL to <paramref name="cpl"/> and marks it accessed.</summary>
    private static void WithCpl(ref SegmentRegister cs, int cpl)
    {
        cs.Selector = (ushort)((cs.Selector & ~3) | cpl);
        cs.Attributes = (ushort)((cs.Attributes & ~(3 << 5)) | (cpl << 5) | SegmentRegister.AttrAccessed);
    }

    /// <summary>
    /// Loads CS for a direct far JMP or CALL (<paramref name="isReturn"/> false, CPL unchanged)
    /// or a far RET or IRET (CPL becomes the selector's RPL), with the checks of
    /// <see cref="CheckCodeSegment"/>. In real and virtual-8086 mode CS = selector * 16.
    /// </summary>
    public bool LoadCodeSegment(ushort selector, bool isReturn)
    {
        ref CpuState s = ref S;
        if (!s.ProtectedMode || (s.Rflags & Flags.VM) != 0)
        {
            s.Cs.Selector = selector;
            s.Cs.Base = (ulong)selector << 4;
            return true;
        }

        if ((selector & ~3) == 0)
        {
            return RaiseFault(Vector.GP, 0);
        }

        if (!ReadDescriptor(selector, out ulong d, out ulong address) || !CheckCodeSegment(selector, d, isReturn, out var loaded) || !SetAccessed(address, d))
        {
            return false;
        }

        s.Cs = loaded;
        return true;
    }

    /// <summary>
    /// The target offset of a far transfer against the new CS: outside 64-bit mode it must lie
    /// within the limit, in 64-bit mode it must be canonical; #GP(0) otherwise (SDM Vol. 2A, JMP).
    /// </summary>
    public bool CheckBranchTarget(in SegmentRegister cs, ulong offset)
    {
        if (S.LongModeActive && cs.Long)
        {
            return IsCanonical(offset) || RaiseFault(Vector.GP, 0);
        }

        return offset <= cs.Limit || RaiseFault(Vector.GP, 0);
    }

    /// <summary>
    /// The stack of a privilege change to <paramref name="newCpl"/> from the current TSS (SDM Vol.
    /// 3A 5.8.5 and 6.12.1): a 32-bit TSS (ESPn at 4 + 8n, SSn at 8 + 8n), a 16-bit TSS (SPn at
    /// 2 + 4n, SSn at 4 + 4n) or the 64-bit TSS (RSPn at 4 + 8n, IST at 36 + 8(n - 1)). Outside
    /// IA-32e mode the new SS must be a present writable data segment with RPL = DPL = new CPL:
    /// null is #TS(0), a bad selector or descriptor #TS(selector), not present #SS(selector).
    /// In IA-32e mode SS becomes a null selector with RPL = new CPL.
    /// </summary>
    internal bool ReadInnerStack(int newCpl, int ist, out SegmentRegister ss, out ulong sp, out ulong ssDescriptorAddress, out ulong ssDescriptor)
    {
        ref CpuState s = ref S;
        ss = default;
        sp = 0;
        ssDescriptorAddress = 0;
        ssDescriptor = 0;
        uint tssError = (uint)(s.Tr.Selector & ~3);
        if (s.LongModeActive)
        {
            uint at = ist != 0 ? (uint)(36 + (8 * (ist - 1))) : (uint)(4 + (8 * newCpl));
            if (at + 7 > s.Tr.Limit)
            {
                return RaiseFault(Vector.TS, tssError);
            }

            if (!ReadSystem(s.Tr.Base + at, 8, out sp))
            {
                return false;
            }

            ss.Selector = (ushort)newCpl;
            ss.Attributes = (ushort)(SegmentRegister.AttrS | SegmentRegister.AttrWritable | SegmentRegister.AttrPresent | (newCpl << 5));
            return true;
        }

        bool tss32 = (s.Tr.Type & 8) != 0;
        uint spAt = tss32 ? (uint)(4 + (8 * newCpl)) : (uint)(2 + (4 * newCpl));
        uint ssAt = spAt + (tss32 ? 4u : 2u);
        if (ssAt + 1 > s.Tr.Limit)
        {
            return RaiseFault(Vector.TS, tssError);
        }

        if (!ReadSystem(s.Tr.Base + spAt, tss32 ? 4 : 2, out sp) || !ReadSystem(s.Tr.Base + ssAt, 2, out ulong ssValue))
        {
            return false;
        }

        var selector = (ushort)ssValue;
        uint error = (uint)(selector & ~3);
        if ((selector & ~3) == 0)
        {
            return RaiseFault(Vector.TS, 0);
        }

        if (!ReadDescriptor(selector, out ulong d, out ulong address, Vector.TS))
        {
            return false;
        }

        ss = FromDescriptor(selector, d);
        bool writableData = (ss.Attributes & (SegmentRegister.AttrS | SegmentRegister.AttrCode | SegmentRegister.AttrWritable)) == (SegmentRegister.AttrS | SegmentRegister.AttrWritable);
        if ((selector & 3) != newCpl || ss.Dpl != newCpl || !writableData)
        {
            return RaiseFault(Vector.TS, error);
        }

        if (!ss.Present)
        {
            return RaiseFault(Vector.SS, error);
        }

        ss.Attributes |= SegmentRegister.AttrAccessed;
        ssDescriptorAddress = address;
        ssDescriptor = d;
        return true;
    }

    /// <summary>
    /// True when <paramref name="bytes"/> bytes below <paramref name="sp"/> fit the stack segment
    /// <paramref name="ss"/> (expand-up or expand-down); used to check a new stack before a
    /// privilege change pushes onto it.
    /// </summary>
    internal static bool StackFits(in SegmentRegister ss, ulong sp, int bytes)
    {
        ulong mask = ss.DefaultBig ? 0xFFFF_FFFFUL : 0xFFFFUL;
        ulong low = (sp - (ulong)bytes) & mask;
        ulong high = low + (ulong)bytes - 1;
        if ((ss.Attributes & SegmentRegister.AttrExpandDown) != 0)
        {
            return low > ss.Limit && high <= mask;
        }

        return ss.Limit == uint.MaxValue || high <= ss.Limit;
    }

    /// <summary>
    /// After a far RET or IRET to an outer level: ES, DS, FS and GS holding a data or
    /// nonconforming code segment with DPL &lt; the new CPL become null (SDM Vol. 3A 5.8.6, and
    /// the RET and IRET pseudocode), so the outer level cannot use them.
    /// </summary>
    internal void NullInaccessibleDataSegments(int cpl)
    {
        ref CpuState s = ref S;
        foreach (Seg seg in (ReadOnlySpan<Seg>)[Seg.ES, Seg.DS, Seg.FS, Seg.GS])
        {
            ref SegmentRegister r = ref s.Segment(seg);
            bool conformingCode = (r.Attributes & (SegmentRegister.AttrCode | SegmentRegister.AttrConforming)) == (SegmentRegister.AttrCode | SegmentRegister.AttrConforming);
            if (r.Present && !conformingCode && r.Dpl < cpl)
            {
                r.Selector = 0;
                r.Attributes = 0;
            }
        }
    }
}
