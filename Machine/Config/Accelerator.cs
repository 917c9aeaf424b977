namespace Emulator.Machine.Config;

/// <summary>Which engine runs the guest (<c>--accel</c>).</summary>
public enum Accelerator
{
    /// <summary>The tiered translator: interpret cold blocks, compile hot ones (DESIGN.md, "Execution").</summary>
    Jit,

    /// <summary>Tier 0 only.</summary>
    Interpreter,
}
