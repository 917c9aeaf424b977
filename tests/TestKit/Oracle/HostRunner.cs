using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;

namespace Emulator.TestKit.Oracle;

/// <summary>
/// Runs cases natively in a child process (oracle-runner.c, compiled with gcc at first use into
/// .build/oracle/), so a fault, a hang or a corrupted stack in a case cannot take the test host
/// down. Cases go in batches over the child's stdin; a child that dies is restarted and its
/// unfinished cases come back with <see cref="Crashed"/> as their vector.
/// </summary>
public sealed class HostRunner : IDisposable
{
    /// <summary>The vector reported for a case whose runner process died.</summary>
    public const ulong Crashed = 0xDEAD;

    private const int Batch = 16;
    private static readonly Lazy<(string? Path, string? Reason)> s_binary = new(Build);
    private readonly byte[] _wrapper;
    private Process? _process;

    public HostRunner(bool ymm)
    {
        _wrapper = OracleLayout.WrapperPage(host: true, ymm);
    }

    /// <summary>Null when the runner can be used; otherwise why not (no gcc, no x86-64 host).</summary>
    public static string? Unavailable => s_binary.Value.Reason;

    /// <summary>Runs every case; <paramref name="states"/> are updated in place with what the host left.</summary>
    public void Run(IReadOnlyList<OracleState> states, IReadOnlyList<byte[]> bodies)
    {
        for (int start = 0; start < states.Count; start += Batch)
        {
            int count = Math.Min(Batch, states.Count - start);
            RunBatch(states, bodies, start, count);
        }
    }

    private void RunBatch(IReadOnlyList<OracleState> states, IReadOnlyList<byte[]> bodies, int start, int count)
    {
        var process = Start();
        var saved = new OracleState[count];
        for (int k = 0; k < count; k++)
        {
            saved[k] = states[start + k].Clone();
        }

        var input = process.StandardInput.BaseStream;
        var output = process.StandardOutput.BaseStream;
        try
        {
            input.Write(BitConverter.GetBytes(count));
            for (int k = start; k < start + count; k++)
            {
                states[k].CodeLength = bodies[k].Length;
                input.Write(states[k].Block);
                input.Write(bodies[k]);
                input.Write(states[k].Data);
            }

            input.Flush();
            for (int k = start; k < start + count; k++)
            {
                output.ReadExactly(states[k].Block);
                output.ReadExactly(states[k].Data);
            }
        }
        catch (Exception e) when (e is IOException or EndOfStreamException)
        {
            // The runner died (a case broke it). Start afresh and run the batch's cases one at a
            // time, so only the case that kills the runner is reported as crashed.
            Stop();
            if (count == 1)
            {
                states[start].Vector = Crashed;
                return;
            }

            for (int k = start; k < start + count; k++)
            {
                saved[k - start].Block.CopyTo(states[k].Block, 0);
                saved[k - start].Data.CopyTo(states[k].Data, 0);
                RunBatch(states, bodies, k, 1);
            }
        }
    }

    private Process Start()
    {
        if (_process is { HasExited: false })
        {
            return _process;
        }

        Stop();
        var (path, reason) = s_binary.Value;
        if (path is null)
        {
            throw new InvalidOperationException(reason);
        }

        var info = new ProcessStartInfo(path)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
        };
        _process = Process.Start(info) ?? throw new InvalidOperationException("cannot start the oracle runner");
        var input = _process.StandardInput.BaseStream;
        input.Write(BitConverter.GetBytes(OracleLayout.Magic));
        input.Write(BitConverter.GetBytes(_wrapper.Length));
        input.Write(_wrapper);
        input.Flush();
        Span<byte> ready = stackalloc byte[4];
        _process.StandardOutput.BaseStream.ReadExactly(ready);
        if (BitConverter.ToUInt32(ready) != OracleLayout.Magic)
        {
            throw new InvalidOperationException("the oracle runner did not start");
        }

        return _process;
    }

    private void Stop()
    {
        if (_process is null)
        {
            return;
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.BaseStream.Write(new byte[4]);
                _process.StandardInput.Close();
                if (!_process.WaitForExit(2000))
                {
                    _process.Kill();
                }
            }
        }
        catch (IOException)
        {
            // It was already gone.
        }

        _process.Dispose();
        _process = null;
    }

    public void Dispose() => Stop();

    private static (string? Path, string? Reason) Build()
    {
        if (!OperatingSystem.IsLinux() || System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture != System.Runtime.InteropServices.Architecture.X64)
        {
            return (null, "the host oracle needs an x86-64 Linux host");
        }

        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("oracle-runner.c")!;
        using var reader = new StreamReader(stream);
        string source = reader.ReadToEnd();
        string hash = Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(source)))[..12];
        string directory = Path.Combine(RepositoryRoot() ?? Path.GetTempPath(), ".build", "oracle");
        string binary = Path.Combine(directory, $"oracle-runner-{hash}");
        if (File.Exists(binary))
        {
            return (binary, null);
        }

        Directory.CreateDirectory(directory);
        string sourcePath = Path.Combine(directory, $"oracle-runner-{hash}.c");
        File.WriteAllText(sourcePath, source);
        string temporary = binary + $".{Environment.ProcessId}.tmp";
        try
        {
            var gcc = Process.Start(new ProcessStartInfo("gcc", ["-O2", "-Wall", "-Werror", "-o", temporary, sourcePath]) { RedirectStandardError = true, UseShellExecute = false });
            if (gcc is null)
            {
                return (null, "gcc did not start");
            }

            string errors = gcc.StandardError.ReadToEnd();
            gcc.WaitForExit();
            if (gcc.ExitCode != 0)
            {
                return (null, $"gcc failed on oracle-runner.c: {errors}");
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return (null, "gcc is not installed (apt-get install gcc)");
        }

        File.Move(temporary, binary, overwrite: true);
        return (binary, null);
    }

    private static string? RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Emulator.sln")))
            {
                return d.FullName;
            }
        }

        return null;
    }
}
