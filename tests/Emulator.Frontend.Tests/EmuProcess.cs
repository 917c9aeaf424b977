using System.Diagnostics;

namespace Emulator.Frontend.Tests;

/// <summary>Runs the real <c>emu</c> executable (built beside this test) as a user would, with a time limit.</summary>
public sealed record EmuProcess(int ExitCode, string Stdout, string Stderr)
{
    public static string RepoRoot { get; } = FindRoot();

    public static string Rom(params string[] parts) => Path.Combine([RepoRoot, "roms", .. parts]);

    public static EmuProcess RunWithInput(string stdin, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "emu.dll"));
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Write(stdin);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"emu {string.Join(' ', args)} did not finish in 60 s");
        }

        return new EmuProcess(process.ExitCode, stdout.Result, stderr.Result);
    }

    public static EmuProcess Run(params string[] args) => RunWithInput("", args);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Emulator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("cannot find the repository root");
    }
}
