namespace Emulator.Machine.Diagnostics;

/// <summary>What <c>--trace</c> can log (QEMU's <c>-d</c> names in brackets).</summary>
[Flags]
public enum TraceCategories
{
    None = 0,

    /// <summary>Each executed instruction with its disassembly [in_asm, exec].</summary>
    Exec = 1 << 0,

    /// <summary>Interrupts and exceptions: vector, error code, CS:RIP, RSP [int].</summary>
    Int = 1 << 1,

    /// <summary>CPU registers at each block entry [cpu].</summary>
    Cpu = 1 << 2,

    /// <summary>Page faults with CR2 and the error code.</summary>
    Pf = 1 << 3,

    /// <summary>Port I/O, per device [ioport].</summary>
    Ioport = 1 << 4,

    /// <summary>MMIO accesses, per device.</summary>
    Mmio = 1 << 5,

    /// <summary>Unimplemented instructions [unimp].</summary>
    Unimp = 1 << 6,
}
