using System.CommandLine;
using Emulator.Frontend.Cli;
using Emulator.Frontend.Gdb;
using Emulator.Frontend.Monitor;
using Emulator.Machine;
using Emulator.Machine.Config;
using Emulator.Machine.Debugging;

namespace Emulator.Frontend;

/// <summary>
/// The <c>emu</c> command. Exit status: what the guest asked for (isa-debug-exit, power-off = 0),
/// 1 for bad input or a guest that can never continue, 2 for a malformed command line.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        try
        {
            if (args.Length == 0)
            {
                return RunMachine(new RunOptions(new MachineConfig()));
            }

            if (QemuArguments.Looks(args))
            {
                return RunMachine(QemuArguments.ParseOptions(args));
            }

            var root = new RootCommand("emu: a software x86-64 hypervisor. With no arguments it boots the built-in demo guest. QEMU-style options (-m, -kernel, -serial, -device ...) are accepted too.");
            root.Subcommands.Add(NativeArguments.BuildRunCommand(RunMachine));
            var result = root.Parse(args);
            if (result.Errors.Count > 0)
            {
                Console.Error.WriteLine($"emu: {result.Errors[0].Message} (see emu --help)");
                return 2;
            }

            return result.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"emu: {e.Message}");
            return 2;
        }
        catch (ConfigException e) when (e.InnerException is null)
        {
            // Malformed values inside options (memory sizes, device properties).
            Console.Error.WriteLine($"emu: {e.Message}");
            return 2;
        }
    }

    private static int RunMachine(RunOptions options)
    {
        var config = options.Machine;
        if (options.Monitor == "stdio" && config.Serial.Kind == SerialTargetKind.Stdio)
        {
            throw new UsageException("the monitor and the serial port cannot both use stdio (move one: -serial file:PATH or -monitor tcp::4444)");
        }

        VirtualMachine vm;
        try
        {
            vm = new VirtualMachine(config, Console.OpenStandardOutput(), Console.Error);
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine($"emu: error: {e.Message}");
            return 1;
        }

        using (vm)
        {
            Console.CancelKeyPress += (_, e) =>
            {
                e.Cancel = true;
                vm.Stop(130);
            };

            Debugger? debugger = options.Gdb is not null || options.Monitor is not null ? new Debugger(vm) : null;
            using var exited = new ManualResetEventSlim(false);
            GdbServer? gdb = null;
            MonitorServer? monitor = null;
            try
            {
                if (options.Gdb is { } gdbSpec)
                {
                    gdb = new GdbServer(debugger!, GdbEndpoint.Parse(gdbSpec))
                    {
                        KillRequested = () => vm.Stop(0),
                        GuestExited = _ => exited.Set(),
                    };
                    gdb.Start(guestRunning: !config.StartPaused);
                    if (config.StartPaused)
                    {
                        Console.Error.WriteLine($"emu: waiting for gdb on {gdb.LocalEndPoint} (target remote {gdb.LocalEndPoint})");
                    }
                }

                if (options.Monitor is { } monitorSpec)
                {
                    monitor = new MonitorServer(debugger!.Monitor);
                    monitor.Start(monitorSpec);
                    if (monitor.LocalEndPoint is { } at)
                    {
                        Console.Error.WriteLine($"emu: monitor on {at}");
                    }
                }
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or FormatException or ArgumentException)
            {
                gdb?.Dispose();
                Console.Error.WriteLine($"emu: error: cannot listen: {e.Message}");
                return 1;
            }

            if (config.Serial.Kind == SerialTargetKind.Stdio)
            {
                StartConsoleInput(vm);
            }

            int status = vm.Run();
            if (gdb is not null)
            {
                // Give the stub a moment to tell an attached debugger that the guest exited.
                exited.Wait(TimeSpan.FromSeconds(1));
                gdb.Dispose();
            }

            monitor?.Dispose();
            return status;
        }
    }

    /// <summary>Copies bytes typed at the host console into COM1 on a background thread.</summary>
    private static void StartConsoleInput(VirtualMachine vm)
    {
        var thread = new Thread(() =>
        {
            using var input = Console.OpenStandardInput();
            var buffer = new byte[256];
            int n;
            while ((n = input.Read(buffer, 0, buffer.Length)) > 0)
            {
                for (int k = 0; k < n; k++)
                {
                    vm.SendSerialInput(buffer[k]);
                }
            }
        })
        {
            IsBackground = true,
            Name = "console input",
        };
        thread.Start();
    }
}
