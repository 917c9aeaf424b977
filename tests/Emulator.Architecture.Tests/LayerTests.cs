using Xunit;

namespace Emulator.Architecture.Tests;

/// <summary>Keeps DESIGN.md's layering true for the real repository, and proves the checker can fail.</summary>
public class LayerTests
{
    private static ProjectInfo Project(string name, string[]? references = null, string[]? packages = null, (string, string)[]? sources = null, bool test = false)
        => new(name, test, references ?? [], packages ?? [], sources ?? []);

    private static List<ProjectInfo> CleanSolution() =>
    [
        Project("Mmu"),
        Project("Cpu", ["Mmu"], ["Iced"]),
        Project("Jit", ["Cpu", "Mmu"], ["Iced"], [("Jit/Emit/Il.cs", "using System.Reflection.Emit;")]),
        Project("Kvm", ["Cpu", "Mmu"]),
        Project("Devices", ["Mmu"]),
        Project("Machine", ["Cpu", "Jit", "Kvm", "Devices", "Mmu"]),
        Project("Frontend", ["Machine"], [], [("Frontend/Sdl/Window.cs", "SDL_CreateWindow")]),
        Project("Cpu.Tests", ["Cpu", "Devices", "Jit"], ["Iced"], [("tests/x.cs", "using System.Reflection.Emit; // SDL")], test: true),
    ];

    [Fact]
    public void TheRepositoryFollowsTheLayerRules()
    {
        string root = Repository.Root();
        var projects = Repository.LoadProjects(root);
        Assert.Contains(projects, p => p.Name == "Mmu");
        Assert.Contains(projects, p => p.Name == "Frontend");
        Assert.True(projects.Count >= 7, $"found only {projects.Count} projects under {root}");
        var violations = ArchitectureRules.Check(projects);
        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
    }

    [Fact]
    public void TheRepositoryIsReadCorrectly()
    {
        var projects = Repository.LoadProjects(Repository.Root()).ToDictionary(p => p.Name);
        Assert.Empty(projects["Mmu"].ProjectReferences);
        Assert.Contains("Mmu", projects["Devices"].ProjectReferences);
        Assert.Contains("Iced", projects["Cpu"].PackageReferences);
        Assert.True(projects["Mmu.Tests"].IsTestOrBench);
        Assert.False(projects["Machine"].IsTestOrBench);
        Assert.Contains(projects["Mmu"].Sources, s => s.Path == "Mmu/Physical/PhysicalMemory.cs");
        Assert.DoesNotContain(projects["Mmu"].Sources, s => s.Path.Contains("/obj/", StringComparison.Ordinal));
    }

    [Fact]
    public void ACleanSolutionHasNoViolations()
    {
        Assert.Empty(ArchitectureRules.Check(CleanSolution()));
    }

    [Theory]
    [InlineData("Mmu", "Cpu")]
    [InlineData("Mmu", "Devices")]
    [InlineData("Cpu", "Devices")]
    [InlineData("Cpu", "Jit")]
    [InlineData("Cpu", "Kvm")]
    [InlineData("Jit", "Devices")]
    [InlineData("Jit", "Kvm")]
    [InlineData("Kvm", "Jit")]
    [InlineData("Kvm", "Devices")]
    [InlineData("Devices", "Cpu")]
    [InlineData("Devices", "Jit")]
    [InlineData("Devices", "Kvm")]
    [InlineData("Machine", "Frontend")]
    public void AForbiddenReferenceIsReported(string from, string to)
    {
        var projects = CleanSolution();
        int i = projects.FindIndex(p => p.Name == from);
        projects[i] = projects[i] with { ProjectReferences = [.. projects[i].ProjectReferences, to] };
        var violations = ArchitectureRules.Check(projects);
        Assert.Contains(violations, v => v.StartsWith($"{from} references {to} ({from} -> {to})", StringComparison.Ordinal));
    }

    [Fact]
    public void AForbiddenReferenceThroughAnAllowedOneIsReportedWithItsPath()
    {
        var projects = CleanSolution();
        // Devices -> Mmu is allowed; Mmu -> Cpu is not, and it makes Devices reach Cpu.
        projects[0] = projects[0] with { ProjectReferences = ["Cpu"] };
        var violations = ArchitectureRules.Check(projects);
        Assert.Contains("Mmu references Cpu (Mmu -> Cpu); DESIGN.md forbids it", violations);
        Assert.Contains("Devices references Cpu (Devices -> Mmu -> Cpu); DESIGN.md forbids it", violations);
    }

    [Fact]
    public void IcedOutsideCpuAndJitIsReported()
    {
        var projects = CleanSolution();
        projects[4] = projects[4] with { PackageReferences = ["Iced"] };
        Assert.Equal(["Devices references the Iced package; only Cpu and Jit may"], ArchitectureRules.Check(projects));
    }

    [Fact]
    public void ReflectionEmitOutsideJitIsReported()
    {
        var projects = CleanSolution();
        projects[1] = projects[1] with { Sources = [("Cpu/Fast.cs", "var m = new System.Reflection.Emit.DynamicMethod(\"x\", null, null);")] };
        Assert.Equal(["Cpu/Fast.cs uses System.Reflection.Emit; only Jit may"], ArchitectureRules.Check(projects));
    }

    [Fact]
    public void SdlOutsideFrontendIsReported()
    {
        var projects = CleanSolution();
        projects[5] = projects[5] with { Sources = [("Machine/Video.cs", "[DllImport(\"SDL2\")]")] };
        Assert.Equal(["Machine/Video.cs mentions SDL; only Frontend may"], ArchitectureRules.Check(projects));
    }
}
