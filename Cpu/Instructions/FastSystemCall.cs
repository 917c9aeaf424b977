using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// Fast system calls (SDM Vol. 2B SYSENTER, SYSEXIT, SYSCALL, SYSRET, SWAPGS; Vol. 3A 5.8.7-5.8.8).
/// None of them reads the GDT: CS and SS get fixed flat descriptors whose selectors come from
/// IA32_SYSENTER_CS or IA32_STAR.
/// </summary>
public static class FastSystemCall
{
    private const ushort FlatCodeAttributes = SegmentRegister.AttrPresent | SegmentRegister.AttrS | SegmentRegister.AttrCode | SegmentRegister.AttrWritable | SegmentRegister.AttrAccessed | SegmentRegister.AttrGranularity;
    private const ushort FlatDataAttributes = SegmentRegister.AttrPresent | SegmentRegister.AttrS | SegmentRegister.AttrWritable | SegmentRegister.AttrAccessed | SegmentRegister.AttrGranularity | SegmentRegister.AttrDefaultBig;

    /// <summary>A flat 4 GiB code segment: 64-bit (L = 1, D = 0) or 32-bit (L = 0, D = 1), DPL <paramref name="dpl"/>.</summary>
    private static SegmentRegister FlatCode(ushort selector, bool long64, int dpl) => new()
    {
        Selector = selector,
        Base = 0,
        Limit = uint.MaxValue,
        Attributes = (ushort)(FlatCodeAttributes | (long64 ? SegmentRegister.AttrLong : SegmentRegister.AttrDefaultBig) | (dpl << 5)),
    };

    /// <summary>A flat 4 GiB read/write data segment with B = 1 and DPL <paramref name="dpl"/>.</summary>
    private static SegmentRegister FlatData(ushort selector, int dpl) => new()
    {
        Selector = selector,
        Base = 0,
        Limit = uint.MaxValue,
        Attributes = (ushort)(FlatDataAttributes | (dpl << 5)),
    };

    /// <summary>
    /// SYSENTER: #GP(0) in real mode or with IA32_SYSENTER_CS[15:2] = 0; otherwise CPL 0 at
    /// IA32_SYSENTER_CS:EIP with SS = CS + 8, stack IA32_SYSENTER_ESP, and VM, IF and RF cleared.
    /// In IA-32e mode the target is 64-bit code.
    /// </summary>
    public static void Sysenter(X86Cpu c, in Instruction i)
    {
        ref CpuState s = ref c.S;
        if (!s.ProtectedMode || (s.SysenterCs & 0xFFFC) == 0)
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        bool longMode = s.LongModeActive;
        var cs = (ushort)(s.SysenterCs & 0xFFFC);
        s.Rflags &= ~(Flags.VM | Flags.IF | Flags.RF);
        s.Cs = FlatCode(cs, longMode, 0);
        s.Ss = FlatData((ushort)(cs + 8), 0);
        s.Gpr[CpuState.RSP] = longMode ? s.SysenterEsp : s.SysenterEsp & 0xFFFF_FFFF;
        s.Rip = longMode ? s.SysenterEip : s.SysenterEip & 0xFFFF_FFFF;
        c.EndBlock();
    }

    /// <summary>
    /// SYSEXIT: #GP(0) unless protected mode at CPL 0 with IA32_SYSENTER_CS[15:2] != 0. Returns to
    /// CPL 3 at EDX with stack ECX: CS = SYSENTER_CS + 16 and SS = + 24 for 32-bit code, or with
    /// REX.W CS = + 32 and SS = + 40 for 64-bit code at RDX:RCX (#GP(0) if not canonical).
    /// </summary>
    public static void Sysexit(X86Cpu c, in Instruction i)
    {
        ref CpuState s = ref c.S;
        if (!s.ProtectedMode || (s.Rflags & Flags.VM) != 0 || s.Cpl != 0 || (s.SysenterCs & 0xFFFC) == 0)
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        bool to64 = i.Code == Code.Sysexitq;
        ulong rcx = s.Gpr[CpuState.RCX], rdx = s.Gpr[CpuState.RDX];
        if (to64 && (!X86Cpu.IsCanonical(rcx) || !X86Cpu.IsCanonical(rdx)))
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        var baseSelector = (ushort)s.SysenterCs;
        s.Cs = FlatCode((ushort)((baseSelector + (to64 ? 32 : 16)) | 3), to64, 3);
        s.Ss = FlatData((ushort)((baseSelector + (to64 ? 40 : 24)) | 3), 3);
        s.Gpr[CpuState.RSP] = to64 ? rcx : rcx & 0xFFFF_FFFF;
        s.Rip = to64 ? rdx : rdx & 0xFFFF_FFFF;
        c.EndBlock();
    }

