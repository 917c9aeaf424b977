using Xunit;

namespace Emulator.Frontend.Tests.Gdb;

/// <summary>A fact that needs GDB itself; skipped, with the reason, where it is absent.</summary>
public sealed class RequiresGdbFactAttribute : FactAttribute
{
    public const string GdbPath = "/usr/bin/gdb";

    public RequiresGdbFactAttribute()
    {
        if (!File.Exists(GdbPath))
        {
            Skip = "gdb is not installed (Debian package gdb)";
        }
    }
}
