using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.Mmu.Paging;

namespace Emulator.Cpu;

/// <summary>
/// Hardware task switching with a 32-bit TSS (SDM Vol. 3A chapter 8): far JMP and CALL to a TSS
/// descriptor or a task gate, interrupts and exceptions through a task gate in the IDT, and IRET
/// with EFLAGS.NT = 1 back through the previous-task link. The switch follows the steps of 8.3:
/// everything that can fault before the commit point (the TSS limit, reading the new TSS, the
/// pages of both TSSs and of the two descriptors) is checked before anything is written, so such a
/// fault leaves the old task as it was. After the commit point (TR loaded) faults belong to the
/// new task: its state stays loaded and the exception is reported at its first instruction
/// (8.3, "exception ... in the context of the new task"; 6.15, interrupt 10).
/// 16-bit TSSs (types 1 and 3) are not switched to: see System/known-gaps.txt.
/// </summary>
public sealed partial class X86Cpu
{
    /// <summary>Offsets in the 32-bit TSS (SDM Vol. 3A 8.2.1, figure 8-2).</summary>
    private const int TssLink = 0x00, TssCr3 = 0x1C, TssEip = 0x20, TssEflags = 0x24, TssEax = 0x28, TssEs = 0x48, TssLdt = 0x60, TssTrap = 0x64;

    /// <summary>The minimum limit of a 32-bit TSS (SDM Vol. 3A 8.2.2).</summary>
    public const uint MinimumTss32Limit = 0x67;

    /// <summary>Every EFLAGS bit a task's EFLAGS image can set (SDM Vol. 1 3.4.3, figure 3-8).</summary>
    private const ulong TaskFlagsMask = 0x3F7FD5;

    private bool _faultInNewTask;

    /// <summary>
    /// A fault raised after a task switch committed is reported in the new task: its return
    /// address is the new task's EIP, not the instruction that started the switch (SDM 8.3 step 13).
    /// Consumes the mark.
    /// </summary>
    private ulong FaultRipAfterTaskSwitch(ulong faultRip)
    {
        if (!_faultInNewTask)
        {
            return faultRip;
        }

        _faultInNewTask = false;
        return S.Rip;
    }

    /// <summary>
    /// The TSS named by a task gate (in the IDT, GDT or LDT; SDM Vol. 2A CALL/JMP "TASK-GATE" and
    /// INT n): the selector must index the GDT (#GP(TSS selector) otherwise), the descriptor must be
    /// an available TSS (a busy one or any other type is #GP(TSS selector)) and present (#NP).
    /// </summary>
    internal bool ReadTaskGateTss(ushort tssSelector, uint ext, out ulong descriptor, out ulong address)
    {
        ref CpuState s = ref S;
        uint error = (uint)(tssSelector & ~3) | ext;
        ulong index = (ulong)(tssSelector & ~7);
        descriptor = 0;
        address = s.Gdtr.Base + index;
        if ((tssSelector & 4) != 0 || index + 7 > s.Gdtr.Limit)
        {
            return RaiseFault(Vector.GP, error);
        }

        if (!ReadSystem(address, 8, out descriptor))
        {
            return false;
        }

        int type = (int)(descriptor >> 40) & 0x1F; // S and the type field: 01h or 09h, an available TSS
        if (type is not (0x01 or 0x09))
        {
            return RaiseFault(Vector.GP, error);
        }

        return (descriptor & (1UL << 47)) != 0 || RaiseFault(Vector.NP, error);
    }

    /// <summary>
    /// An interrupt or exception through a task gate in the IDT (SDM Vol. 3A 6.12.2): a nested
    /// switch to the gate's TSS; an error code is pushed on the new task's stack.
    /// </summary>
    internal bool InterruptTask(ushort tssSelector, bool hasError, uint error, ulong returnRip, InterruptKind kind)
    {
        uint ext = kind == InterruptKind.Software ? 0u : 1u;
        return ReadTaskGateTss(tssSelector, ext, out ulong d, out ulong address)
            && SwitchTask(tssSelector, d, address, TaskSwitchSource.Interrupt, returnRip, hasError, error, ext);
    }

