using System.Text;
using Emulator.Machine.Config;

namespace Emulator.Machine.Tests;

/// <summary>Boots a <see cref="MachineConfig"/> in-process and captures what the guest printed.</summary>
public sealed record GuestRun(int ExitStatus, string Output, string Diagnostics)
{
    public static GuestRun Boot(MachineConfig config)
    {
        var stdout = new MemoryStream();
        var diagnostics = new StringWriter();
        int status;
        using (var vm = new VirtualMachine(config with { MaxInstructions = config.MaxInstructions == 0 ? 50_000_000 : config.MaxInstructions }, stdout, diagnostics))
        {
            status = vm.Run();
        }

        return new GuestRun(status, Encoding.ASCII.GetString(stdout.ToArray()), diagnostics.ToString());
    }
}
