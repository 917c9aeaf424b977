using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Jit.Analysis;

/// <summary>
/// Which arithmetic flags are still to be read after each instruction of a block (a backward
/// liveness pass over Iced's RflagsRead and RflagsModified). An inline instruction computes only
/// the flags live after it. Everything is live at the block's end (the next block may read any
/// flag), and before any instruction that calls a handler or can leave the block early: a handler
/// reads RFLAGS whole, and an exception pushes it.
/// </summary>
public static class FlagLiveness
{
    /// <summary>The six status flags in EFLAGS bit positions.</summary>
    public const ulong All = Flags.Arith;

    /// <summary>
    /// For each instruction, the live EFLAGS status bits after it. <paramref name="pure"/> marks
    /// instructions that neither call out nor leave early; <paramref name="liveOut"/> is what is
    /// live after the last (everything, unless the caller knows where the code goes on).
    /// </summary>
    public static ulong[] LiveAfter(Instruction[] instructions, bool[] pure, ulong liveOut = All)
    {
        var liveAfter = new ulong[instructions.Length];
        ulong live = liveOut;
        for (int k = instructions.Length - 1; k >= 0; k--)
        {
            liveAfter[k] = live;
            ref readonly Instruction i = ref instructions[k];
            live = pure[k] ? (live & ~ToEflags(i.RflagsModified)) | ToEflags(i.RflagsRead) : All;
        }

        return liveAfter;
    }

    /// <summary>Iced's <see cref="RflagsBits"/> as EFLAGS bits (status flags only).</summary>
    public static ulong ToEflags(RflagsBits bits)
    {
        ulong f = 0;
        f |= (bits & RflagsBits.CF) != 0 ? Flags.CF : 0;
        f |= (bits & RflagsBits.PF) != 0 ? Flags.PF : 0;
        f |= (bits & RflagsBits.AF) != 0 ? Flags.AF : 0;
        f |= (bits & RflagsBits.ZF) != 0 ? Flags.ZF : 0;
        f |= (bits & RflagsBits.SF) != 0 ? Flags.SF : 0;
        f |= (bits & RflagsBits.OF) != 0 ? Flags.OF : 0;
        return f;
    }
}
