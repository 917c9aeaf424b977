namespace Emulator.TestKit;

/// <summary>The execution engines a CPU test runs on (DESIGN.md: every CPU test runs on every engine).</summary>
public enum Engine
{
    /// <summary>Tier 0, the interpreter in Cpu/.</summary>
    Interpreter,

    /// <summary>
    /// Tier 1, the IL translator in Jit/, compiling every block on its first entry on the test's
    /// thread (TestMachine attaches it with threshold 0, synchronously), so the tested code really
    /// runs compiled wherever the translation can run it.
    /// </summary>
    Jit,
}
