using Iced.Intel;

namespace Emulator.TestKit;

/// <summary>Turns Iced's per-instruction flag information into EFLAGS bit masks.</summary>
public static class FlagMask
{
    /// <summary>EFLAGS bits of the flags Iced says <paramref name="instruction"/> leaves undefined.</summary>
    public static ulong Undefined(in Instruction instruction) => ToEflags(instruction.RflagsUndefined);

    public static ulong ToEflags(RflagsBits bits)
    {
        ulong mask = 0;
        if ((bits & RflagsBits.CF) != 0)
        {
            mask |= 1UL << 0;
        }

        if ((bits & RflagsBits.PF) != 0)
        {
            mask |= 1UL << 2;
        }

        if ((bits & RflagsBits.AF) != 0)
        {
            mask |= 1UL << 4;
        }

        if ((bits & RflagsBits.ZF) != 0)
        {
            mask |= 1UL << 6;
        }

        if ((bits & RflagsBits.SF) != 0)
        {
            mask |= 1UL << 7;
        }

        if ((bits & RflagsBits.OF) != 0)
        {
            mask |= 1UL << 11;
        }

        return mask;
    }
}
