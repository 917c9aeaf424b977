using System.Globalization;

namespace Emulator.Machine.Config;

/// <summary>QEMU's isa-debug-exit properties: <c>iobase=0xf4,iosize=4</c>.</summary>
public sealed record ExitDeviceConfig(ushort IoBase, int IoSize)
{
    public static ExitDeviceConfig Parse(string text)
    {
        ushort iobase = 0x501;
        int iosize = 2;
        foreach (var (key, value) in KeyValues(text))
        {
            switch (key)
            {
                case "iobase":
                    iobase = (ushort)ParseNumber(value, key, 0xFFFF);
                    break;
                case "iosize":
                    iosize = (int)ParseNumber(value, key, 4);
                    if (iosize is not (1 or 2 or 4))
                    {
                        throw new ConfigException($"isa-debug-exit iosize must be 1, 2 or 4 (got {value})");
                    }

                    break;
                default:
                    throw new ConfigException($"isa-debug-exit has no property '{key}' (expected iobase, iosize)");
            }
        }

        return new ExitDeviceConfig(iobase, iosize);
    }

    /// <summary>Splits <c>a=1,b=2</c>; a bare word (a device name) is skipped by callers that expect it.</summary>
    public static IEnumerable<(string Key, string Value)> KeyValues(string text)
    {
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new ConfigException($"expected key=value, got '{part}'");
            }

            yield return (part[..eq], part[(eq + 1)..]);
        }
    }

    /// <summary>Parses decimal or 0x-prefixed hexadecimal, within [0, max].</summary>
    public static ulong ParseNumber(string text, string what, ulong max)
    {
        bool ok = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong value)
            : ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        if (!ok || value > max)
        {
            throw new ConfigException($"bad value '{text}' for {what} (a number up to 0x{max:x})");
        }

        return value;
    }
}
