using Xunit;

namespace Emulator.Machine.Tests.Acpi;

/// <summary>A fact that needs ACPICA's iasl (Debian's acpica-tools); skipped, with the reason, where it is absent.</summary>
public sealed class RequiresIaslFactAttribute : FactAttribute
{
    public const string IaslPath = "/usr/bin/iasl";

    public RequiresIaslFactAttribute()
    {
        if (!File.Exists(IaslPath))
        {
            Skip = "iasl is not installed (Debian package acpica-tools; ./run-tests --install installs it)";
        }
    }
}
