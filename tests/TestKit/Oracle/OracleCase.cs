using Iced.Intel;

namespace Emulator.TestKit.Oracle;

/// <summary>
/// One generated case: its instructions, their bytes (ending in the jump to the epilogue), the
/// starting state, and what the SDM leaves undefined at its end (flags, the mask of x87 condition codes).
/// <see cref="Seed"/> and <see cref="Index"/> regenerate it (EMU_ORACLE_REPRO=seed:index).
/// </summary>
public sealed record OracleCase(int Seed, int Index, string Family, IReadOnlyList<Instruction> Instructions, byte[] Body, OracleState Input, ulong UndefinedFlags, ushort X87UndefinedMask)
{
    /// <summary>The address of each instruction, and the flags and x87 condition codes undefined before it (for a case that faults there).</summary>
    public IReadOnlyList<ulong> Addresses { get; init; } = [];

    public IReadOnlyList<ulong> UndefinedBefore { get; init; } = [];

    public IReadOnlyList<ushort> X87UndefinedBefore { get; init; } = [];

    /// <summary>
    /// The stack positions (bit i = ST(i)) that may hold the result of a transcendental
    /// instruction at the end, and before each instruction (for a case that faults there): the
    /// only registers <see cref="OracleComparer"/> compares with a tolerance.
    /// </summary>
    public byte TranscendentalSt { get; init; }

    public IReadOnlyList<byte> TranscendentalStBefore { get; init; } = [];

    /// <summary>The MXCSR flags compared (all six unless the case needs one left out).</summary>
    public uint MxcsrFlagMask { get; init; } = 0x3F;

    /// <summary>The undefined flags and x87 condition codes where execution stopped: at the end, or before the faulting instruction.</summary>
    public (ulong Flags, ushort X87) UndefinedAt(ulong? faultRip)
    {
        if (faultRip is { } rip)
        {
            for (int k = 0; k < Addresses.Count; k++)
            {
                if (Addresses[k] == rip)
                {
                    return (UndefinedBefore[k], X87UndefinedBefore[k]);
                }
            }
        }

        return (UndefinedFlags, X87UndefinedMask);
    }

    /// <summary><see cref="TranscendentalSt"/> where execution stopped: at the end, or before the faulting instruction.</summary>
    public byte TranscendentalAt(ulong? faultRip)
    {
        if (faultRip is { } rip)
        {
            for (int k = 0; k < Addresses.Count; k++)
            {
                if (Addresses[k] == rip)
                {
                    return TranscendentalStBefore[k];
                }
            }
        }

        return TranscendentalSt;
    }

    /// <summary>The instructions as text, "; "-separated.</summary>
    public string Text => string.Join("; ", Instructions.Select(i => i.ToString()));

    /// <summary>The body's bytes without the final jump, as hex.</summary>
    public string Hex => Convert.ToHexString(Body.AsSpan(0, Body.Length - 5)).ToLowerInvariant();

    /// <summary>The one-line reproduction printed with a mismatch.</summary>
    public string Repro => $"EMU_ORACLE_REPRO={Seed}:{Index} family={Family} bytes={Hex} [{Text}]";
}
