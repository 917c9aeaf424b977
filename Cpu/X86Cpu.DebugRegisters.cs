using System.Runtime.CompilerServices;
using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.Mmu.Paging;
using Iced.Intel;

namespace Emulator.Cpu;

/// <summary>
/// The guest's debug architecture (SDM Vol. 3A chapter 17): DR0-DR3 breakpoints enabled by DR7,
/// status in DR6, the single-step trap of EFLAGS.TF and the resume flag EFLAGS.RF. These are the
/// guest's own breakpoints; the emulator's debugger breakpoints (X86Cpu.Debug.cs) are separate and
/// never visible to the guest.
/// <para>
/// Speed: DR7 is decoded into three bit masks when it is written (and when a run starts), so an
/// interpreter without enabled guest breakpoints tests one field per instruction. Data breakpoints
/// turn the TLB fast path off while enabled, as debugger watchpoints do, and are checked on the
/// slow access path. Debug traps are collected during an instruction and delivered after it
/// completes (SDM 17.3.1: data breakpoints, single step and I/O breakpoints are traps).
/// </para>
/// </summary>
public sealed partial class X86Cpu
{
    /// <summary>DR6 bits (SDM Vol. 3A 17.2.3, figure 17-1).</summary>
    public const ulong Dr6B0 = 1, Dr6BD = 1UL << 13, Dr6BS = 1UL << 14, Dr6BT = 1UL << 15;

    /// <summary>DR6 bits that always read as 1 (bits 4-11, 16-31) on a CPU without RTM or bus-lock detection.</summary>
    public const ulong Dr6Fixed1 = 0xFFFF_0FF0;

    /// <summary>DR6 bits software can write: B0-B3, BD, BS, BT.</summary>
    public const ulong Dr6Writable = 0xF | Dr6BD | Dr6BS | Dr6BT;

    /// <summary>DR7.GD, general detect (bit 13), and the bit 10 that always reads 1 (SDM 17.2.4).</summary>
    public const ulong Dr7GD = 1UL << 13, Dr7Fixed1 = 1UL << 10;

    /// <summary>DR7 bits software can write: L0-G3, LE, GE (0-9), GD (13), R/W and LEN fields (16-31).</summary>
    public const ulong Dr7Writable = 0x3FF | Dr7GD | 0xFFFF_0000;

    private int _codeBreakpoints;
    private int _dataBreakpoints;
    private int _ioBreakpoints;
    private bool _checkAccesses;
    private ulong _pendingDr6;
    private bool _debugTrapPending;
    private bool _faultPushesRf;

    /// <summary>
    /// Re-decodes DR7 (and CR4.DE for I/O breakpoints) into the masks the interpreter tests. Called
    /// after MOV to DR7 or CR4 and at the start of every run, so a state written from outside
    /// (a debugger, a snapshot) is picked up too.
    /// </summary>
    public void RefreshDebugRegisters()
    {
        ref CpuState s = ref S;
        ulong dr7 = s.Dr[7];
        int code = 0, data = 0, io = 0;
        for (int n = 0; n < 4; n++)
        {
            if (((dr7 >> (2 * n)) & 3) == 0)
            {
                continue;
            }

            switch ((dr7 >> (16 + (4 * n))) & 3)
            {
                case 0:
                    code |= 1 << n;
                    break;
                case 1:
                case 3:
                    data |= 1 << n;
                    break;
                default:
                    // R/W = 10b: I/O breakpoints with CR4.DE = 1, undefined without (SDM 17.2.5).
                    if ((s.Cr4 & ControlBits.Cr4DE) != 0)
                    {
                        io |= 1 << n;
                    }

                    break;
            }
        }

        _codeBreakpoints = code;
        _dataBreakpoints = data;
        _ioBreakpoints = io;
        UpdateAccessChecks();
    }

    /// <summary>Memory accesses take the checked path while debugger watchpoints or guest data breakpoints exist.</summary>
    private void UpdateAccessChecks()
    {
        _checkAccesses = _watchpoints.Count > 0 || _dataBreakpoints != 0;
        if (Tlb.Enabled == _checkAccesses)
        {
            Tlb.Enabled = !_checkAccesses;
        }
    }

    /// <summary>The breakpoint length LENn encodes (SDM 17.2.5): 00b 1 byte, 01b 2, 10b 8, 11b 4.</summary>
    private static ulong BreakpointLength(ulong dr7, int n) => ((dr7 >> (18 + (4 * n))) & 3) switch
    {
        0 => 1,
        1 => 2,
        2 => 8,
        _ => 4,
    };

