using System.Globalization;

namespace Emulator.Machine.Config;

/// <summary>Everything that describes one VM, whichever command-line spelling produced it.</summary>
public sealed record MachineConfig
{
    public const ulong DefaultMemoryMiB = 128;

    /// <summary>Guest RAM in bytes.</summary>
    public ulong MemoryBytes { get; init; } = DefaultMemoryMiB << 20;

    /// <summary>Firmware ROM image; null means the built-in demo ROM unless a kernel is given.</summary>
    public string? BiosPath { get; init; }

    public string? KernelPath { get; init; }

    /// <summary>Linux: initrd files, concatenated in order. Multiboot: modules, each a path optionally followed by its command line ("file arg arg").</summary>
    public IReadOnlyList<string> Initrds { get; init; } = [];

    public string Append { get; init; } = "";

    public SerialTarget Serial { get; init; } = SerialTarget.Stdio;

    public SerialTarget? Debugcon { get; init; }

    public ushort DebugconPort { get; init; } = 0xE9;

    public ExitDeviceConfig? ExitDevice { get; init; }

    /// <summary>Map QEMU's pc-testdev (ports 0xE0-0xEB and 0x2000, MMIO at 0xFF000000); QEMU's -device pc-testdev.</summary>
    public bool PcTestdev { get; init; }

    /// <summary>On a guest reset (triple fault, reset request): stop instead of rebooting.</summary>
    public bool NoReboot { get; init; }

    /// <summary>
    /// Advertise x2APIC in CPUID.1:ECX (the local APIC's MSR interface works either way once
    /// enabled). Off by default, as on QEMU's default CPU: with x2APIC and no interrupt remapping
    /// Linux complains ("x2apic: IRQ remapping doesn't support X2APIC mode").
    /// </summary>
    public bool X2Apic { get; init; }

    /// <summary>Deterministic time: virtual time advances 2^N ns per instruction (QEMU's -icount shift=N); null follows the host.</summary>
    public int? IcountShift { get; init; }

    /// <summary>The RTC's time at power-on; null means host time (or 2000-01-01 under --icount, so runs repeat).</summary>
    public DateTimeOffset? RtcBase { get; init; }

    /// <summary>What to trace; null traces nothing.</summary>
    public Diagnostics.TraceOptions? Trace { get; init; }

    /// <summary>Do not start the CPU until a debugger says so (QEMU's -S).</summary>
    public bool StartPaused { get; init; }

    /// <summary>Stop after this many instructions (0 = no limit); for tests and benchmarks.</summary>
    public long MaxInstructions { get; init; }

    /// <summary>The execution engine: the JIT over the interpreter (default, QEMU's -accel tcg), or the interpreter alone.</summary>
    public Accelerator Accel { get; init; } = Accelerator.Jit;

    /// <summary>Block entries before the JIT compiles a block.</summary>
    public long JitThreshold { get; init; } = DefaultJitThreshold;

    /// <summary>
    /// Whether the threshold ramps up to <see cref="JitThreshold"/>: it starts at
    /// <see cref="JitRampStart"/> entries and doubles every <see cref="JitRampStep"/> blocks
    /// compiled (JitOptions.RampStart). On unless --jit-threshold is given. One-run guest
    /// benchmarks (roms/bench) got their few hot blocks compiled sooner: sort 0.29 -> 0.20 s of
    /// CPU, matmul 0.165 -> 0.15 s, bytecode 0.405 -> 0.37 s; a Linux boot compiles hundreds of
    /// blocks, where the threshold soon reaches 20,000 as before (to the init marker 5.51, 5.85 s
    /// fixed against 5.47, 5.06 s ramped; 600 M instructions 4.74 against 4.77 s of CPU), while a
    /// fixed 500 or 2,000 boots slower (bench/README.md).
    /// </summary>
    public bool JitThresholdRamp { get; init; } = true;

    /// <summary>Where a ramped threshold starts (<see cref="JitThresholdRamp"/>).</summary>
    public const long JitRampStart = 500;

    /// <summary>Blocks compiled between two doublings of a ramped threshold (<see cref="JitThresholdRamp"/>).</summary>
    public const long JitRampStep = 32;

    /// <summary>
    /// A block is compiled after this many entries. RyuJIT takes 0.5-2.5 ms per block and a compiled
    /// entry saves some tens of nanoseconds, so a block pays back after roughly ten thousand entries.
    /// Measured on the Debian cloud kernel (boot to the init marker, same load): threshold 50 took
    /// 45-59 s, the interpreter alone 35 s, 20,000 took 15-19 s, because at 50 the compiler thread
    /// fought the vCPU for the two cores over thousands of blocks run a few hundred times each; the
    /// guest benchmarks' hot loops run millions of times and did not change measurably. Since the
    /// quick tier (MinOpts, about 0.2 ms a block) a compile is cheaper, but 5,000 still booted no
    /// faster than 20,000 (three interleaved pairs, 5.7-6.0 s against 5.9-6.4 s).
    /// </summary>
    public const long DefaultJitThreshold = 20_000;

    /// <summary>The CPU model: the instruction-set extensions CPUID advertises and the decoder accepts (--cpu, QEMU's -cpu).</summary>
    public Emulator.Cpu.CpuModel CpuModel { get; init; } = Emulator.Cpu.CpuModels.DefaultModel;

    /// <summary>At exit, print execution statistics (instructions, blocks compiled, compile times, TLB, exits).</summary>
    public bool Statistics { get; init; }

    /// <summary>Sample the guest's RIP about once a millisecond and write the samples here at exit (--profile-guest).</summary>
    public string? GuestProfilePath { get; init; }

    /// <summary>Parses a memory size: a number of MiB, or with a K, M, G or T suffix (QEMU's -m).</summary>
    public static ulong ParseMemory(string text)
    {
        string t = text.Trim();
        ulong multiplier = 1UL << 20;
        if (t.Length > 0 && char.IsLetter(t[^1]))
        {
            multiplier = char.ToUpperInvariant(t[^1]) switch
            {
                'K' => 1UL << 10,
                'M' => 1UL << 20,
                'G' => 1UL << 30,
                'T' => 1UL << 40,
                _ => 0,
            };
            t = t[..^1];
            if (t.EndsWith('i') || t.EndsWith('B'))
            {
                multiplier = 0;
            }
        }

        if (multiplier == 0 || !ulong.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out ulong n) || n == 0)
        {
            throw new ConfigException($"bad memory size '{text}' (expected e.g. 64, 512M or 2G)");
        }

        ulong bytes = n * multiplier;
        if (bytes < (2UL << 20) || bytes > (64UL << 30) || bytes / multiplier != n)
        {
            throw new ConfigException($"memory size '{text}' is out of range (2 MiB to 64 GiB)");
        }

        return (bytes + 0xFFF) & ~0xFFFUL;
    }
}
