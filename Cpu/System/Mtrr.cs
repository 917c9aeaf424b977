using Emulator.Cpu.State;
using Emulator.Mmu.Physical;

namespace Emulator.Cpu;

/// <summary>
/// Memory type range registers (SDM Vol. 3A 11.11; MSR numbers from Vol. 4, table 2-2). The
/// emulator has no caches, so memory types change nothing it does; the registers exist because
/// firmware and kernels program them, and their reserved-bit checks are exact: a reserved bit or
/// an invalid memory type written is #GP(0) (11.11.2.1-11.11.2.3). IA32_MTRRCAP advertises 8
/// variable ranges, the fixed ranges and write-combining, and no SMRR.
/// </summary>
public static class Mtrr
{
    public const uint Cap = 0xFE;
    public const uint DefType = 0x2FF;
    public const uint PhysBase0 = 0x200;
    public const uint PhysMaskLast = 0x20F;
    public const uint Fix64K00000 = 0x250;
    public const uint Fix16K80000 = 0x258;
    public const uint Fix16KA0000 = 0x259;
    public const uint Fix4KC0000 = 0x268;
    public const uint Fix4KF8000 = 0x26F;

    public const int VariableCount = 8;

    /// <summary>IA32_MTRRCAP: VCNT = 8 (bits 7:0), FIX (bit 8), WC (bit 10).</summary>
    public const ulong CapValue = VariableCount | (1UL << 8) | (1UL << 10);

    /// <summary>IA32_MTRR_DEF_TYPE: Type (7:0), FE (10), E (11); everything else is reserved.</summary>
    public const ulong DefTypeWritable = 0xFF | (1UL << 10) | (1UL << 11);

    // Index layout of MtrrFile: fixed ranges 0-10, variable base/mask pairs 11-26, default type 27.
    private const int FixedSlot = 0, VariableSlot = 11, DefTypeSlot = 27;

    /// <summary>A memory type valid in an MTRR: UC 0, WC 1, WT 4, WP 5, WB 6 (SDM table 11-8).</summary>
    private static bool ValidType(ulong type) => type is 0 or 1 or 4 or 5 or 6;

    /// <summary>Physical-address bits 51:MAXPHYADDR are reserved in PHYSBASE and PHYSMASK.</summary>
    private static ulong AddressMask => ((1UL << PhysicalMemory.PhysicalAddressBits) - 1) & ~0xFFFUL;

    /// <summary>The MtrrFile slot of an MSR, or -1 when the MSR is not an MTRR this CPU has.</summary>
    private static int Slot(uint index) => index switch
    {
        Fix64K00000 => FixedSlot,
        Fix16K80000 => FixedSlot + 1,
        Fix16KA0000 => FixedSlot + 2,
        >= Fix4KC0000 and <= Fix4KF8000 => FixedSlot + 3 + (int)(index - Fix4KC0000),
        >= PhysBase0 and <= PhysMaskLast => VariableSlot + (int)(index - PhysBase0),
        DefType => DefTypeSlot,
        _ => -1,
    };

    public static bool IsMtrr(uint index) => index == Cap || Slot(index) >= 0;

    public static ulong Read(ref CpuState s, uint index) => index == Cap ? CapValue : s.Mtrr[Slot(index)];

    /// <summary>Writes an MTRR; false when the value is not allowed (the caller raises #GP(0)).</summary>
    public static bool TryWrite(ref CpuState s, uint index, ulong value)
    {
        int slot = Slot(index);
        if (slot < 0)
        {
            // IA32_MTRRCAP is read-only.
            return false;
        }

        bool ok;
        if (slot == DefTypeSlot)
        {
            ok = (value & ~DefTypeWritable) == 0 && ValidType(value & 0xFF);
        }
        else if (slot >= VariableSlot)
        {
            bool isMask = ((slot - VariableSlot) & 1) != 0;
            ok = isMask
                ? (value & ~(AddressMask | (1UL << 11))) == 0
                : (value & ~(AddressMask | 0xFF)) == 0 && ValidType(value & 0xFF);
        }
        else
        {
            // A fixed-range MTRR holds eight one-byte types (SDM 11.11.2.2).
            ok = true;
            for (int k = 0; k < 8; k++)
            {
                ok &= ValidType((value >> (8 * k)) & 0xFF);
            }
        }

        if (ok)
        {
            s.Mtrr[slot] = value;
        }

        return ok;
    }
}
