using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// MOV to and from DR0-DR7 (SDM Vol. 2B, "MOV—Move to/from Debug Registers"; Vol. 3A 17.2).
/// The checks, in order: CPL above 0 (and virtual-8086 mode) is #GP(0); DR8-DR15 and, with
/// CR4.DE = 1, DR4/DR5 are #UD (with CR4.DE = 0 they alias DR6/DR7); DR7.GD = 1 makes any
/// debug-register access a #DB fault with DR6.BD; in 64-bit mode a value with bits 63:32 set
/// written to DR6 or DR7 is #GP(0).
/// </summary>
public static class DebugRegisterOps
{
    /// <summary>The register number MOV names, after the DR4/DR5 aliasing; -1 after raising a fault.</summary>
    private static int Resolve(X86Cpu c, Register register)
    {
        ref CpuState s = ref c.S;
        if (s.Cpl != 0)
        {
            c.RaiseFault(Vector.GP, 0);
            return -1;
        }

        int n = register - Register.DR0;
        if (n > 7)
        {
            c.RaiseFault(Vector.UD);
            return -1;
        }

        if (n is 4 or 5)
        {
            if ((s.Cr4 & ControlBits.Cr4DE) != 0)
            {
                c.RaiseFault(Vector.UD);
                return -1;
            }

            n += 2;
        }

        if ((s.Dr[7] & X86Cpu.Dr7GD) != 0)
        {
            c.RaiseGeneralDetect();
            return -1;
        }

        return n;
    }

    public static void MovFromDr(X86Cpu c, in Instruction i)
    {
        int n = Resolve(c, i.Op1Register);
        if (n >= 0)
        {
            c.SetReg(i.Op0Register, c.S.Dr[n]);
        }
    }

    public static void MovToDr(X86Cpu c, in Instruction i)
    {
        int n = Resolve(c, i.Op0Register);
        if (n < 0)
        {
            return;
        }

        ref CpuState s = ref c.S;
        ulong value = c.GetReg(i.Op1Register);
        if (n < 4)
        {
            // A breakpoint address: any value (a 32-bit operand zero-extends).
            s.Dr[n] = value;
        }
        else if ((value >> 32) != 0)
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }
        else if (n == 6)
        {
            s.Dr[6] = (value & X86Cpu.Dr6Writable) | X86Cpu.Dr6Fixed1;
        }
        else
        {
            s.Dr[7] = (value & X86Cpu.Dr7Writable) | X86Cpu.Dr7Fixed1;
        }

        c.RefreshDebugRegisters();
        c.EndBlock();
    }
}
