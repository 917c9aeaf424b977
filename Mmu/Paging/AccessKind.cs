namespace Emulator.Mmu.Paging;

public enum AccessKind
{
    Read = 0,
    Write = 1,
    Execute = 2,
}
