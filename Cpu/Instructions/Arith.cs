using System.Numerics;
using System.Runtime.CompilerServices;
using Emulator.Cpu.State;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// Result and flag computation for the arithmetic families, width-generic (size in bytes).
/// Each function takes the flags by reference and returns the result; callers commit the flags
/// only after the destination write succeeded, so a faulting instruction changes nothing.
/// Flag definitions: SDM Vol. 1 appendix A and the per-instruction pages of Vol. 2.
/// </summary>
public static class Arith
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Parity(ulong result) => (BitOperations.PopCount(result & 0xFF) & 1) == 0 ? Flags.PF : 0;

    /// <summary>Sets SF, ZF and PF from <paramref name="result"/> and the given CF, OF, AF; leaves other flags alone.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SetResultFlags(ref ulong flags, ulong result, int size, bool cf, bool of, bool af)
    {
        ulong f = flags & ~Flags.Arith;
        if (cf)
        {
            f |= Flags.CF;
        }

        if (of)
        {
            f |= Flags.OF;
        }

        if (af)
        {
            f |= Flags.AF;
        }

        if (result == 0)
        {
            f |= Flags.ZF;
        }

        if ((result & X86Cpu.SignBit(size)) != 0)
        {
            f |= Flags.SF;
        }

        flags = f | Parity(result);
    }

    public static ulong Add(ulong a, ulong b, ulong carryIn, int size, ref ulong flags)
    {
        ulong mask = X86Cpu.SizeMask(size);
        ulong r = (a + b + carryIn) & mask;
        bool cf = size == 8 ? r < a || (carryIn != 0 && r == a) : ((a + b + carryIn) >> (size * 8)) != 0;
        bool of = ((a ^ r) & (b ^ r) & X86Cpu.SignBit(size)) != 0;
        SetResultFlags(ref flags, r, size, cf, of, ((a ^ b ^ r) & 0x10) != 0);
        return r;
    }

    public static ulong Sub(ulong a, ulong b, ulong borrowIn, int size, ref ulong flags)
    {
        ulong mask = X86Cpu.SizeMask(size);
        ulong r = (a - b - borrowIn) & mask;
        bool cf = a < b || (borrowIn != 0 && a == b);
        bool of = ((a ^ b) & (a ^ r) & X86Cpu.SignBit(size)) != 0;
        SetResultFlags(ref flags, r, size, cf, of, ((a ^ b ^ r) & 0x10) != 0);
        return r;
    }

    /// <summary>AND, OR, XOR, TEST: CF = OF = 0; AF is undefined and cleared, as Intel hardware does.</summary>
    public static void Logic(ulong r, int size, ref ulong flags)
    {
        SetResultFlags(ref flags, r, size, false, false, false);
    }

    /// <summary>INC and DEC leave CF unchanged (SDM Vol. 2A, INC: "The CF flag is not affected").</summary>
    public static ulong IncDec(ulong a, bool increment, int size, ref ulong flags)
    {
        ulong cf = flags & Flags.CF;
        ulong r = increment ? Add(a, 1, 0, size, ref flags) : Sub(a, 1, 0, size, ref flags);
        flags = (flags & ~Flags.CF) | cf;
        return r;
    }

    /// <summary>Evaluates a condition code (SDM Vol. 1 appendix B, table B-1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Condition(Iced.Intel.ConditionCode cc, ulong f)
    {
        bool cf = (f & Flags.CF) != 0, zf = (f & Flags.ZF) != 0, sf = (f & Flags.SF) != 0, of = (f & Flags.OF) != 0, pf = (f & Flags.PF) != 0;
        return cc switch
        {
            Iced.Intel.ConditionCode.o => of,
            Iced.Intel.ConditionCode.no => !of,
            Iced.Intel.ConditionCode.b => cf,
            Iced.Intel.ConditionCode.ae => !cf,
            Iced.Intel.ConditionCode.e => zf,
            Iced.Intel.ConditionCode.ne => !zf,
            Iced.Intel.ConditionCode.be => cf || zf,
            Iced.Intel.ConditionCode.a => !cf && !zf,
            Iced.Intel.ConditionCode.s => sf,
            Iced.Intel.ConditionCode.ns => !sf,
            Iced.Intel.ConditionCode.p => pf,
            Iced.Intel.ConditionCode.np => !pf,
            Iced.Intel.ConditionCode.l => sf != of,
            Iced.Intel.ConditionCode.ge => sf == of,
            Iced.Intel.ConditionCode.le => zf || sf != of,
            Iced.Intel.ConditionCode.g => !zf && sf == of,
            _ => true,
        };
    }
}
