using Iced.Intel;

namespace Emulator.TestKit.Oracle;

/// <summary>
/// One generated case: its instructions, their bytes (ending in the jump to the epilogue), the
/// starting state, and what the SDM leaves undefined at its end (flags, x87 condition codes).
/// <see cref="Seed"/> and <see cref="Index"/> regenerate it (EMU_ORACLE_REPRO=seed:index).
/// </summary>
public sealed record OracleCase(int Seed, int Index, string Family, IReadOnlyList<Instruction> Instructions, byte[] Body, OracleState Input, ulong UndefinedFlags, bool X87ConditionUndefined)
{
    /// <summary>
    /// C0-C3 come from FPREM or FPREM1. After a masked invalid operation (a NaN result, a stack
    /// underflow) their quotient bits and C2 are not specified (SDM Vol. 2A FPREM lists them for a
    /// completed reduction only); the comparer masks them when the host's FSW shows IE.
    /// </summary>
    public bool X87ConditionFromPrem { get; init; }

    /// <summary>The address of each instruction, and the flags and x87 condition codes undefined before it (for a case that faults there).</summary>
    public IReadOnlyList<ulong> Addresses { get; init; } = [];

    public IReadOnlyList<ulong> UndefinedBefore { get; init; } = [];

    public IReadOnlyList<bool> X87UndefinedBefore { get; init; } = [];

    /// <summary>C1 is undefined (or differs by vendor) at the end; see OracleGenerator.LeavesC1Undefined.</summary>
    public bool X87C1Undefined { get; init; }

    public IReadOnlyList<bool> X87C1UndefinedBefore { get; init; } = [];

    /// <summary>The undefined flags and x87 condition codes (C0/C2/C3, C1) where execution stopped: at the end, or before the faulting instruction.</summary>
    public (ulong Flags, bool X87, bool C1) UndefinedAt(ulong? faultRip)
    {
        if (faultRip is { } rip)
        {
            for (int k = 0; k < Addresses.Count; k++)
            {
                if (Addresses[k] == rip)
                {
                    return (UndefinedBefore[k], X87UndefinedBefore[k], X87C1UndefinedBefore[k]);
                }
            }
        }

        return (UndefinedFlags, X87ConditionUndefined, X87C1Undefined);
    }

    /// <summary>The instructions as text, "; "-separated.</summary>
    public string Text => string.Join("; ", Instructions.Select(i => i.ToString()));

    /// <summary>The body's bytes without the final jump, as hex.</summary>
    public string Hex => Convert.ToHexString(Body.AsSpan(0, Body.Length - 5)).ToLowerInvariant();

    /// <summary>The one-line reproduction printed with a mismatch.</summary>
    public string Repro => $"EMU_ORACLE_REPRO={Seed}:{Index} family={Family} bytes={Hex} [{Text}]";
}
