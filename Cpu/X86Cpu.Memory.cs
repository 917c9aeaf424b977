using System.Runtime.CompilerServices;
using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.Mmu.Paging;

namespace Emulator.Cpu;

/// <summary>
/// Memory as the CPU sees it: segment:offset to linear (SDM Vol. 3A 3.4), linear to physical
/// through the software TLB or a page walk, and the access itself. Every accessor returns false
/// after recording a fault; the caller returns at once and the run loop delivers the exception.
/// </summary>
public sealed unsafe partial class X86Cpu
{
    /// <summary>Segment:offset to linear. In 64-bit mode only FS and GS have bases and the result must be canonical.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Linear(Seg seg, ulong offset, out ulong linear)
    {
        ref CpuState s = ref S;
        if (s.LongModeActive && s.Cs.Long)
        {
            linear = seg is Seg.FS or Seg.GS ? s.Segment(seg).Base + offset : offset;
            if (!IsCanonical(linear))
            {
                // SDM Vol. 3A 6.15: a non-canonical stack reference is #SS(0), anything else #GP(0).
                return seg == Seg.SS ? RaiseFault(Vector.SS, 0) : RaiseFault(Vector.GP, 0);
            }

            return true;
        }

        linear = (uint)(s.Segment(seg).Base + offset);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsCanonical(ulong address) => (ulong)(((long)address << 16) >> 16) == address;

    // Attribute bits that make a segment "flat data": present, S = 1, data (not code), expand-up,
    // writable. With a 4 GiB limit such a segment needs no limit or rights check at all.
    private const ushort FlatDataMask = SegmentRegister.AttrPresent | SegmentRegister.AttrS | SegmentRegister.AttrCode | SegmentRegister.AttrExpandDown | SegmentRegister.AttrWritable;
    private const ushort FlatDataValue = SegmentRegister.AttrPresent | SegmentRegister.AttrS | SegmentRegister.AttrWritable;

    /// <summary>
    /// The segment checks of an ordinary data or stack access. The fast path is 64-bit mode (no
    /// segment checks, SDM Vol. 3A 3.2.4; the canonical check is in <see cref="Linear"/>) and flat
    /// writable data segments; everything else goes to <see cref="CheckSegmentSlow"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool CheckSegment(Seg seg, ulong offset, int size, bool write)
    {
        ref CpuState s = ref S;
        ref SegmentRegister r = ref s.Segment(seg);
        if ((r.Limit == uint.MaxValue && (r.Attributes & FlatDataMask) == FlatDataValue) || (s.Cs.Long && s.LongModeActive))
        {
            return true;
        }

        return CheckSegmentSlow(seg, offset, size, write);
    }

    /// <summary>
    /// Limit and rights checks. Real and virtual-8086 mode check only the limit (SDM Vol. 3A
    /// 20.1.1). Protected mode (SDM Vol. 3A 5.3 and 5.6, and the "Protected Mode Exceptions" of
    /// each instruction in Vol. 2): a null (unusable) segment register is #GP(0); a write to a
    /// code segment or a read-only data segment and a read of an execute-only code segment are
    /// #GP(0); an offset outside the limit is #GP(0), or #SS(0) for SS. An expand-down segment
    /// holds the offsets above its limit up to FFFFh or FFFFFFFFh as its B flag says (5.3).
    /// </summary>
    private bool CheckSegmentSlow(Seg seg, ulong offset, int size, bool write)
    {
        ref CpuState s = ref S;
        ref SegmentRegister r = ref s.Segment(seg);
        ulong last = offset + (ulong)size - 1;
        if (!s.ProtectedMode || (s.Rflags & Flags.VM) != 0)
        {
            return last <= r.Limit || SegmentFault(seg);
        }

        int attributes = r.Attributes;
        if ((attributes & SegmentRegister.AttrPresent) == 0)
        {
            return SegmentFault(seg);
        }

        if ((attributes & SegmentRegister.AttrCode) != 0)
        {
            if (write || (attributes & SegmentRegister.AttrWritable) == 0)
            {
                return RaiseFault(Vector.GP, 0);
            }
        }
        else
        {
            if (write && (attributes & SegmentRegister.AttrWritable) == 0)
            {
                return RaiseFault(Vector.GP, 0);
            }

            if ((attributes & SegmentRegister.AttrExpandDown) != 0)
            {
                ulong upper = r.DefaultBig ? 0xFFFF_FFFFUL : 0xFFFFUL;
                return (offset > r.Limit && last <= upper) || SegmentFault(seg);
            }
        }

        // A 4 GiB limit admits every offset; the linear address wraps at 4 GiB.
        return r.Limit == uint.MaxValue || last <= r.Limit || SegmentFault(seg);
    }

    /// <summary>#SS(0) for a stack-segment reference, #GP(0) for any other.</summary>
    private bool SegmentFault(Seg seg) => seg == Seg.SS ? RaiseFault(Vector.SS, 0) : RaiseFault(Vector.GP, 0);

    public bool Read(Seg seg, ulong offset, int size, out ulong value)
    {
        if (!CheckSegment(seg, offset, size, write: false) || !Linear(seg, offset, out ulong linear))
        {
            value = 0;
            return false;
        }

        return ReadLinear(linear, size, out value);
    }

    public bool Write(Seg seg, ulong offset, int size, ulong value)
    {
        return CheckSegment(seg, offset, size, write: true) && Linear(seg, offset, out ulong linear) && WriteLinear(linear, size, value);
    }

    /// <summary>Checks that a write would succeed, without writing (used before multi-part updates).</summary>
    public bool ProbeWrite(Seg seg, ulong offset, int size)
    {
        return CheckSegment(seg, offset, size, write: true) && Linear(seg, offset, out ulong linear) && Translate(linear, AccessKind.Write, out _) && ((linear & 0xFFF) + (ulong)size <= 0x1000 || Translate((linear | 0xFFF) + 1, AccessKind.Write, out _));
    }

    /// <summary>
    /// For a bulk string operation (<see cref="Instructions.StringOps"/>): the host address of the
    /// byte at <paramref name="seg"/>:<paramref name="offset"/> when an access there needs no check
    /// beyond the TLB's (64-bit mode or a flat data segment, a canonical address, a TLB hit for
    /// <paramref name="kind"/>: RAM, the rights, and for a write a dirty page with no translated
    /// code), else null, recording no fault. The pointer is good for the rest of the 4 KiB page of
    /// <paramref name="linear"/> and until the next access that may change the TLB.
    /// </summary>
    internal byte* FastHostPointer(Seg seg, ulong offset, AccessKind kind, out ulong linear)
    {
        ref CpuState s = ref S;
        ref SegmentRegister r = ref s.Segment(seg);
        if (s.LongModeActive && s.Cs.Long)
        {
            linear = seg is Seg.FS or Seg.GS ? r.Base + offset : offset;
            if (!IsCanonical(linear))
            {
                return null;
            }
        }
        else if (r.Limit == uint.MaxValue && (r.Attributes & FlatDataMask) == FlatDataValue)
        {
            linear = (uint)(r.Base + offset);
        }
        else
        {
            linear = 0;
            return null;
        }

        return Tlb.Lookup(linear, kind, UserAccess);
    }

    private bool _implicitSupervisor;

    /// <summary>
    /// Paging treats an access as a user access at CPL 3, except the implicit supervisor accesses
    /// to the GDT, LDT, IDT and TSS, which are supervisor accesses at any CPL (SDM Vol. 3A 4.6).
    /// </summary>
    private bool UserAccess
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => S.Cpl == 3 && !_implicitSupervisor;
    }

