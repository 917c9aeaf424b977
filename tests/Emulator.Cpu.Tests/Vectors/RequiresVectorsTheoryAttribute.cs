using Xunit;

namespace Emulator.Cpu.Tests.Vectors;

/// <summary>
/// A theory over the 80286 hardware vectors, which live in the team's shared folder beside the
/// repository (CI has it there); skipped, with the reason, in a clone without it.
/// </summary>
public sealed class RequiresVectorsTheoryAttribute : TheoryAttribute
{
    public RequiresVectorsTheoryAttribute()
    {
        if (Vector286Tests.FindDirectory() is null)
        {
            Skip = $"the 80286 vectors (shared/vectors/80286-real) are not beside this checkout; set {Vector286Tests.DirectoryVariable}";
        }
    }
}
