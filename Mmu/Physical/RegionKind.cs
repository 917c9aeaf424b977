namespace Emulator.Mmu.Physical;

public enum RegionKind
{
    Ram,
    Rom,
    Mmio,
}