    /// <summary>
    /// IRET with NT = 1 (SDM Vol. 2A IRET, "TASK-RETURN"): back to the task in the current TSS's
    /// link field. The link must index the GDT and name a busy TSS, else #TS(link); not present is
    /// #NP(link).
    /// </summary>
    internal bool ReturnFromNestedTask(ulong returnRip)
    {
        ref CpuState s = ref S;
        if (!ReadSystem(s.Tr.Base + TssLink, 2, out ulong link))
        {
            return false;
        }

        var selector = (ushort)link;
        uint error = (uint)(selector & ~3);
        ulong index = (ulong)(selector & ~7);
        ulong address = s.Gdtr.Base + index;
        if ((selector & 4) != 0 || index + 7 > s.Gdtr.Limit)
        {
            return RaiseFault(Vector.TS, error);
        }

        if (!ReadSystem(address, 8, out ulong d))
        {
            return false;
        }

        int type = (int)(d >> 40) & 0x1F;
        if (type is not (0x03 or 0x0B))
        {
            return RaiseFault(Vector.TS, error);
        }

        if ((d & (1UL << 47)) == 0)
        {
            return RaiseFault(Vector.NP, error);
        }

        return SwitchTask(selector, d, address, TaskSwitchSource.Iret, returnRip);
    }

    /// <summary>
    /// The task switch proper (SDM Vol. 3A 8.3, steps 2-14), once the caller has checked the
    /// privilege, type, busy and present rules of its own path. <paramref name="descriptorAddress"/>
    /// is where the new TSS descriptor sits in the GDT; <paramref name="returnRip"/> is the EIP the
    /// old task resumes at. <paramref name="ext"/> is the EXT bit for error codes (6.13).
    /// </summary>
    internal bool SwitchTask(ushort selector, ulong descriptor, ulong descriptorAddress, TaskSwitchSource source, ulong returnRip, bool hasError = false, uint error = 0, uint ext = 0)
    {
        ref CpuState s = ref S;
        uint tssError = (uint)(selector & ~3) | ext;
        var tss = FromDescriptor(selector, descriptor);
        if ((tss.Type & 8) == 0)
        {
            Log?.Invoke($"task switch to a 16-bit TSS ({selector:x4}) is not implemented, raising #GP");
            return RaiseFault(Vector.GP, tssError);
        }

        // Step 2: the new TSS must hold at least the 104 bytes of figure 8-2, else #TS(new TSS).
        if (tss.Limit < MinimumTss32Limit)
        {
            return RaiseFault(Vector.TS, tssError);
        }

        // Steps 3-5: read the whole incoming state and make sure every write below will succeed
        // (old TSS dynamic fields, the link of the new TSS, both busy bits) before touching anything.
        ulong newBase = (uint)tss.Base;
        ulong oldBase = (uint)s.Tr.Base;
        Span<uint> image = stackalloc uint[(TssTrap / 4) + 1];
        for (int k = 0; k < image.Length; k++)
        {
            if (!ReadSystem(newBase + (ulong)(4 * k), 4, out ulong v))
            {
                return false;
            }

            image[k] = (uint)v;
        }

        bool nesting = source is TaskSwitchSource.Call or TaskSwitchSource.Interrupt;
        ulong oldDescriptorAddress = s.Gdtr.Base + (ulong)(s.Tr.Selector & ~7);
        if (!ProbeSystemWrite(oldBase + TssEip, TssLdt - TssEip)
            || (nesting && !ProbeSystemWrite(newBase + TssLink, 2))
            || !ProbeSystemWrite(oldDescriptorAddress + 5, 1)
            || !ProbeSystemWrite(descriptorAddress + 5, 1))
        {
            return false;
        }

        // Step 6: JMP and IRET leave the old task: its busy bit is cleared (CALL and interrupts keep it).
        if (source is TaskSwitchSource.Jump or TaskSwitchSource.Iret)
        {
            if (!ReadSystem(oldDescriptorAddress + 5, 1, out ulong access) || !WriteSystem(oldDescriptorAddress + 5, 1, access & ~2UL))
            {
                return false;
            }
        }

        // Steps 7-8: save the dynamic state (figure 8-2); an IRET saves NT = 0 in the old image.
        ulong oldFlags = s.Rflags & 0xFFFF_FFFF;
        if (source == TaskSwitchSource.Iret)
        {
            oldFlags &= ~Flags.NT;
        }

        bool saved = WriteSystem(oldBase + TssEip, 4, returnRip & 0xFFFF_FFFF) && WriteSystem(oldBase + TssEflags, 4, oldFlags);
        for (int r = 0; r < 8 && saved; r++)
        {
            saved = WriteSystem(oldBase + TssEax + (ulong)(4 * r), 4, s.Gpr[r] & 0xFFFF_FFFF);
        }

        for (int k = 0; k < 6 && saved; k++)
        {
            saved = WriteSystem(oldBase + TssEs + (ulong)(4 * k), 2, s.Segment((Seg)k).Selector);
        }

        // Nesting links the new task back to the old one (8.4, figure 8-8); steps 9-10: busy bit of the new TSS.
        if (!saved || (nesting && !WriteSystem(newBase + TssLink, 2, s.Tr.Selector))
            || (source != TaskSwitchSource.Iret && !WriteSystem(descriptorAddress + 5, 1, (descriptor >> 40) | 2)))
        {
            return false;
        }

        // Step 11, the commit point: TR holds the new TSS (busy), CR0.TS is set; the new task's
        // L0-L3 and LE breakpoint enables are cleared (Vol. 3B 18.2.4).
        tss.Attributes |= 2;
        s.Tr = tss;
        s.Cr0 |= ControlBits.Cr0TS;
        s.Dr[7] &= ~0x155UL;
        s.InterruptShadow = 0;
        EndBlock();

        ulong newFlags = image[TssEflags / 4];
        if (nesting)
        {
            newFlags |= Flags.NT;
        }

        s.Rip = image[TssEip / 4];
        for (int r = 0; r < 8; r++)
        {
            s.Gpr[r] = image[(TssEax / 4) + r];
        }

        s.Rflags = (newFlags & TaskFlagsMask) | Flags.Reserved1;
        if ((s.Cr0 & ControlBits.Cr0PG) != 0)
        {
            // CR3 comes from the TSS only with paging on (8.1.2); like MOV CR3 it drops non-global translations.
            s.Cr3 = image[TssCr3 / 4];
            s.PdptesLoaded = 0; // under PAE the PDPTE registers reload from the new CR3 (4.4.1)
            Tlb.FlushNonGlobal();
        }

        // Step 12-13: selectors and descriptors, checked in the new task's context (table 8-2).
        if (!LoadTaskSegments(image))
        {
            _faultInNewTask = true;
            return false;
        }

        // An exception through a task gate pushes its error code on the new task's stack (6.12.2).
        if (hasError && !Push(error, 4))
        {
            _faultInNewTask = true;
            return false;
        }

        // Vol. 2A CALL/JMP/IRET: "IF EIP not within code segment limit THEN #GP(0)", in the new task.
        if (s.Rip > s.Cs.Limit)
        {
            _faultInNewTask = true;
            return RaiseFault(Vector.GP, 0);
        }

        return true;
    }

