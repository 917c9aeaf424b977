namespace Emulator.Machine.Config;

/// <summary>A configuration or input problem to report to the user in one line (exit status 1 or 2).</summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string message)
        : base(message)
    {
    }

    public ConfigException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public ConfigException()
    {
    }
}
