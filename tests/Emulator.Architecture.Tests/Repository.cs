using System.Xml.Linq;

namespace Emulator.Architecture.Tests;

/// <summary>Reads the projects of the repository that holds this test assembly.</summary>
public static class Repository
{
    /// <summary>The folder with Emulator.sln, found by walking up from the test assembly.</summary>
    public static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Emulator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Emulator.sln above {AppContext.BaseDirectory}");
    }

    public static IReadOnlyList<ProjectInfo> LoadProjects(string root)
    {
        var projects = new List<ProjectInfo>();
        foreach (string csproj in Directory.EnumerateFiles(root, "*.csproj", SearchOption.AllDirectories).Where(p => !IsBuildOutput(root, p)))
        {
            string dir = Path.GetDirectoryName(csproj)!;
            string relative = Path.GetRelativePath(root, csproj).Replace('\\', '/');
            var xml = XDocument.Load(csproj);
            var projectReferences = xml.Descendants("ProjectReference")
                .Select(e => LayerName(Path.GetFullPath(Path.Combine(dir, (string?)e.Attribute("Include") ?? ""))))
                .ToList();
            var packages = xml.Descendants("PackageReference")
                .Select(e => (string?)e.Attribute("Include") ?? "")
                .ToList();
            var sources = Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories)
                .Where(p => !IsBuildOutput(root, p))
                .Select(p => (Path.GetRelativePath(root, p).Replace('\\', '/'), File.ReadAllText(p)))
                .ToList();
            bool testOrBench = relative.StartsWith("tests/", StringComparison.Ordinal) || relative.StartsWith("bench/", StringComparison.Ordinal);
            projects.Add(new ProjectInfo(LayerName(csproj), testOrBench, projectReferences, packages, sources));
        }

        return projects;
    }

    /// <summary>"Emulator.Mmu.csproj" is layer "Mmu"; other projects keep their file name.</summary>
    public static string LayerName(string csprojPath)
    {
        string name = Path.GetFileNameWithoutExtension(csprojPath.Replace('\\', '/'));
        return name.StartsWith("Emulator.", StringComparison.Ordinal) ? name["Emulator.".Length..] : name;
    }

    private static bool IsBuildOutput(string root, string path)
    {
        string[] parts = Path.GetRelativePath(root, path).Replace('\\', '/').Split('/');
        return parts.Any(p => p is "bin" or "obj" || p.StartsWith('.'));
    }
}
