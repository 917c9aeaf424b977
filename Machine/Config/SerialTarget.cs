namespace Emulator.Machine.Config;

/// <summary>Where a character device (COM1, the debug console) sends its bytes.</summary>
public sealed record SerialTarget(SerialTargetKind Kind, string? Path = null)
{
    public static readonly SerialTarget Stdio = new(SerialTargetKind.Stdio);
    public static readonly SerialTarget None = new(SerialTargetKind.None);

    /// <summary>Parses QEMU's chardev spellings: stdio, none, null, file:PATH.</summary>
    public static SerialTarget Parse(string text)
    {
        if (text is "stdio" or "mon:stdio")
        {
            return Stdio;
        }

        if (text is "none" or "null")
        {
            return None;
        }

        if (text.StartsWith("file:", StringComparison.Ordinal) && text.Length > 5)
        {
            return new SerialTarget(SerialTargetKind.File, text[5..]);
        }

        throw new ConfigException($"unsupported character device '{text}' (expected stdio, none or file:PATH)");
    }

    public override string ToString() => Kind == SerialTargetKind.File ? $"file:{Path}" : Kind.ToString().ToLowerInvariant();
}
