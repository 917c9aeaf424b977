using Xunit;

namespace Emulator.Frontend.Tests;

/// <summary>A fact that needs Debian's qemu-system-x86; skipped, with the reason, where it is absent.</summary>
public sealed class RequiresQemuFactAttribute : FactAttribute
{
    public const string QemuPath = "/usr/bin/qemu-system-x86_64";

    public RequiresQemuFactAttribute()
    {
        if (!File.Exists(QemuPath))
        {
            Skip = "qemu-system-x86 is not installed (./run-tests --install installs it)";
        }
    }
}
