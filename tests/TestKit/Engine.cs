namespace Emulator.TestKit;

/// <summary>The execution engines a CPU test runs on (DESIGN.md: every CPU test runs on every engine).</summary>
public enum Engine
{
    /// <summary>Tier 0, the interpreter in Cpu/.</summary>
    Interpreter,
}
