using Emulator.Cpu.Decode;
using Emulator.Machine;
using Emulator.Machine.Config;

namespace Emulator.Bench;

/// <summary>
/// Runs one of the guest benchmarks of roms/bench (the multiboot kernel bench.elf that
/// bench/compare.sh times) in a whole machine, and collects every distinct block the run entered.
/// </summary>
public static class GuestBenchmarkRun
{
    /// <summary>The benchmarks bench.elf knows (its command line picks one).</summary>
    public static readonly string[] Names = ["sort", "hash", "matmul", "search", "bytecode", "memcpy"];

    /// <summary>roms/bench/bench.elf, found from the working directory or the assembly's directory upwards.</summary>
    public static string KernelPath()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "roms", "bench", "bench.elf");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new FileNotFoundException("roms/bench/bench.elf not found above the working directory");
    }

    /// <summary>
    /// Runs <paramref name="name"/> on <paramref name="accel"/>; returns the guest's output line,
    /// the instructions retired and the wall time.
    /// </summary>
    public static (string Output, ulong Instructions, TimeSpan Elapsed) Run(string name, Accelerator accel)
    {
        var output = new MemoryStream();
        var config = new MachineConfig
        {
            KernelPath = KernelPath(),
            Append = name,
            MemoryBytes = 128UL << 20,
            Serial = SerialTarget.Stdio,
            ExitDevice = new ExitDeviceConfig(0xF4, 4),
            Accel = accel,
        };
        using var vm = new VirtualMachine(config, output, TextWriter.Null);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        vm.Run();
        watch.Stop();
        string text = System.Text.Encoding.ASCII.GetString(output.ToArray()).Trim();
        return (text, vm.Cpu.S.InstructionsRetired, watch.Elapsed);
    }
}