    /// <summary>A read of a descriptor table or the TSS: an implicit supervisor access (SDM Vol. 3A 4.6).</summary>
    public bool ReadSystem(ulong linear, int size, out ulong value)
    {
        _implicitSupervisor = true;
        bool ok = ReadLinear(linear, size, out value);
        _implicitSupervisor = false;
        return ok;
    }

    /// <summary>A write to a descriptor table (accessed and busy bits): an implicit supervisor access.</summary>
    public bool WriteSystem(ulong linear, int size, ulong value)
    {
        _implicitSupervisor = true;
        bool ok = WriteLinear(linear, size, value);
        _implicitSupervisor = false;
        return ok;
    }

    /// <summary>
    /// <see cref="Read"/> inlined into the caller, so that a constant size folds: for the
    /// specialised interpreter handlers (<see cref="Instructions.FastInteger"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool ReadData(Seg seg, ulong offset, int size, out ulong value)
    {
        if (!CheckSegment(seg, offset, size, write: false) || !Linear(seg, offset, out ulong linear))
        {
            value = 0;
            return false;
        }

        return ReadLinear(linear, size, out value);
    }

    /// <summary><see cref="Write"/> inlined into the caller (see <see cref="ReadData"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool WriteData(Seg seg, ulong offset, int size, ulong value)
    {
        return CheckSegment(seg, offset, size, write: true) && Linear(seg, offset, out ulong linear) && WriteLinear(linear, size, value);
    }

