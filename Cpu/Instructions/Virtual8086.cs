using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// IRET into and inside virtual-8086 mode (SDM Vol. 2A IRET, "RETURN-TO-VIRTUAL-8086-MODE" and
/// "RETURN-FROM-VIRTUAL-8086-MODE"; Vol. 3A 20.2.1 and 20.3). Without VME (not implemented),
/// IRET in virtual-8086 mode is IOPL-sensitive: IOPL &lt; 3 is #GP(0), for the monitor to emulate.
/// </summary>
public static class Virtual8086
{
    /// <summary>The EFLAGS bits a 32-bit IRET at CPL 0 loads (SDM Vol. 1 3.4.3).</summary>
    private const ulong AllFlags = 0x3F7FD5;

    /// <summary>
    /// IRETD at CPL 0 with VM = 1 in the popped EFLAGS: pops EIP, CS, EFLAGS, ESP, SS, ES, DS, FS
    /// and GS (nine doublewords, figure 20-2), loads them as 8086 segments and resumes at CPL 3.
    /// The stack must hold all nine (#SS(0)); EIP must be within the 8086 CS limit FFFFh (#GP(0)).
    /// </summary>
    public static void IretToVirtual8086(X86Cpu c)
    {
        ref CpuState s = ref c.S;
        Span<ulong> frame = stackalloc ulong[9];
        for (int k = 0; k < frame.Length; k++)
        {
            if (!c.PeekStack(4 * k, 4, out frame[k]))
            {
                return;
            }
        }

        if (frame[0] > 0xFFFF)
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        s.Rflags = (frame[2] & AllFlags) | Flags.Reserved1;
        c.LoadVirtual8086Segments([(ushort)frame[5], (ushort)frame[1], (ushort)frame[4], (ushort)frame[6], (ushort)frame[7], (ushort)frame[8]]);
        s.Gpr[CpuState.RSP] = frame[3] & 0xFFFF_FFFF;
        s.Rip = frame[0];
    }

    /// <summary>
    /// IRET inside virtual-8086 mode: with IOPL = 3 it pops IP (EIP), CS and FLAGS (EFLAGS) as in
    /// real mode, leaving VM, IOPL, VIP and VIF as they are; EIP past the CS limit is #GP(0).
    /// With IOPL &lt; 3 it is #GP(0) (SDM 20.2.7).
    /// </summary>
    public static void IretInVirtual8086(X86Cpu c, int size, ulong rip, ushort cs, ulong flags)
    {
        ref CpuState s = ref c.S;
        if ((s.Rflags & Flags.IOPL) != Flags.IOPL)
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        rip &= X86Cpu.SizeMask(size);
        if (rip > 0xFFFF)
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        ulong writable = (AllFlags & ~(Flags.VM | Flags.IOPL | Flags.VIP | Flags.VIF)) & (size == 2 ? 0xFFFFUL : ulong.MaxValue);
        s.Rflags = (s.Rflags & ~writable) | (flags & writable) | Flags.Reserved1;
        s.Cs = X86Cpu.Virtual8086Segment(cs, code: true);
        s.Rip = rip;
        c.AdjustStack(3 * size);
    }
}
