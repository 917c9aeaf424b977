using Emulator.Machine.Config;
using Emulator.Machine.Diagnostics;

namespace Emulator.Frontend.Cli;

/// <summary>
/// Reads a command line spelled as for <c>qemu-system-x86_64</c> (single-dash options), so that
/// scripts written for QEMU run unchanged with <c>emu</c> in its place. Options that would change
/// behaviour and are not supported yet are refused by name; purely cosmetic ones are accepted.
/// </summary>
public static class QemuArguments
{
    /// <summary>True when the first argument looks like a QEMU option rather than an <c>emu</c> subcommand.</summary>
    public static bool Looks(string[] args) => args.Length > 0 && args[0].StartsWith('-') && !args[0].StartsWith("--", StringComparison.Ordinal) && args[0] != "-h";

    public static MachineConfig Parse(string[] args) => ParseOptions(args).Machine;

    public static RunOptions ParseOptions(string[] args)
    {
        var config = new MachineConfig();
        string? gdb = null;
        string? monitor = null;
        bool waitGdb = false;
        var trace = new TraceOptions();
        bool tracing = false;
        bool noDefaults = false;
        SerialTarget? serial = null;
        var chardevs = new Dictionary<string, SerialTarget>(StringComparer.Ordinal);
        var debugconChardev = (string?)null;
        ushort debugconPort = 0xE9;
        SerialTarget? debugcon = null;
        var initrds = new List<string>();

        for (int k = 0; k < args.Length; k++)
        {
            string option = args[k].StartsWith("--", StringComparison.Ordinal) ? args[k][1..] : args[k];
            string Value()
            {
                if (k + 1 >= args.Length)
                {
                    throw new UsageException($"option '{args[k]}' needs a value");
                }

                return args[++k];
            }

            switch (option)
            {
                case "-m":
                    config = config with { MemoryBytes = MachineConfig.ParseMemory(MemoryValue(Value())) };
                    break;
                case "-kernel":
                    config = config with { KernelPath = Value() };
                    break;
                case "-initrd":
                    // Multiboot modules are comma-separated, each "path [arguments]".
                    initrds.AddRange(Value().Split(',', StringSplitOptions.RemoveEmptyEntries));
                    break;
                case "-append":
                    config = config with { Append = Value() };
                    break;
                case "-bios":
                    config = config with { BiosPath = Value() };
                    break;
                case "-serial":
                    serial = SerialTarget.Parse(Value());
                    break;
                case "-nographic":
                    serial ??= SerialTarget.Stdio;
                    break;
                case "-display":
                    {
                        string display = Value();
                        if (display.Split(',')[0] != "none")
                        {
                            throw new UsageException($"option '-display {display}' is not supported yet (only -display none)");
                        }

                        break;
                    }

                case "-vga":
                case "-net":
                    {
                        string v = Value();
                        if (v != "none")
                        {
                            throw new UsageException($"option '{args[k - 1]} {v}' is not supported yet (only none)");
                        }

                        break;
                    }

                case "-nodefaults":
                    noDefaults = true;
                    break;
                case "-s":
                    gdb = "tcp::1234";
                    break;
                case "-S":
                    waitGdb = true;
                    break;
                case "-gdb":
                    gdb = Value();
                    break;
                case "-monitor":
                    {
                        string v = Value();
                        if (v != "none")
                        {
                            monitor = v;
                        }

                        break;
                    }

                case "-d":
                    trace = trace with { Categories = trace.Categories | TraceOptions.ParseCategories(Value()) };
                    tracing = true;
                    break;
                case "-D":
                    trace = trace with { File = Value() };
                    break;
                case "-dfilter":
                    trace = trace with { Ranges = [.. trace.Ranges, .. Value().Split(',').Select(TraceOptions.ParseRange)] };
                    break;
                case "-icount":
                    {
                        string v = Value();
                        string shift = v.Split(',').Select(part => part.StartsWith("shift=", StringComparison.Ordinal) ? part[6..] : part).First();
                        if (!int.TryParse(shift, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) || n > 10)
                        {
                            throw new UsageException($"-icount {v}: expected shift=N with N in 0..10");
                        }

                        config = config with { IcountShift = n };
                        break;
                    }
                case "-cpu":
                    config = config with { CpuModel = NativeArguments.ParseCpu(Value()) };
                    break;
                case "-no-reboot":
                    config = config with { NoReboot = true };
                    break;
                case "-smp":
                    {
                        string v = Value();
                        if (v.Split(',')[0] is not ("1" or "cpus=1"))
                        {
                            throw new UsageException($"option '-smp {v}' is not supported yet (one vCPU)");
                        }

                        break;
                    }

                case "-accel":
                    {
                        // tcg, QEMU's translator, is our JIT; "interp" (not a QEMU name) selects the interpreter alone.
                        string v = Value();
                        config = v.Split(',')[0] switch
                        {
                            "tcg" => config with { Accel = Accelerator.Jit },
                            "interp" => config with { Accel = Accelerator.Interpreter },
                            _ => throw new UsageException($"option '-accel {v}' is not supported yet (tcg, the software CPU, or interp)"),
                        };
                        break;
                    }

                case "-machine":
                case "-M":
                    {
                        string v = Value();
                        foreach (string part in v.Split(','))
                        {
                            if (part is not ("pc" or "accel=tcg" or "q35"))
                            {
                                throw new UsageException($"option '{args[k - 1]} {v}': '{part}' is not supported yet");
                            }
                        }

                        break;
                    }

                case "-chardev":
                    {
                        var (id, target) = ParseChardev(Value());
                        chardevs[id] = target;
                        break;
                    }

                case "-debugcon":
                    debugcon = SerialTarget.Parse(Value());
                    break;
                case "-device":
                    {
                        string spec = Value();
                        string driver = spec.Split(',')[0];
                        string properties = spec.Length > driver.Length ? spec[(driver.Length + 1)..] : "";
                        switch (driver)
                        {
                            case "isa-debug-exit":
                                config = config with { ExitDevice = ExitDeviceConfig.Parse(properties) };
                                break;
                            case "isa-debugcon":
                                foreach (var (key, value) in ExitDeviceConfig.KeyValues(properties))
                                {
                                    switch (key)
                                    {
                                        case "iobase":
                                            debugconPort = (ushort)ExitDeviceConfig.ParseNumber(value, key, 0xFFFF);
                                            break;
                                        case "chardev":
                                            debugconChardev = value;
                                            break;
                                        default:
                                            throw new UsageException($"isa-debugcon has no property '{key}' supported here (iobase, chardev)");
                                    }
                                }

                                debugcon ??= SerialTarget.None;
                                break;
                            case "pc-testdev":
                                if (properties.Length > 0)
                                {
                                    throw new UsageException("pc-testdev has no properties");
                                }

                                config = config with { PcTestdev = true };
                                break;
                            default:
                                throw new UsageException($"device '{driver}' is not supported yet");
                        }

                        break;
                    }

                default:
                    throw new UsageException($"unsupported option '{args[k]}'");
            }
        }

        if (debugconChardev is not null)
        {
            debugcon = chardevs.TryGetValue(debugconChardev, out var target) ? target : throw new UsageException($"isa-debugcon refers to chardev '{debugconChardev}', which no -chardev defines");
        }

        if (waitGdb && gdb is null)
        {
            throw new UsageException("-S waits for a debugger: add -s or -gdb tcp::PORT");
        }

        var machine = config with
        {
            Initrds = initrds,
            Serial = serial ?? (noDefaults ? SerialTarget.None : SerialTarget.Stdio),
            Debugcon = debugcon,
            DebugconPort = debugconPort,
            StartPaused = waitGdb,
            Trace = tracing ? trace : null,
        };
        return new RunOptions(machine) { Gdb = gdb, Monitor = monitor };
    }

