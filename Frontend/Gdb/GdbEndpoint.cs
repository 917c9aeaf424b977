using System.Globalization;
using System.Net;

namespace Emulator.Frontend.Gdb;

/// <summary>Where the GDB stub listens. Loopback unless an address is given explicitly.</summary>
public sealed record GdbEndpoint(IPAddress Address, int Port)
{
    /// <summary>QEMU's <c>-s</c>: <c>tcp::1234</c>.</summary>
    public const int DefaultPort = 1234;

    public static GdbEndpoint Default { get; } = new(IPAddress.Loopback, DefaultPort);

    public IPEndPoint ToIPEndPoint() => new(Address, Port);

    /// <summary>
    /// Parses QEMU's <c>-gdb</c> spellings: <c>tcp::1234</c> and <c>tcp:HOST:1234</c> (QEMU's
    /// "chardev" syntax, options after a comma ignored), or a bare port <c>1234</c>. An empty host means
    /// loopback here (QEMU listens on every address then); <c>0.0.0.0</c> must be written out.
    /// </summary>
    /// <exception cref="FormatException">The text is none of these.</exception>
    public static GdbEndpoint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string spec = text.Trim();
        int comma = spec.IndexOf(',', StringComparison.Ordinal);
        if (comma >= 0)
        {
            spec = spec[..comma];
        }

        string host = "";
        string port = spec;
        if (spec.StartsWith("tcp:", StringComparison.OrdinalIgnoreCase))
        {
            string rest = spec[4..];
            int colon = rest.LastIndexOf(':');
            if (colon < 0)
            {
                throw new FormatException($"gdb endpoint '{text}': expected tcp:[HOST]:PORT");
            }

            host = rest[..colon];
            port = rest[(colon + 1)..];
        }

        if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out int number) || number > 65535)
        {
            throw new FormatException($"gdb endpoint '{text}': '{port}' is not a TCP port");
        }

        return new GdbEndpoint(ParseHost(host, text), number);
    }

    private static IPAddress ParseHost(string host, string text)
    {
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        if (host.Length == 0 || host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return IPAddress.Loopback;
        }

        return IPAddress.TryParse(host, out var address)
            ? address
            : throw new FormatException($"gdb endpoint '{text}': '{host}' is not an IP address");
    }

    public override string ToString() => Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
        ? $"tcp:[{Address}]:{Port}"
        : $"tcp:{Address}:{Port}";
}