    /// <summary>A linear read: the TLB hit inline, everything else (a miss, a page-crossing access) in <see cref="ReadLinearSlow"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool ReadLinear(ulong linear, int size, out ulong value, AccessKind kind = AccessKind.Read)
    {
        if ((linear & 0xFFF) + (ulong)size <= 0x1000)
        {
            byte* host = Tlb.Lookup(linear, kind, UserAccess);
            if (host != null)
            {
                // SAFETY: the TLB hands out a pointer into a 4 KiB host page and the access stays inside it.
                value = size switch
                {
                    1 => *host,
                    2 => Unsafe.ReadUnaligned<ushort>(host),
                    4 => Unsafe.ReadUnaligned<uint>(host),
                    _ => Unsafe.ReadUnaligned<ulong>(host),
                };
                return true;
            }
        }

        return ReadLinearSlow(linear, size, out value, kind);
    }

    private bool ReadLinearSlow(ulong linear, int size, out ulong value, AccessKind kind)
    {
        if ((linear & 0xFFF) + (ulong)size <= 0x1000)
        {
            if (!Translate(linear, kind, out ulong physical))
            {
                value = 0;
                return false;
            }

            if (_checkAccesses)
            {
                CheckAccess(linear, size, kind);
            }

            value = Memory.Read(physical, size);
            return true;
        }

        // Crosses a page: translate both halves before touching either (SDM: no partial access).
        ulong second = (linear | 0xFFF) + 1;
        if (!Translate(linear, kind, out ulong p1) || !Translate(second, kind, out ulong p2))
        {
            value = 0;
            return false;
        }

        if (_checkAccesses)
        {
            CheckAccess(linear, size, kind);
        }

        int first = (int)(second - linear);
        value = 0;
        for (int i = 0; i < size; i++)
        {
            ulong b = i < first ? Memory.Read(p1 + (ulong)i, 1) : Memory.Read(p2 + (ulong)(i - first), 1);
            value |= b << (8 * i);
        }

        return true;
    }

    /// <summary>A linear write: the TLB hit inline, everything else in <see cref="WriteLinearSlow"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool WriteLinear(ulong linear, int size, ulong value)
    {
        if ((linear & 0xFFF) + (ulong)size <= 0x1000)
        {
            byte* host = Tlb.Lookup(linear, AccessKind.Write, UserAccess);
            if (host != null)
            {
                // SAFETY: as in ReadLinear; write tags exist only for RAM pages without translated code.
                switch (size)
                {
                    case 1: *host = (byte)value; break;
                    case 2: Unsafe.WriteUnaligned(host, (ushort)value); break;
                    case 4: Unsafe.WriteUnaligned(host, (uint)value); break;
                    default: Unsafe.WriteUnaligned(host, value); break;
                }

                return true;
            }
        }

        return WriteLinearSlow(linear, size, value);
    }

    private bool WriteLinearSlow(ulong linear, int size, ulong value)
    {
        if ((linear & 0xFFF) + (ulong)size <= 0x1000)
        {
            if (!Translate(linear, AccessKind.Write, out ulong physical))
            {
                return false;
            }

            if (_checkAccesses)
            {
                CheckAccess(linear, size, AccessKind.Write);
            }

            Memory.Write(physical, size, value);
            return true;
        }

        ulong second = (linear | 0xFFF) + 1;
        if (!Translate(linear, AccessKind.Write, out ulong p1) || !Translate(second, AccessKind.Write, out ulong p2))
        {
            return false;
        }

        if (_checkAccesses)
        {
            CheckAccess(linear, size, AccessKind.Write);
        }

        int first = (int)(second - linear);
        for (int i = 0; i < size; i++)
        {
            ulong b = (value >> (8 * i)) & 0xFF;
            if (i < first)
            {
                Memory.Write(p1 + (ulong)i, 1, b);
            }
            else
            {
                Memory.Write(p2 + (ulong)(i - first), 1, b);
            }
        }

        return true;
    }

