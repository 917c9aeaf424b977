using Emulator.Cpu.Exceptions;
using Emulator.Cpu.Fpu;
using Emulator.Cpu.State;
using Emulator.Mmu.Paging;
using Iced.Intel;

namespace Emulator.Cpu;

/// <summary>
/// The x87 FPU as instruction handlers see it (SDM Vol. 1 chapter 8): the register stack over the
/// physical registers R0..R7 of <see cref="X87State"/> (ST(i) is R((TOP + i) mod 8)), the tag word,
/// the status word with its condition codes, and the checks every x87 instruction makes first:
/// #NM for CR0.EM or CR0.TS, then a pending unmasked exception (FSW.ES) at a waiting instruction,
/// which is #MF with CR0.NE = 1 and otherwise the FERR# output (SDM Vol. 3A 2.5, Vol. 1 8.7).
/// </summary>
public sealed unsafe partial class X86Cpu
{
    // FSW bits (SDM Vol. 1 8.1.3, figure 8-4).
    public const ushort FswSf = 1 << 6, FswEs = 1 << 7, FswC0 = 1 << 8, FswC1 = 1 << 9, FswC2 = 1 << 10, FswC3 = 1 << 14, FswB = 1 << 15;
    public const ushort FswConditionCodes = FswC0 | FswC1 | FswC2 | FswC3;

    /// <summary>
    /// True while the FERR# output is asserted: a waiting x87 instruction found an unmasked
    /// exception pending with CR0.NE = 0 (the MS-DOS-compatible mode, SDM Vol. 3A 2.5 and Vol. 1
    /// D.1). On a PC, FERR# drives IRQ 13; the Machine should raise IRQ 13 from
    /// <see cref="FpuErrorAsserted"/> and the guest's handler clears the exception (FNCLEX, FNINIT,
    /// FNSAVE, FLDENV or FRSTOR clear it here, which deasserts the output). The instruction itself
    /// carries on, as it does on a PC where IGNNE# is asserted by the chipset.
    /// </summary>
    public bool FerrAsserted { get; private set; }

    /// <summary>Called when FERR# goes active (see <see cref="FerrAsserted"/>); routed to IRQ 13 by the Machine.</summary>
    public Action? FpuErrorAsserted { get; set; }

    /// <summary>
    /// The checks at the start of every x87 instruction. #NM when CR0.EM or CR0.TS is set (SDM
    /// Vol. 3A 2.5, table 2-2). A waiting instruction with an unmasked exception pending takes #MF
    /// (CR0.NE = 1) or asserts FERR# (CR0.NE = 0). Non-control instructions then record their
    /// address and opcode in FIP/FCS/FOP and a memory operand's address in FDP/FDS (SDM Vol. 1
    /// 8.1.8, 8.1.9).
    /// </summary>
    internal bool FpuBegin(in Instruction i, bool waiting = true, bool control = false)
    {
        ref CpuState s = ref S;
        if ((s.Cr0 & (ControlBits.Cr0EM | ControlBits.Cr0TS)) != 0)
        {
            return RaiseFault(Vector.NM);
        }

        if (waiting && !FpuCheckPending())
        {
            return false;
        }

        if (!control)
        {
            FpuRecordPointers(i);
        }

        return true;
    }

    /// <summary>Delivers a pending unmasked exception: #MF with CR0.NE = 1, FERR# otherwise. Returns false when #MF was raised.</summary>
    internal bool FpuCheckPending()
    {
        ref CpuState s = ref S;
        if ((s.X87.Fsw & FswEs) == 0)
        {
            return true;
        }

        if ((s.Cr0 & ControlBits.Cr0NE) != 0)
        {
            return RaiseFault(Vector.MF);
        }

        if (!FerrAsserted)
        {
            FerrAsserted = true;
            FpuErrorAsserted?.Invoke();
        }

        return true;
    }

    /// <summary>Deasserts FERR# once no unmasked exception is pending any more.</summary>
    internal void FpuUpdateFerr()
    {
        if ((S.X87.Fsw & FswEs) == 0)
        {
            FerrAsserted = false;
        }
    }

