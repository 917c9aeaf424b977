namespace Emulator.Architecture.Tests;

/// <summary>
/// What the checker knows of one project: its layer name ("Mmu", "Cpu", ... from
/// <c>Emulator.Mmu.csproj</c>), whether it is a test or benchmark project, the projects it references
/// directly (by layer name), its package references, and the text of its .cs files.
/// </summary>
public sealed record ProjectInfo(
    string Name,
    bool IsTestOrBench,
    IReadOnlyList<string> ProjectReferences,
    IReadOnlyList<string> PackageReferences,
    IReadOnlyList<(string Path, string Text)> Sources);