    private static bool SyscallEnabled(X86Cpu c)
    {
        ref CpuState s = ref c.S;
        return (s.LongModeActive && s.Cs.Long && (s.Efer & ControlBits.EferSCE) != 0) || c.RaiseFault(Vector.UD);
    }

    /// <summary>
    /// SYSCALL (64-bit mode with EFER.SCE, else #UD): RCX = the next RIP, R11 = RFLAGS, RFLAGS
    /// &amp;= ~IA32_FMASK (and RF cleared), RIP = IA32_LSTAR, CS = STAR[47:32] &amp; FFFCh (64-bit,
    /// DPL 0), SS = STAR[47:32] + 8.
    /// </summary>
    public static void Syscall(X86Cpu c, in Instruction i)
    {
        if (!SyscallEnabled(c))
        {
            return;
        }

        ref CpuState s = ref c.S;
        s.Gpr[CpuState.RCX] = s.Rip;
        s.Gpr[11] = s.Rflags & ~Flags.RF;
        s.Rflags = (s.Rflags & ~(s.Sfmask | Flags.RF)) | Flags.Reserved1;
        var cs = (ushort)((s.Star >> 32) & 0xFFFC);
        s.Cs = FlatCode(cs, long64: true, 0);
        s.Ss = FlatData((ushort)(((s.Star >> 32) + 8) & 0xFFFF), 0);
        s.Rip = s.Lstar;
        c.EndBlock();
    }

    /// <summary>
    /// SYSRET (64-bit mode with EFER.SCE, else #UD; #GP(0) above CPL 0, or with REX.W and a
    /// non-canonical RCX): RFLAGS = (R11 &amp; 3C7FD7h) | 2; with REX.W to 64-bit code at RCX
    /// with CS = STAR[63:48] + 16, else to 32-bit code at ECX with CS = STAR[63:48]; SS =
    /// STAR[63:48] + 8; all with RPL 3.
    /// </summary>
    public static void Sysret(X86Cpu c, in Instruction i)
    {
        if (!SyscallEnabled(c))
        {
            return;
        }

        ref CpuState s = ref c.S;
        bool to64 = i.Code == Code.Sysretq;
        ulong rcx = s.Gpr[CpuState.RCX];
        if (s.Cpl != 0 || (to64 && !X86Cpu.IsCanonical(rcx)))
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        var userBase = (ushort)(s.Star >> 48);
        s.Rflags = (s.Gpr[11] & 0x3C7FD7) | Flags.Reserved1;
        s.Cs = FlatCode((ushort)((userBase + (to64 ? 16 : 0)) | 3), to64, 3);
        // SDM: SS.Selector = STAR[63:48] + 8 with RPL 3; the hidden part is a flat DPL-3 data segment.
        s.Ss = FlatData((ushort)((userBase + 8) | 3), 3);
        s.Rip = to64 ? rcx : rcx & 0xFFFF_FFFF;
        c.EndBlock();
    }

    /// <summary>SWAPGS: exchanges GS.base with IA32_KERNEL_GS_BASE; #UD outside 64-bit mode, #GP(0) above CPL 0.</summary>
    public static void Swapgs(X86Cpu c, in Instruction i)
    {
        ref CpuState s = ref c.S;
        if (!(s.LongModeActive && s.Cs.Long))
        {
            c.RaiseFault(Vector.UD);
            return;
        }

        if (s.Cpl != 0)
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        (s.Gs.Base, s.KernelGsBase) = (s.KernelGsBase, s.Gs.Base);
    }
}
