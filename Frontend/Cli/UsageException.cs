namespace Emulator.Frontend.Cli;

/// <summary>A malformed or unsupported command line: one line to stderr, exit status 2.</summary>
public sealed class UsageException : Exception
{
    public UsageException(string message)
        : base(message)
    {
    }

    public UsageException()
    {
    }

    public UsageException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
