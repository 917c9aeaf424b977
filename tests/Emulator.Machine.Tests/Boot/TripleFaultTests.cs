using Emulator.Machine.Config;
using Xunit;

namespace Emulator.Machine.Tests.Boot;

/// <summary>A guest that triple-faults: the machine resets, or stops with a message under --no-reboot.</summary>
public class TripleFaultTests
{
    /// <summary>
    /// A 4 KiB firmware whose reset vector loads an IDT with limit 0 and executes INT3: #GP for the
    /// missing gate, #GP again delivering it, #DF (SDM table 6-5), and no #DF gate: triple fault.
    /// </summary>
    private static string WriteTripleFaultRom()
    {
        var rom = new byte[4096];
        byte[] resetVector =
        [
            0x2E, 0x0F, 0x01, 0x1E, 0xF8, 0xFF, // lidt cs:[0xFFF8]
            0xCC,                               // int3
            0x90,
            0, 0, 0, 0, 0, 0,                   // pseudo-descriptor: limit 0, base 0
            0x90, 0x90,
        ];
        resetVector.CopyTo(rom, 4096 - 16);
        string path = Path.Combine(Path.GetTempPath(), $"emu-triple-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(path, rom);
        return path;
    }

    [Fact]
    public void NoRebootStopsWithAMessage()
    {
        string rom = WriteTripleFaultRom();
        try
        {
            var run = GuestRun.Boot(new MachineConfig { BiosPath = rom, NoReboot = true });
            Assert.Equal(0, run.ExitStatus);
            Assert.Contains("triple fault", run.Diagnostics, StringComparison.Ordinal);
            Assert.Contains("stopping", run.Diagnostics, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(rom);
        }
    }

    [Fact]
    public void WithoutNoRebootTheMachineResetsAndRunsAgain()
    {
        string rom = WriteTripleFaultRom();
        try
        {
            var run = GuestRun.Boot(new MachineConfig { BiosPath = rom, MaxInstructions = 100 });
            int resets = run.Diagnostics.Split("resetting the machine").Length - 1;
            Assert.True(resets >= 2, $"expected repeated resets, got:\n{run.Diagnostics}");
            Assert.Contains("instruction limit", run.Diagnostics, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(rom);
        }
    }
}
