using System.CommandLine;
using Emulator.Machine.Config;

namespace Emulator.Frontend.Cli;

/// <summary>The <c>emu run --option value</c> command line, parsed with System.CommandLine.</summary>
public static class NativeArguments
{
    public static readonly Option<string> Memory = new("--memory", "-m") { Description = "Guest RAM: MiB, or with a K/M/G suffix", DefaultValueFactory = _ => $"{MachineConfig.DefaultMemoryMiB}" };
    public static readonly Option<string?> Bios = new("--bios") { Description = "Firmware ROM image, mapped below 4 GiB and 1 MiB and entered at the reset vector" };
    public static readonly Option<string?> Kernel = new("--kernel") { Description = "Multiboot kernel (ELF32 or a.out kludge)" };
    public static readonly Option<string[]> Initrd = new("--initrd") { Description = "Multiboot module, \"path [arguments]\"; repeat for more" };
    public static readonly Option<string> Append = new("--append") { Description = "Kernel command line", DefaultValueFactory = _ => "" };
    public static readonly Option<string> Serial = new("--serial") { Description = "COM1 backend: stdio, file:PATH or none", DefaultValueFactory = _ => "stdio" };
    public static readonly Option<string?> Debugcon = new("--debugcon") { Description = "Debug console (port 0xE9) backend: stdio, file:PATH or none" };
    public static readonly Option<string> DebugconPort = new("--debugcon-port") { Description = "Port of the debug console", DefaultValueFactory = _ => "0xe9" };
    public static readonly Option<string?> ExitDevice = new("--exit-device") { Description = "isa-debug-exit device, e.g. iobase=0xf4,iosize=4: a write of V exits with (V<<1)|1" };
    public static readonly Option<bool> NoReboot = new("--no-reboot") { Description = "Stop instead of resetting on a triple fault" };
    public static readonly Option<long> MaxInstructions = new("--max-instructions") { Description = "Stop after this many guest instructions (0: no limit)" };

    public static Command BuildRunCommand(Func<MachineConfig, int> run)
    {
        var command = new Command("run", "Boot a guest (with no options: the built-in demo ROM)");
        foreach (Option option in (Option[])[Memory, Bios, Kernel, Initrd, Append, Serial, Debugcon, DebugconPort, ExitDevice, NoReboot, MaxInstructions])
        {
            command.Options.Add(option);
        }

        command.SetAction(result => run(ToConfig(result)));
        return command;
    }

    public static MachineConfig ToConfig(ParseResult result)
    {
        string? debugcon = result.GetValue(Debugcon);
        string? exit = result.GetValue(ExitDevice);
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
            MaxInstructions = max,
        };
    }
}
