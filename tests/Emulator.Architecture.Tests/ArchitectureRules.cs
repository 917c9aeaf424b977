namespace Emulator.Architecture.Tests;

/// <summary>
/// DESIGN.md, "Layers and what may depend on what", as data, and a checker that reports every
/// broken arrow. The table's "never references" column is widened by the diagram: a layer never
/// references a layer above it (Frontend -> Machine -> Jit, Kvm, Devices -> Cpu -> Mmu).
/// References are followed transitively, so a forbidden layer reached through an allowed one is
/// reported too, with its path.
/// </summary>
public static class ArchitectureRules
{
    public static readonly IReadOnlyDictionary<string, string[]> NeverReferences = new Dictionary<string, string[]>
    {
        ["Mmu"] = ["Cpu", "Jit", "Kvm", "Devices", "Machine", "Frontend"],
        ["Cpu"] = ["Devices", "Jit", "Kvm", "Machine", "Frontend"],
        ["Jit"] = ["Devices", "Kvm", "Machine", "Frontend"],
        ["Kvm"] = ["Jit", "Devices", "Machine", "Frontend"],
        ["Devices"] = ["Cpu", "Jit", "Kvm", "Machine", "Frontend"],
        ["Machine"] = ["Frontend"],
        ["Frontend"] = [],
    };

    /// <summary>DESIGN.md: "Iced is used only in Cpu and Jit" (tests and benchmarks may use it too).</summary>
    public static readonly string[] IcedAllowed = ["Cpu", "Jit"];

    public static IReadOnlyList<string> Check(IReadOnlyList<ProjectInfo> projects)
    {
        var violations = new List<string>();
        var byName = projects.ToDictionary(p => p.Name);
        foreach (var project in projects)
        {
            if (!project.IsTestOrBench && NeverReferences.TryGetValue(project.Name, out var forbidden))
            {
                foreach (var (reached, path) in Reachable(project.Name, byName))
                {
                    if (forbidden.Contains(reached))
                    {
                        violations.Add($"{project.Name} references {reached} ({path}); DESIGN.md forbids it");
                    }
                }
            }

            if (!project.IsTestOrBench && !IcedAllowed.Contains(project.Name)
                && project.PackageReferences.Any(p => p.Equals("Iced", StringComparison.OrdinalIgnoreCase)))
            {
                violations.Add($"{project.Name} references the Iced package; only Cpu and Jit may");
            }

            if (project.IsTestOrBench)
            {
                continue;
            }

            foreach (var (path, text) in project.Sources)
            {
                if (project.Name != "Jit" && text.Contains("System.Reflection.Emit", StringComparison.Ordinal))
                {
                    violations.Add($"{path} uses System.Reflection.Emit; only Jit may");
                }

                if (project.Name != "Frontend" && text.Contains("SDL", StringComparison.Ordinal))
                {
                    violations.Add($"{path} mentions SDL; only Frontend may");
                }
            }
        }

        return violations;
    }

    /// <summary>Every project reachable from <paramref name="start"/>, with the path that reaches it first.</summary>
    private static IEnumerable<(string Name, string Path)> Reachable(string start, IReadOnlyDictionary<string, ProjectInfo> byName)
    {
        var seen = new HashSet<string> { start };
        var queue = new Queue<(string Name, string Path)>();
        queue.Enqueue((start, start));
        while (queue.Count > 0)
        {
            var (name, path) = queue.Dequeue();
            var references = byName.TryGetValue(name, out var info) ? info.ProjectReferences : [];
            foreach (string next in references)
            {
                if (seen.Add(next))
                {
                    string nextPath = $"{path} -> {next}";
                    yield return (next, nextPath);
                    queue.Enqueue((next, nextPath));
                }
            }
        }
    }
}
