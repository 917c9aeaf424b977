using Emulator.Cpu;
using Emulator.Machine.Acpi;
using Emulator.Machine.Config;
using Xunit;

namespace Emulator.Machine.Tests.Boot;

/// <summary>
/// A fact that boots the Debian guest of scripts/get-linux-guest. It is skipped, with the reason,
/// only for what can be checked before booting: the cached guest is absent; the CPU model does
/// not advertise what every x86-64 kernel requires (FPU, FXSR, SSE, SSE2 in CPUID.1:EDX;
/// arch/x86/include/asm/required-features.h); or the board has no ACPI PM1 control block, which
/// "poweroff -f" writes to. Once all are there, the test runs. EMU_LINUX_BOOT_FORCE=1 runs it
/// anyway (to see how far the boot gets); only a missing guest still skips it then.
/// </summary>
public sealed class RequiresLinuxGuestFactAttribute : FactAttribute
{
    // CPUID.1:EDX (SDM Vol. 2A table 3-11).
    public const uint EdxFpu = 1u << 0;
    public const uint EdxFxsr = 1u << 24;
    public const uint EdxSse = 1u << 25;
    public const uint EdxSse2 = 1u << 26;

    public static string GuestDirectory => Path.Combine(RepoPaths.Root, ".cache", "linux-guest");

    public RequiresLinuxGuestFactAttribute()
    {
        Skip = MissingPrerequisite();
    }

    /// <summary>A slow boot test for wide runs: skipped unless this environment variable is 1.</summary>
    public string? WideRunVariable
    {
        get => _wideRunVariable;
        set
        {
            _wideRunVariable = value;
            if (Skip is null && value is not null && Environment.GetEnvironmentVariable(value) != "1")
            {
                Skip = $"a wide-run guest test: set {value}=1 to run it";
            }
        }
    }

    private string? _wideRunVariable;

    public static string? MissingPrerequisite()
    {
        if (!File.Exists(Path.Combine(GuestDirectory, "vmlinuz")) || !File.Exists(Path.Combine(GuestDirectory, "initramfs.gz")))
        {
            return "the Linux guest is not in .cache/linux-guest (scripts/get-linux-guest fetches it; ./run-tests --install runs it)";
        }

        if (Environment.GetEnvironmentVariable("EMU_LINUX_BOOT_FORCE") == "1")
        {
            return null;
        }

        uint edx = new CpuidModel().Leaf1Edx;
        var missing = new List<string>();
        foreach (var (bit, name) in new[] { (EdxFpu, "FPU"), (EdxFxsr, "FXSR"), (EdxSse, "SSE"), (EdxSse2, "SSE2") })
        {
            if ((edx & bit) == 0)
            {
                missing.Add(name);
            }
        }

        if (missing.Count > 0)
        {
            return $"the CPU model lacks {string.Join(", ", missing)} (CPUID.1:EDX), which every x86-64 Linux kernel requires";
        }

        using var vm = new VirtualMachine(new MachineConfig { MemoryBytes = 2UL << 20 }, Stream.Null, TextWriter.Null);
        if (vm.Board.Ports.Lookup(PlatformLayout.Pm1aControlBlock) is null)
        {
            return $"the board has no ACPI PM device (no PM1a control block at port 0x{PlatformLayout.Pm1aControlBlock:x}), so the guest cannot power off";
        }

        return null;
    }
}