    /// <summary>QEMU's -m takes "64", "64M" or "size=64M,slots=..." (only size is meaningful here).</summary>
    private static string MemoryValue(string text)
    {
        foreach (string part in text.Split(','))
        {
            if (part.StartsWith("size=", StringComparison.Ordinal))
            {
                return part[5..];
            }

            if (!part.Contains('=', StringComparison.Ordinal))
            {
                return part;
            }
        }

        throw new UsageException($"bad memory size '{text}'");
    }

    /// <summary>-chardev stdio,id=X | file,id=X,path=P | null,id=X.</summary>
    private static (string Id, SerialTarget Target) ParseChardev(string spec)
    {
        string backend = spec.Split(',')[0];
        string? id = null, path = null;
        foreach (var (key, value) in ExitDeviceConfig.KeyValues(spec.Length > backend.Length ? spec[(backend.Length + 1)..] : ""))
        {
            switch (key)
            {
                case "id":
                    id = value;
                    break;
                case "path":
                    path = value;
                    break;
                case "signal" or "mux" or "logfile" or "append":
                    break;
                default:
                    throw new UsageException($"chardev property '{key}' is not supported yet");
            }
        }

        if (id is null)
        {
            throw new UsageException($"-chardev {spec}: needs id=");
        }

        SerialTarget target = backend switch
        {
            "stdio" => SerialTarget.Stdio,
            "null" => SerialTarget.None,
            "file" when path is not null => new SerialTarget(SerialTargetKind.File, path),
            _ => throw new UsageException($"-chardev {spec}: backend '{backend}' is not supported yet (stdio, null, file with path=)"),
        };
        return (id, target);
    }
}
