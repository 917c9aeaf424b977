using Emulator.Cpu;
using Emulator.Cpu.State;

namespace Emulator.Machine.Boot;

/// <summary>
/// The memory-type ranges a PC BIOS programs before it starts an OS (SDM Vol. 3A 11.11), set by the
/// kernel loaders, which play the firmware's part. SeaBIOS's layout (src/fw/mtrr.c): the first
/// 640 KiB write-back, the VGA window 0xA0000-0xBFFFF uncached, the ROM area 0xC0000-0xFFFFF
/// write-protected, one variable range making the top of the 32-bit space (the PCI hole with the
/// APICs and the HPET) uncached, and write-back as the enabled default type. Without this Linux finds
/// the MTRRs "all blank", and with MTRRs off it does not use PAT either.
/// </summary>
public static class FirmwareMtrrs
{
    public const byte Uncached = 0, WriteProtect = 5, WriteBack = 6;

    /// <summary>IA32_MTRR_DEF_TYPE: E (bit 11), FE (bit 10), default type write-back.</summary>
    public const ulong DefType = (1UL << 11) | (1UL << 10) | WriteBack;

    /// <summary>The uncached range at the top of 4 GiB: 2 GiB when RAM below 4 GiB ends by 2 GiB, else the last 1 GiB.</summary>
    public static (ulong Base, ulong Size) UncachedHole(ulong lowRamEnd) =>
        lowRamEnd <= 0x8000_0000 ? (0x8000_0000, 0x8000_0000) : (0xC000_0000, 0x4000_0000);

    public static void Program(ref CpuState s, ulong lowRamEnd)
    {
        Write(ref s, Mtrr.Fix64K00000, Repeat(WriteBack)); // 0x00000-0x7FFFF
        Write(ref s, Mtrr.Fix16K80000, Repeat(WriteBack)); // 0x80000-0x9FFFF
        Write(ref s, Mtrr.Fix16KA0000, Repeat(Uncached)); // 0xA0000-0xBFFFF
        for (uint k = 0; k < 8; k++)
        {
            Write(ref s, Mtrr.Fix4KC0000 + k, Repeat(WriteProtect)); // 0xC0000-0xFFFFF
        }

        var (holeBase, holeSize) = UncachedHole(lowRamEnd);
        ulong addressBits = (1UL << Mmu.Physical.PhysicalMemory.PhysicalAddressBits) - 1;
        Write(ref s, Mtrr.PhysBase0, holeBase | Uncached);
        Write(ref s, Mtrr.PhysBase0 + 1, (addressBits & ~(holeSize - 1) & ~0xFFFUL) | (1UL << 11)); // mask, valid
        Write(ref s, Mtrr.DefType, DefType);
    }

    private static ulong Repeat(byte type) => type * 0x0101_0101_0101_0101UL;

    private static void Write(ref CpuState s, uint index, ulong value)
    {
        if (!Mtrr.TryWrite(ref s, index, value))
        {
            throw new InvalidOperationException($"MTRR {index:X} rejected {value:X}");
        }
    }
}