    /// <summary>
    /// Instruction breakpoints (SDM 17.3.1.1): a fault reported before the instruction at
    /// <paramref name="linear"/> executes, unless EFLAGS.RF is set. Returns true and leaves #DB
    /// pending when one matches.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // rare: kept out of the run loop's code
    private bool CodeBreakpointHit(ulong linear)
    {
        ref CpuState s = ref S;
        ulong hits = 0;
        for (int n = 0; n < 4; n++)
        {
            if ((_codeBreakpoints & (1 << n)) != 0 && s.Dr[n] == linear)
            {
                hits |= 1UL << n;
            }
        }

        if (hits == 0)
        {
            return false;
        }

        s.Dr[6] = (s.Dr[6] & ~0xFUL) | hits;
        RaiseFault(Vector.DB);
        return true;
    }

    /// <summary>Data breakpoints (SDM 17.2.5): R/W 01b breaks on writes, 11b on reads and writes; the hit is a trap.</summary>
    private void CheckDataBreakpoints(ulong linear, int size, AccessKind kind)
    {
        if (kind == AccessKind.Execute)
        {
            return;
        }

        ref CpuState s = ref S;
        ulong dr7 = s.Dr[7];
        for (int n = 0; n < 4; n++)
        {
            if ((_dataBreakpoints & (1 << n)) == 0 || (kind == AccessKind.Read && ((dr7 >> (16 + (4 * n))) & 3) != 3))
            {
                continue;
            }

            // The low address bits below the length are ignored (SDM 17.2.5, "breakpoint field recognition").
            ulong length = BreakpointLength(dr7, n);
            ulong start = s.Dr[n] & ~(length - 1);
            if (linear < start + length && start < linear + (ulong)size)
            {
                _pendingDr6 |= 1UL << n;
                _debugTrapPending = true;
                S.ExitRequest = 1;
            }
        }
    }

    /// <summary>I/O breakpoints (SDM 17.2.5, R/W = 10b with CR4.DE = 1): a trap after IN, OUT, INS or OUTS touches the port.</summary>
    internal void CheckIoBreakpoints(ushort port, int size)
    {
        if (_ioBreakpoints == 0)
        {
            return;
        }

        ref CpuState s = ref S;
        ulong dr7 = s.Dr[7];
        for (int n = 0; n < 4; n++)
        {
            if ((_ioBreakpoints & (1 << n)) == 0)
            {
                continue;
            }

            ulong length = BreakpointLength(dr7, n);
            ulong start = (s.Dr[n] & 0xFFFF) & ~(length - 1);
            if (port < start + length && start < (ulong)port + (ulong)size)
            {
                _pendingDr6 |= 1UL << n;
                _debugTrapPending = true;
                S.ExitRequest = 1;
            }
        }
    }

    /// <summary>MOV DR with DR7.GD = 1: a #DB fault before the instruction, with DR6.BD (SDM 17.2.4, 17.3.1.2).</summary>
    internal bool RaiseGeneralDetect()
    {
        S.Dr[6] |= Dr6BD;
        _faultPushesRf = true;
        return RaiseFault(Vector.DB);
    }

    /// <summary>Drops trap conditions collected by an instruction that faulted or by an event delivery.</summary>
    private void DiscardDebugTraps()
    {
        _pendingDr6 = 0;
        _debugTrapPending = false;
    }

    /// <summary>
    /// The debug work after an instruction completes, entered only when it ran with TF or RF set
    /// or collected a trap: clear RF (SDM 17.3.1.1: RF is cleared after every instruction that
    /// completes, except an IRET that loads it), raise the single-step trap (17.3.1.4) and deliver
    /// #DB for the collected traps. After MOV SS or POP SS the traps wait one more instruction
    /// (SDM Vol. 3A 6.8.3). Returns 0 when nothing was delivered, 1 after #DB delivery, -1 on a
    /// triple fault.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)] // rare: kept out of the run loop's code
    private int AfterInstructionDebug(ulong startFlags, in Instruction instruction)
    {
        ref CpuState s = ref S;
        if ((startFlags & Flags.RF) != 0 && instruction.Mnemonic is not (Mnemonic.Iret or Mnemonic.Iretd or Mnemonic.Iretq))
        {
            s.Rflags &= ~Flags.RF;
        }

        // SDM 17.3.1.4: the trap follows an instruction that ran with TF = 1, so not the one that
        // set TF (POPF, IRET). INT n, INT3, INTO and INT1 clear TF as they deliver their interrupt and
        // are not followed by a single-step trap; "debuggers must emulate INT n".
        if ((startFlags & Flags.TF) != 0 && !(instruction.Code is Code.Int_imm8 or Code.Int3 or Code.Int1
            || (instruction.Code == Code.Into && (startFlags & Flags.OF) != 0)))
        {
            _pendingDr6 |= Dr6BS;
            _debugTrapPending = true;
        }

        if (!_debugTrapPending)
        {
            return 0;
        }

        if (s.InterruptShadow == ShadowMovSs)
        {
            return 0;
        }

        ulong bits = _pendingDr6;
        DiscardDebugTraps();
        s.Dr[6] = (s.Dr[6] & ~0xFUL) | bits;
        RaiseFault(Vector.DB);
        return DeliverPendingFault(s.Rip) ? 1 : -1;
    }
}
