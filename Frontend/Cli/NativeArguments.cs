using System.CommandLine;
using Emulator.Cpu;
using Emulator.Cpu.Diagnostics;
using Emulator.Machine.Config;
using Emulator.Machine.Diagnostics;

namespace Emulator.Frontend.Cli;

/// <summary>The <c>emu run --option value</c> command line, parsed with System.CommandLine.</summary>
public static class NativeArguments
{
    public static readonly Option<string> Memory = new("--memory", "-m") { Description = "Guest RAM: MiB, or with a K/M/G suffix", DefaultValueFactory = _ => $"{MachineConfig.DefaultMemoryMiB}" };
    public static readonly Option<string?> Bios = new("--bios") { Description = "Firmware ROM image, mapped below 4 GiB and 1 MiB and entered at the reset vector" };
    public static readonly Option<string?> Kernel = new("--kernel") { Description = "Kernel: a Linux bzImage (boot protocol 2.06+) or a Multiboot kernel (ELF32 or a.out kludge), told apart by its headers" };
    public static readonly Option<string[]> Initrd = new("--initrd") { Description = "Linux: an initrd (repeat to concatenate). Multiboot: a module, \"path [arguments]\"; repeat for more" };
    public static readonly Option<string> Append = new("--append") { Description = "Kernel command line", DefaultValueFactory = _ => "" };
    public static readonly Option<string> Serial = new("--serial") { Description = "COM1 backend: stdio, file:PATH or none", DefaultValueFactory = _ => "stdio" };
    public static readonly Option<string?> Debugcon = new("--debugcon") { Description = "Debug console (port 0xE9) backend: stdio, file:PATH or none" };
    public static readonly Option<string> DebugconPort = new("--debugcon-port") { Description = "Port of the debug console", DefaultValueFactory = _ => "0xe9" };
    public static readonly Option<string?> ExitDevice = new("--exit-device") { Description = "isa-debug-exit device, e.g. iobase=0xf4,iosize=4: a write of V exits with (V<<1)|1" };
    public static readonly Option<string[]> Device = new("--device") { Description = "Add a device: pc-testdev (QEMU's test device); repeatable" };
    public static readonly Option<bool> NoReboot = new("--no-reboot") { Description = "Exit (status 0) instead of resetting on a triple fault or a reset request" };
    public static readonly Option<string?> Gdb = new("--gdb") { Description = "Start a GDB stub: tcp::1234, tcp:HOST:PORT or PORT (loopback unless a host is given)" };
    public static readonly Option<bool> WaitGdb = new("--wait-gdb") { Description = "Do not start the CPU until the debugger continues (QEMU's -S)" };
    public static readonly Option<string?> Monitor = new("--monitor") { Description = "Human monitor: stdio or tcp:HOST:PORT" };
    public static readonly Option<string?> Trace = new("--trace") { Description = "Trace categories: exec,int,cpu,pf,ioport,mmio,unimp (or all)" };
    public static readonly Option<string?> TraceFile = new("--trace-file") { Description = "Write the trace here instead of stderr" };
    public static readonly Option<string[]> TraceRange = new("--trace-range") { Description = "Limit instruction and block traces to START-END, START..END or START+LENGTH; repeatable" };
    public static readonly Option<string> TraceSyntax = new("--trace-syntax") { Description = "Disassembly syntax: intel or att", DefaultValueFactory = _ => "intel" };
    public static readonly Option<int?> Icount = new("--icount") { Description = "Deterministic time: 2^N ns of virtual time per instruction (default N=0 when given without a value)", Arity = ArgumentArity.ZeroOrOne };
    public static readonly Option<long> MaxInstructions = new("--max-instructions") { Description = "Stop after this many guest instructions (0: no limit)" };
    public static readonly Option<string> Accel = new("--accel") { Description = "Execution engine: jit (interpret cold code, compile hot blocks; QEMU's tcg) or interp (the interpreter alone)", DefaultValueFactory = _ => "jit" };
    public static readonly Option<long?> JitThreshold = new("--jit-threshold") { Description = "Block entries before the JIT compiles a block (default: 500, doubling every 32 compiled blocks up to 20000)" };
    public static readonly Option<string?> Cpu = new("--cpu") { Description = "CPU model: x86-64 (baseline), x86-64-v2, x86-64-v3, max; QEMU's qemu64, Nehalem, Haswell, host" };
    public static readonly Option<bool> Stats = new("--stats") { Description = "At exit, print instructions retired, blocks compiled, compile times, TLB hit rate and run-loop exits" };
    public static readonly Option<string?> ProfileGuest = new("--profile-guest") { Description = "Sample the guest's RIP every millisecond; at exit write \"virtual-ns rip\" lines (rip 0: halted) to this file" };