    private void FpuRecordPointers(in Instruction i)
    {
        ref X87State x = ref S.X87;
        ulong ipLinear = S.LongModeActive && S.Cs.Long ? i.IP : (uint)(S.Cs.Base + i.IP);
        ushort fop = 0;
        for (int k = 0; k < i.Length; k++)
        {
            if (!ReadLinear(ipLinear + (ulong)k, 1, out ulong b, AccessKind.Execute))
            {
                ClearFault();
                break;
            }

            if (b is >= 0xD8 and <= 0xDF && k + 1 < i.Length && ReadLinear(ipLinear + (ulong)k + 1, 1, out ulong modrm, AccessKind.Execute))
            {
                fop = (ushort)(((b & 7) << 8) | modrm);
                break;
            }
        }

        // In real and virtual-8086 mode the pointers are linear addresses (the real-mode
        // environment layouts of SDM Vol. 1 figures 8-10 and 8-12 have no selector fields).
        bool real = !S.ProtectedMode || (S.Rflags & Flags.VM) != 0;
        x.Fop = fop;
        x.Fip = real ? ipLinear : i.IP;
        x.Fcs = real ? (ushort)0 : S.Cs.Selector;
        if (i.Op0Kind == OpKind.Memory || (i.OpCount > 1 && i.Op1Kind == OpKind.Memory))
        {
            Seg seg = MemorySegment(i);
            x.Fdp = real ? (uint)(S.Segment(seg).Base + EffectiveAddress(i)) : EffectiveAddress(i);
            x.Fds = real ? (ushort)0 : S.Segment(seg).Selector;
        }
    }

    public int FpuTop
    {
        get => (S.X87.Fsw >> 11) & 7;
        set => S.X87.Fsw = (ushort)((S.X87.Fsw & ~0x3800) | ((value & 7) << 11));
    }

    private int FpuPhysical(int st) => (FpuTop + st) & 7;

    public bool FpuIsEmpty(int st) => ((S.X87.Ftw >> (2 * FpuPhysical(st))) & 3) == 3;

    public Float80 FpuRead(int st)
    {
        X87Register r = S.X87.Registers[FpuPhysical(st)];
        return new Float80(r.Significand, r.SignExponent);
    }

    /// <summary>Writes ST(<paramref name="st"/>) and its tag.</summary>
    public void FpuWrite(int st, Float80 value)
    {
        int p = FpuPhysical(st);
        ref X87Register r = ref S.X87.Registers[p];
        r.Significand = value.Significand;
        r.SignExponent = value.SignExponent;
        S.X87.Ftw = (ushort)((S.X87.Ftw & ~(3 << (2 * p))) | (value.Tag << (2 * p)));
    }

    public void FpuSetEmpty(int st)
    {
        S.X87.Ftw |= (ushort)(3 << (2 * FpuPhysical(st)));
    }

    /// <summary>Decrements TOP and writes the new ST(0).</summary>
    public void FpuPush(Float80 value)
    {
        FpuTop = FpuTop - 1;
        FpuWrite(0, value);
    }

    /// <summary>Marks ST(0) empty and increments TOP.</summary>
    public void FpuPop()
    {
        FpuSetEmpty(0);
        FpuTop = FpuTop + 1;
    }

    /// <summary>The context for an arithmetic instruction: RC, PC and masks from FCW.</summary>
    public FpuContext FpuContext() => Fpu.FpuContext.FromControlWord(S.X87.Fcw);

    /// <summary>A stack underflow or overflow: #IS, which is #IA with SF set, C1 = 1 for overflow (SDM Vol. 1 8.5.1.1).</summary>
    public static void FpuStackFault(ref FpuContext ctx, bool overflow)
    {
        ctx.Raised |= FpuExceptions.Invalid;
        ctx.StackFault = true;
        ctx.RoundedUp = overflow;
    }

    /// <summary>
    /// Merges an operation's exceptions into FSW: the sticky flags, SF and C1 on a stack fault,
    /// otherwise C1 = round-up when <paramref name="setC1"/>, and ES/B summarising unmasked
    /// flags (SDM Vol. 1 8.1.3).
    /// </summary>
    public void FpuFinish(in FpuContext ctx, bool setC1 = true)
    {
        ref X87State x = ref S.X87;
        int fsw = x.Fsw | (int)ctx.Raised;
        if (ctx.StackFault)
        {
            fsw |= FswSf;
            fsw = ctx.RoundedUp ? fsw | FswC1 : fsw & ~FswC1;
        }
        else if (setC1)
        {
            fsw = ctx.RoundedUp && !ctx.Aborted ? fsw | FswC1 : fsw & ~FswC1;
        }

        x.Fsw = (ushort)fsw;
        FpuUpdateSummary();
    }

    /// <summary>ES and B follow the unmasked exception flags (SDM Vol. 1 8.1.3.1).</summary>
    public void FpuUpdateSummary()
    {
        ref X87State x = ref S.X87;
        bool pending = (x.Fsw & ~x.Fcw & 0x3F) != 0;
        x.Fsw = (ushort)(pending ? x.Fsw | FswEs | FswB : x.Fsw & ~(FswEs | FswB));
        FpuUpdateFerr();
    }

    /// <summary>Sets C3, C2, C1, C0 (each 0 or 1) and leaves the rest of FSW.</summary>
    public void FpuSetConditionCodes(int c3, int c2, int c1, int c0)
    {
        ref X87State x = ref S.X87;
        x.Fsw = (ushort)((x.Fsw & ~FswConditionCodes) | (c0 << 8) | (c1 << 9) | (c2 << 10) | (c3 << 14));
    }
}