    /// <summary>
    /// Checks that <paramref name="length"/> bytes from <paramref name="linear"/> are writable as an
    /// implicit supervisor access, without writing (SDM 8.3 step 5: the pages are checked first).
    /// </summary>
    private bool ProbeSystemWrite(ulong linear, int length)
    {
        _implicitSupervisor = true;
        ulong last = linear + (ulong)length - 1;
        bool ok = Translate(linear, AccessKind.Write, out _) && ((last & ~0xFFFUL) == (linear & ~0xFFFUL) || Translate(last, AccessKind.Write, out _));
        _implicitSupervisor = false;
        return ok;
    }

    /// <summary>
    /// Loads LDTR and the segment registers of the incoming task (SDM Vol. 3A 8.3 step 13 and
    /// table 8-2). Every selector is loaded first with an unusable cache, so a fault leaves the
    /// registers holding the TSS's selectors as the SDM describes. Then: LDTR (must index the
    /// GDT and name a present LDT, else #TS(LDT)); in virtual-8086 mode (EFLAGS.VM = 1 in the
    /// image) all segments as selector * 16; otherwise CS (#TS: null, outside the table, not
    /// code, nonconforming DPL != RPL, conforming DPL &gt; RPL; #NP: not present), whose RPL is the
    /// new CPL; SS (#TS: null, not writable data, DPL != CPL or != RPL; #SS: not present); DS, ES,
    /// FS, GS (null allowed; #TS: not data or readable code, data or nonconforming code with DPL
    /// below CPL or RPL; #NP: not present).
    /// </summary>
    private bool LoadTaskSegments(ReadOnlySpan<uint> image)
    {
        ref CpuState s = ref S;
        Span<ushort> selectors = stackalloc ushort[6];
        for (int k = 0; k < 6; k++)
        {
            selectors[k] = (ushort)image[(TssEs / 4) + k];
            s.Segment((Seg)k) = new SegmentRegister { Selector = selectors[k] };
        }

        var ldt = (ushort)image[TssLdt / 4];
        s.Ldtr = new SegmentRegister { Selector = ldt };
        if ((ldt & 4) != 0)
        {
            return RaiseFault(Vector.TS, (uint)(ldt & ~3));
        }

        if ((ldt & ~3) != 0)
        {
            if (!ReadDescriptor(ldt, out ulong d, out _, Vector.TS))
            {
                return false;
            }

            if (((d >> 40) & 0x1F) != 0x02 || (d & (1UL << 47)) == 0)
            {
                return RaiseFault(Vector.TS, (uint)(ldt & ~3));
            }

            s.Ldtr = FromDescriptor(ldt, d);
        }

        if ((s.Rflags & Flags.VM) != 0)
        {
            LoadVirtual8086Segments(selectors);
            return true;
        }

        ushort cs = selectors[(int)Seg.CS];
        int cpl = cs & 3;
        if ((cs & ~3) == 0)
        {
            return RaiseFault(Vector.TS, 0);
        }

        if (!ReadDescriptor(cs, out ulong csDescriptor, out ulong csAddress, Vector.TS))
        {
            return false;
        }

        var code = FromDescriptor(cs, csDescriptor);
        bool conforming = (code.Attributes & SegmentRegister.AttrConforming) != 0;
        if ((code.Attributes & (SegmentRegister.AttrS | SegmentRegister.AttrCode)) != (SegmentRegister.AttrS | SegmentRegister.AttrCode)
            || (conforming ? code.Dpl > cpl : code.Dpl != cpl))
        {
            return RaiseFault(Vector.TS, (uint)(cs & ~3));
        }

        if (!code.Present)
        {
            return RaiseFault(Vector.NP, (uint)(cs & ~3));
        }

        if (!SetAccessed(csAddress, csDescriptor))
        {
            return false;
        }

        WithCpl(ref code, cpl);
        s.Cs = code;

        ushort ss = selectors[(int)Seg.SS];
        if ((ss & ~3) == 0)
        {
            return RaiseFault(Vector.TS, 0);
        }

        if (!ReadDescriptor(ss, out ulong ssDescriptor, out ulong ssAddress, Vector.TS))
        {
            return false;
        }

        var stack = FromDescriptor(ss, ssDescriptor);
        const ushort dataMask = SegmentRegister.AttrS | SegmentRegister.AttrCode | SegmentRegister.AttrWritable;
        if ((stack.Attributes & dataMask) != (SegmentRegister.AttrS | SegmentRegister.AttrWritable))
        {
            return RaiseFault(Vector.TS, (uint)(ss & ~3));
        }

        if (!stack.Present)
        {
            return RaiseFault(Vector.SS, (uint)(ss & ~3));
        }

        if (stack.Dpl != cpl || (ss & 3) != cpl)
        {
            return RaiseFault(Vector.TS, (uint)(ss & ~3));
        }

        if (!SetAccessed(ssAddress, ssDescriptor))
        {
            return false;
        }

        stack.Attributes |= SegmentRegister.AttrAccessed;
        s.Ss = stack;

        foreach (Seg seg in (ReadOnlySpan<Seg>)[Seg.ES, Seg.DS, Seg.FS, Seg.GS])
        {
            ushort selector = selectors[(int)seg];
            if ((selector & ~3) == 0)
            {
                continue;
            }

            if (!ReadDescriptor(selector, out ulong d, out ulong address, Vector.TS))
            {
                return false;
            }

            var data = FromDescriptor(selector, d);
            bool isCode = (data.Attributes & SegmentRegister.AttrCode) != 0;
            bool readable = !isCode || (data.Attributes & SegmentRegister.AttrWritable) != 0;
            bool conformingCode = isCode && (data.Attributes & SegmentRegister.AttrConforming) != 0;
            if ((data.Attributes & SegmentRegister.AttrS) == 0 || !readable)
            {
                return RaiseFault(Vector.TS, (uint)(selector & ~3));
            }

            if (!data.Present)
            {
                return RaiseFault(Vector.NP, (uint)(selector & ~3));
            }

            if (!conformingCode && (data.Dpl < cpl || data.Dpl < (selector & 3)))
            {
                return RaiseFault(Vector.TS, (uint)(selector & ~3));
            }

            if (!SetAccessed(address, d))
            {
                return false;
            }

            data.Attributes |= SegmentRegister.AttrAccessed;
            s.Segment(seg) = data;
        }

        return true;
    }
}