    /// <summary>
    /// Linear to physical for one access, filling the TLB. On failure records #PF with the error
    /// code and sets CR2 (SDM Vol. 3A 4.7).
    /// </summary>
    public bool Translate(ulong linear, AccessKind kind, out ulong physical)
    {
        bool user = UserAccess;
        var ctx = PagingContext;
        if (_implicitSupervisor && S.Cpl == 3)
        {
            // SDM Vol. 3A 4.6.1: with SMAP, an implicit supervisor access at CPL 3 may not touch a
            // user-mode page whatever EFLAGS.AC says.
            ctx = ctx with { AlignmentCheckFlag = false };
        }

        Translation t;
        if (ctx.Mode == PagingMode.None)
        {
            t = new Translation(linear & 0xFFFFFFFF, true, true, false, false, true);
        }
        else if (!PageWalker.Walk(Memory, ctx, linear, kind, user, out t, out PageFaultError error))
        {
            physical = 0;
            S.Cr2 = linear;
            return RaiseFault(Vector.PF, (uint)error);
        }

        // The A20 gate acts on every physical address the CPU forms (PhysicalMemory.A20Mask); the
        // TLB caches the gated result and is flushed when the gate changes.
        physical = t.PhysicalAddress & Memory.A20Mask;
        ulong page = physical & ~0xFFFUL;
        byte* readHost = Memory.HostPage(page, forWrite: false);
        bool canWrite = t.Dirty && (user ? t.Writable && t.User : t.Writable || (S.Cr0 & ControlBits.Cr0WP) == 0);
        bool smapBlocks = !user && t.User && ctx.Smap;
        byte* writeHost = canWrite ? Memory.HostPage(page, forWrite: true) : null;
        Tlb.Fill(
            linear,
            user,
            readHost,
            writeHost,
            allowRead: (!user || t.User) && !smapBlocks,
            allowWrite: canWrite && !smapBlocks,
            allowExec: !t.NoExecute && (user ? t.User : !(t.User && ctx.Smep)),
            global: t.Global,
            physicalPage: page,
            pageSize: t.PageSize);
        Tlb.Misses++;
        return true;
    }

    /// <summary>
    /// Linear to physical as a debugger sees it: the supervisor's view of the current page tables,
    /// no fault raised, no accessed or dirty bit set, no TLB change.
    /// </summary>
    public bool TranslateForDebugger(ulong linear, out ulong physical)
    {
        var ctx = PagingContext with { WriteProtect = false, Smep = false, Smap = false };
        if (ctx.Mode == PagingMode.None)
        {
            physical = linear & 0xFFFFFFFF & Memory.A20Mask;
            return true;
        }

        bool ok = PageWalker.Walk(Memory, ctx, linear, AccessKind.Read, user: false, updateAccessedDirty: false, out var t, out _);
        physical = t.PhysicalAddress & Memory.A20Mask;
        return ok;
    }

    // Stack helpers: the stack width is SS.B outside 64-bit mode (SDM Vol. 1 6.2.3).
    public int StackAddressSize => S.LongModeActive && S.Cs.Long ? 8 : S.Ss.DefaultBig ? 4 : 2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong StackMask(int addressSize) => addressSize == 8 ? ulong.MaxValue : addressSize == 4 ? 0xFFFFFFFFUL : 0xFFFFUL;

    /// <summary>Pushes <paramref name="size"/> bytes; RSP changes only when the write succeeds.</summary>
    public bool Push(ulong value, int size)
    {
        int asz = StackAddressSize;
        ulong mask = StackMask(asz);
        ulong rsp = S.Gpr[CpuState.RSP];
        ulong newSp = (rsp - (ulong)size) & mask;
        if (!Write(Seg.SS, newSp, size, value))
        {
            return false;
        }

        S.Gpr[CpuState.RSP] = (rsp & ~mask) | newSp;
        return true;
    }

    /// <summary>Reads the value <paramref name="depth"/> bytes above the stack top without popping it.</summary>
    public bool PeekStack(int depth, int size, out ulong value)
    {
        ulong mask = StackMask(StackAddressSize);
        return Read(Seg.SS, (S.Gpr[CpuState.RSP] + (ulong)depth) & mask, size, out value);
    }

    /// <summary>Moves RSP up by <paramref name="bytes"/>, within the stack width.</summary>
    public void AdjustStack(long bytes)
    {
        ulong mask = StackMask(StackAddressSize);
        ulong rsp = S.Gpr[CpuState.RSP];
        S.Gpr[CpuState.RSP] = (rsp & ~mask) | ((rsp + (ulong)bytes) & mask);
    }

    public bool Pop(int size, out ulong value)
    {
        if (!PeekStack(0, size, out value))
        {
            return false;
        }

        AdjustStack(size);
        return true;
    }
}
