using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Emulator.Cpu.State;

/// <summary>
/// The architectural state of one vCPU: an unmanaged struct with a fixed layout, allocated in
/// native memory (<see cref="CpuStateBlock"/>), so that generated code reaches every field at a
/// constant offset and the KVM engine converts to and from it field by field.
/// General-purpose registers are indexed in encoding order: RAX, RCX, RDX, RBX, RSP, RBP, RSI,
/// RDI, R8..R15 (SDM Vol. 2A 2.1.5, table 2-2).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct CpuState
{
    public GprFile Gpr;
    public ulong Rip;
    public ulong Rflags;

    // Segment registers in Sreg encoding order, then LDTR and TR; see Seg.
    public SegmentRegister Es;
    public SegmentRegister Cs;
    public SegmentRegister Ss;
    public SegmentRegister Ds;
    public SegmentRegister Fs;
    public SegmentRegister Gs;
    public SegmentRegister Ldtr;
    public SegmentRegister Tr;
    public TableRegister Gdtr;
    public TableRegister Idtr;

    public ulong Cr0;
    public ulong Cr2;
    public ulong Cr3;
    public ulong Cr4;
    public ulong Cr8;
    public ulong Efer;
    public DebugRegisterFile Dr;

    /// <summary>The PDPTE registers of PAE paging (SDM Vol. 3A 4.4.1), valid while <see cref="PdptesLoaded"/> is non-zero.</summary>
    public Mmu.Paging.PdpteRegisters Pdpte;

    /// <summary>
    /// Non-zero once MOV to CR0/CR3/CR4 loaded <see cref="Pdpte"/>. State set from outside (a
    /// loader, a debugger, a test) leaves it zero, and the first PAE walk loads them from CR3.
    /// </summary>
    public int PdptesLoaded;

    // Model-specific registers an OS touches (SDM Vol. 4).
    public ulong Star;
    public ulong Lstar;
    public ulong Cstar;
    public ulong Sfmask;
    public ulong KernelGsBase;
    public ulong SysenterCs;
    public ulong SysenterEsp;
    public ulong SysenterEip;
    public ulong Pat;
    public ulong TscAux;
    public ulong ApicBase;
    public ulong MiscEnable;
    public ulong TscOffset;
    public MtrrFile Mtrr;

    /// <summary>The x87 FPU (and MMX) state.</summary>
    public X87State X87;

    /// <summary>YMM/XMM registers, MXCSR, XCR0.</summary>
    public VectorState Vector;

    /// <summary>Instructions retired since reset.</summary>
    public ulong InstructionsRetired;

    /// <summary>Non-zero while the CPU sits in HLT.</summary>
    public int Halted;

    /// <summary>For the one instruction after STI (1) or MOV SS/POP SS (2): the interrupt shadow (SDM Vol. 3A 6.8.3).</summary>
    public int InterruptShadow;

    /// <summary>Non-zero from NMI delivery until the next IRET: further NMIs wait (SDM Vol. 3A 6.7.1).</summary>
    public int NmiBlocked;

    /// <summary>
    /// Not architectural: set non-zero by anything that must end the current block at once (a
    /// fault, EndBlock, an interrupt shadow, a debug trap, code invalidation). Compiled blocks read
    /// it after each call into the interpreter's handlers and leave when it is set; the run loop
    /// clears it before entering one.
    /// </summary>
    public int ExitRequest;

    /// <summary>
    /// Not architectural: instructions that whole blocks may still retire inside a translation
    /// (the run loop sets it from the instruction budget before each entry; each jump back to a
    /// one-block loop's start, or between the members of a region, takes the instructions of the
    /// block it leaves, and is not taken when too few are left).
    /// </summary>
    public int LoopBudget;

    /// <summary>Not architectural: branches between region members taken inside a translation (statistics; the run loop sums and clears it).</summary>
    public long RegionTransitions;

    /// <summary>
    /// Not architectural: set non-zero from any thread when an interrupt may have become pending
    /// (<see cref="X86Cpu.NotifyInterrupt"/>) or a stop was requested. The run loop clears it before
    /// it looks for interrupts at a block boundary; a compiled loop leaves when it is set, so the
    /// run loop takes the interrupt within one iteration.
    /// </summary>
    public int InterruptPoll;

    /// <summary>
    /// Not architectural: the software TLB set that translated code probes inline for DS, ES and
    /// SS accesses (Mmu.Paging.Tlb.SetAddress), set by the run loop before each entry: the set of
    /// the current privilege level when those segments are flat (base 0, 4 GiB, writable data;
    /// always in 64-bit mode), else a set that never hits, which sends every access to the checked path.
    /// </summary>
    public nint TlbSet;

    /// <summary>
    /// Not architectural: where translated code keeps the address and the value of a memory access
    /// across the flags call on the access's cold path (BlockEmitter.EmitCheckedAccess), so that
    /// RyuJIT needs no register or frame slot for them on the hot path.
    /// </summary>
    public ulong JitAddress, JitValue;

    public const int RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7;

    /// <summary>Current privilege level: CS.DPL in protected mode (SDM 5.5), 0 in real mode, 3 in virtual-8086 mode.</summary>
    public readonly int Cpl => (Cr0 & ControlBits.Cr0PE) == 0 ? 0 : (Rflags & Flags.VM) != 0 ? 3 : Cs.Dpl;

    public readonly bool ProtectedMode => (Cr0 & ControlBits.Cr0PE) != 0;

    public readonly bool LongModeActive => (Efer & ControlBits.EferLMA) != 0;

    /// <summary>The code size the decoder must use: 16, 32 or 64 (SDM 3.4.5, CS.L and CS.D).</summary>
    public readonly int Bitness
    {
        get
        {
            if ((Cr0 & ControlBits.Cr0PE) == 0 || (Rflags & Flags.VM) != 0)
            {
                return 16;
            }

            if (LongModeActive && Cs.Long)
            {
                return 64;
            }

            return Cs.DefaultBig ? 32 : 16;
        }
    }

    [UnscopedRef]
    public ref SegmentRegister Segment(Seg seg) => ref Unsafe.Add(ref Es, (int)seg);

    /// <summary>The power-on / RESET state (SDM Vol. 3A 9.1.1, table 9-1).</summary>
    public void Reset()
    {
        this = default;
        Rflags = Flags.Reserved1;
        Rip = 0xFFF0;
        Cs = new SegmentRegister { Selector = 0xF000, Base = 0xFFFF0000, Limit = 0xFFFF, Attributes = SegmentRegister.AttrPresent | SegmentRegister.AttrS | SegmentRegister.AttrCode | SegmentRegister.AttrWritable | SegmentRegister.AttrAccessed };
        Ds = Es = Ss = Fs = Gs = SegmentRegister.RealMode(0);
        Ldtr = new SegmentRegister { Limit = 0xFFFF, Attributes = SegmentRegister.AttrPresent | 2 };
        Tr = new SegmentRegister { Limit = 0xFFFF, Attributes = SegmentRegister.AttrPresent | 3 };
        Gdtr.Limit = 0xFFFF;
        Idtr.Limit = 0xFFFF;
        Cr0 = ControlBits.Cr0ET | ControlBits.Cr0NW | ControlBits.Cr0CD;
        // EDX holds the processor signature after reset: family 6, as CPUID leaf 1 EAX reports.
        Gpr[RDX] = CpuidModel.Signature;
        Dr[6] = 0xFFFF0FF0;
        Dr[7] = 0x400;
        Pat = 0x0007040600070406;
        ApicBase = 0xFEE00000 | (1 << 11) | (1 << 8);
        // Fast strings enabled; BTS and PEBS unavailable; no performance monitoring (SDM Vol. 4, table 2-2).
        MiscEnable = Msr.MiscEnableResetValue;
        X87.Reset();
        Vector.Reset();
    }
}
