namespace Emulator.Machine.Tests;

/// <summary>Finds files of the repository (the guest programs under roms/) from the test's output folder.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Rom(params string[] parts) => Path.Combine([Root, "roms", .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Emulator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("cannot find the repository root (Emulator.sln) above " + AppContext.BaseDirectory);
    }
}
