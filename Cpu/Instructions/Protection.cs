using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// Pointer-validation instructions (SDM Vol. 3A 5.10; Vol. 2A LAR, LSL, ARPL; Vol. 2B VERR, VERW).
/// LAR, LSL, VERR and VERW never fault on a bad selector: they report it by clearing ZF. They are
/// #UD in real and virtual-8086 mode. The descriptor read itself may fault (#PF).
/// </summary>
public static class Protection
{
    private static bool RequireProtected(X86Cpu c)
    {
        ref CpuState s = ref c.S;
        return (s.ProtectedMode && (s.Rflags & Flags.VM) == 0) || c.RaiseFault(Vector.UD);
    }

    private static void SetZf(X86Cpu c, bool value) => c.S.Rflags = value ? c.S.Rflags | Flags.ZF : c.S.Rflags & ~Flags.ZF;

    /// <summary>
    /// Reads the descriptor a selector names if the selector is not null and lies within its
    /// table; false (without a fault) otherwise. A fault while reading the table is recorded.
    /// </summary>
    private static bool TryDescriptor(X86Cpu c, ushort selector, out ulong descriptor, out bool faulted)
    {
        ref CpuState s = ref c.S;
        descriptor = 0;
        faulted = false;
        bool local = (selector & 4) != 0;
        ulong limit = local ? s.Ldtr.Limit : s.Gdtr.Limit;
        if ((selector & ~3) == 0 || (local && !s.Ldtr.Present) || (ulong)(selector & ~7) + 7 > limit)
        {
            return false;
        }

        ulong address = (local ? s.Ldtr.Base : s.Gdtr.Base) + (ulong)(selector & ~7);
        if (!c.ReadSystem(address, 8, out descriptor))
        {
            faulted = true;
            return false;
        }

        return true;
    }

    /// <summary>The privilege rule of LAR, LSL, VERR, VERW: unless conforming code, DPL &gt;= CPL and DPL &gt;= RPL.</summary>
    private static bool Visible(X86Cpu c, ushort selector, ulong d)
    {
        int dpl = (int)(d >> 45) & 3;
        bool conformingCode = ((d >> 40) & 0x1C) == 0x1C;
        return conformingCode || (dpl >= c.S.Cpl && dpl >= (selector & 3));
    }

    /// <summary>
    /// System descriptor types LAR accepts (SDM Vol. 2A, LAR, table 3-53): outside IA-32e mode
    /// the 16-bit TSSs, LDT, call and task gates and 32-bit TSSs and call gates; in IA-32e mode
    /// only the LDT, 64-bit TSSs and the 64-bit call gate.
    /// </summary>
    private static bool LarSystemType(int type, bool ia32e) => ia32e ? type is 0x2 or 0x9 or 0xB or 0xC : type is 0x1 or 0x2 or 0x3 or 0x4 or 0x5 or 0x9 or 0xB or 0xC;

    /// <summary>System descriptor types LSL accepts: those with a limit (TSSs and the LDT; in IA-32e mode the LDT and 64-bit TSSs).</summary>
    private static bool LslSystemType(int type, bool ia32e) => ia32e ? type is 0x2 or 0x9 or 0xB : type is 0x1 or 0x2 or 0x3 or 0x9 or 0xB;

    /// <summary>
    /// The part LAR and LSL share: read the selector operand and its descriptor, and check the type
    /// (system types by <paramref name="systemTypeOk"/>) and visibility at CPL/RPL. False with ZF = 0
    /// when the descriptor is unusable, or false with a fault pending.
    /// </summary>
    private static bool TryUsableDescriptor(X86Cpu c, in Instruction i, Func<int, bool, bool> systemTypeOk, out ushort selector, out ulong d)
    {
        selector = 0;
        d = 0;
        if (!RequireProtected(c) || !c.ReadOperand(i, 1, 2, out ulong sel))
        {
            return false;
        }

        selector = (ushort)sel;
        if (!TryDescriptor(c, selector, out d, out bool faulted))
        {
            if (!faulted)
            {
                SetZf(c, false);
            }

            return false;
        }

        bool system = (d & (1UL << 44)) == 0;
        int type = (int)(d >> 40) & 0xF;
        if ((system && !systemTypeOk(type, c.S.LongModeActive)) || !Visible(c, selector, d))
        {
            SetZf(c, false);
            return false;
        }

        return true;
    }

    /// <summary>LAR r, r/m16: the access rights (descriptor bytes 5-7, masked 00F0FF00h; FF00h for 16 bits) and ZF = 1, or ZF = 0.</summary>
    public static void Lar(X86Cpu c, in Instruction i)
    {
        if (!TryUsableDescriptor(c, i, LarSystemType, out _, out ulong d))
        {
            return;
        }

        int size = X86Cpu.RegisterSize(i.Op0Register);
        ulong rights = (d >> 32) & (size == 2 ? 0xFF00UL : 0x00F0FF00UL);
        c.SetReg(i.Op0Register, rights);
        SetZf(c, true);
    }

    /// <summary>LSL r, r/m16: the byte-granular segment limit (scaled by G) and ZF = 1, or ZF = 0.</summary>
    public static void Lsl(X86Cpu c, in Instruction i)
    {
        if (!TryUsableDescriptor(c, i, LslSystemType, out ushort selector, out ulong d))
        {
            return;
        }

        uint limit = X86Cpu.FromDescriptor(selector, d).Limit;
        c.SetReg(i.Op0Register, X86Cpu.RegisterSize(i.Op0Register) == 2 ? limit & 0xFFFF : limit);
        SetZf(c, true);
    }

    /// <summary>VERR and VERW: ZF = 1 when the segment is readable (VERR) or writable (VERW) at the current CPL and the selector's RPL.</summary>
    public static void Verify(X86Cpu c, in Instruction i)
    {
        if (!RequireProtected(c) || !c.ReadOperand(i, 0, 2, out ulong sel))
        {
            return;
        }

        var selector = (ushort)sel;
        if (!TryDescriptor(c, selector, out ulong d, out bool faulted))
        {
            if (!faulted)
            {
                SetZf(c, false);
            }

            return;
        }

        int type = (int)(d >> 40) & 0xF;
        bool segment = (d & (1UL << 44)) != 0;
        bool code = (type & 8) != 0;
        bool ok = segment && Visible(c, selector, d) && (i.Mnemonic == Mnemonic.Verw
            ? !code && (type & 2) != 0
            : !code || (type & 2) != 0);
        SetZf(c, ok);
    }

    /// <summary>ARPL r/m16, r16: raises the destination's RPL to the source's (ZF = 1), else ZF = 0. #UD outside protected mode.</summary>
    public static void Arpl(X86Cpu c, in Instruction i)
    {
        if (!RequireProtected(c) || !c.ReadOperand(i, 0, 2, out ulong destination))
        {
            return;
        }

        ulong source = c.GetReg(i.Op1Register) & 0xFFFF;
        if ((destination & 3) < (source & 3))
        {
            if (c.WriteOperand(i, 0, 2, (destination & ~3UL) | (source & 3)))
            {
                SetZf(c, true);
            }

            return;
        }

        SetZf(c, false);
    }
}
