namespace Emulator.Cpu;

/// <summary>
/// What started a hardware task switch (SDM Vol. 3A 8.3, table 8-1): it decides the busy bits,
/// the NT flag and the previous-task link (8.4, table 8-2 "Effect of a Task Switch on Busy Flag,
/// NT Flag, Previous Task Link Field, and TS Flag").
/// </summary>
public enum TaskSwitchSource
{
    /// <summary>JMP to a TSS or task gate: no nesting; the old task's busy bit is cleared.</summary>
    Jump,

    /// <summary>CALL to a TSS or task gate: nested; the link holds the old TSS, NT is set.</summary>
    Call,

    /// <summary>An interrupt or exception through a task gate in the IDT: nested, as CALL.</summary>
    Interrupt,

    /// <summary>IRET with NT = 1: back through the link; the old task's busy bit is cleared.</summary>
    Iret,
}