    public static Command BuildRunCommand(Func<RunOptions, int> run)
    {
        var command = new Command("run", "Boot a guest (with no options: the built-in demo ROM)");
        foreach (Option option in (Option[])[Memory, Bios, Kernel, Initrd, Append, Serial, Debugcon, DebugconPort, ExitDevice, Device, NoReboot, Gdb, WaitGdb, Monitor, Trace, TraceFile, TraceRange, TraceSyntax, Icount, MaxInstructions, Accel, JitThreshold, Stats, ProfileGuest, Cpu])
        {
            command.Options.Add(option);
        }

        command.SetAction(result => run(ToOptions(result)));
        return command;
    }

    public static RunOptions ToOptions(ParseResult result)
    {
        var machine = ToConfig(result);
        string? trace = result.GetValue(Trace);
        if (trace is not null)
        {
            machine = machine with
            {
                Trace = new TraceOptions
                {
                    Categories = TraceOptions.ParseCategories(trace),
                    File = result.GetValue(TraceFile),
                    Ranges = (result.GetValue(TraceRange) ?? []).Select(TraceOptions.ParseRange).ToList(),
                    Syntax = result.GetValue(TraceSyntax) switch
                    {
                        "att" => DisassemblySyntax.Att,
                        "intel" => DisassemblySyntax.Intel,
                        var other => throw new UsageException($"--trace-syntax must be intel or att (got {other})"),
                    },
                },
            };
        }

        if (result.GetResult(Icount) is not null)
        {
            machine = machine with { IcountShift = result.GetValue(Icount) ?? 0 };
        }

        bool wait = result.GetValue(WaitGdb);
        string? gdb = result.GetValue(Gdb);
        if (wait && gdb is null)
        {
            throw new UsageException("--wait-gdb needs --gdb");
        }

        return new RunOptions(machine with { StartPaused = wait }) { Gdb = gdb, Monitor = result.GetValue(Monitor) };
    }

    public static MachineConfig ToConfig(ParseResult result)
    {
        string? debugcon = result.GetValue(Debugcon);
        string? exit = result.GetValue(ExitDevice);
        bool pcTestdev = false;
        foreach (string device in result.GetValue(Device) ?? [])
        {
            pcTestdev = device == "pc-testdev" ? true : throw new UsageException($"device '{device}' is not supported (pc-testdev)");
        }

        long? givenThreshold = result.GetValue(JitThreshold);
        long threshold = givenThreshold ?? MachineConfig.DefaultJitThreshold;
        if (threshold < 0)
        {
            throw new UsageException("--jit-threshold must not be negative");
        }

        long max = result.GetValue(MaxInstructions);
        if (max < 0)
        {
            throw new UsageException("--max-instructions must not be negative");
        }

        return new MachineConfig
        {
            MemoryBytes = MachineConfig.ParseMemory(result.GetValue(Memory)!),
            BiosPath = result.GetValue(Bios),
            KernelPath = result.GetValue(Kernel),
            Initrds = result.GetValue(Initrd) ?? [],
            Append = result.GetValue(Append) ?? "",
            Serial = SerialTarget.Parse(result.GetValue(Serial)!),
            Debugcon = debugcon is null ? null : SerialTarget.Parse(debugcon),
            DebugconPort = (ushort)ExitDeviceConfig.ParseNumber(result.GetValue(DebugconPort)!, "--debugcon-port", 0xFFFF),
            ExitDevice = exit is null ? null : ExitDeviceConfig.Parse(exit),
            NoReboot = result.GetValue(NoReboot),
            PcTestdev = pcTestdev,
            MaxInstructions = max,
            Accel = ParseAccel(result.GetValue(Accel)!),
            JitThreshold = threshold,
            JitThresholdRamp = givenThreshold is null,
            Statistics = result.GetValue(Stats),
            GuestProfilePath = result.GetValue(ProfileGuest),
            CpuModel = result.GetValue(Cpu) is { } cpu ? ParseCpu(cpu) : CpuModels.DefaultModel,
        };
    }

    /// <summary>--cpu NAME (and QEMU's -cpu NAME): a model name of <see cref="CpuModels.TryParse"/>.</summary>
    public static CpuModel ParseCpu(string value) => CpuModels.TryParse(value, out var model)
        ? model
        : throw new UsageException($"CPU model '{value}' is not supported ({string.Join(", ", CpuModels.Names)})");

    /// <summary>--accel: jit (also tcg, QEMU's name for its translator) or interp; kvm is a separate engine not offered here.</summary>
    public static Accelerator ParseAccel(string value) => value switch
    {
        "jit" or "tcg" => Accelerator.Jit,
        "interp" or "interpreter" => Accelerator.Interpreter,
        _ => throw new UsageException($"--accel must be jit or interp (got {value})"),
    };
}
