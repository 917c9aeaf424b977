using System.Net;
using System.Net.Sockets;
using System.Text;
using Emulator.Frontend.Gdb;
using Emulator.Machine.Debugging;

namespace Emulator.Frontend.Monitor;

/// <summary>
/// The human monitor on the console or a TCP socket (QEMU's <c>-monitor stdio</c> and
/// <c>-monitor tcp:HOST:PORT,server,nowait</c>): reads a command a line, prints its output and a
/// "(emu) " prompt. Loopback only unless an address is given.
/// </summary>
public sealed class MonitorServer : IDisposable
{
    public const string Prompt = "(emu) ";

    private readonly MonitorCommands _commands;
    private Socket? _listener;

    public MonitorServer(MonitorCommands commands)
    {
        _commands = commands;
    }

    public IPEndPoint? LocalEndPoint { get; private set; }

    /// <summary>Starts serving <paramref name="spec"/>: "stdio" or a TCP endpoint (tcp:HOST:PORT[,server,nowait]).</summary>
    public void Start(string spec)
    {
        if (spec == "stdio")
        {
            var thread = new Thread(() => Serve(Console.OpenStandardInput(), Console.OpenStandardOutput())) { IsBackground = true, Name = "monitor" };
            thread.Start();
            return;
        }

        var endpoint = GdbEndpoint.Parse(spec.Split(',')[0]);
        var listener = new Socket(endpoint.Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(endpoint.ToIPEndPoint());
            listener.Listen(4);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        _listener = listener;
        LocalEndPoint = (IPEndPoint)listener.LocalEndPoint!;
        var accept = new Thread(() => AcceptLoop(listener)) { IsBackground = true, Name = "monitor-accept" };
        accept.Start();
    }

    private void AcceptLoop(Socket listener)
    {
        while (true)
        {
            Socket client;
            try
            {
                client = listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            var thread = new Thread(() =>
            {
                using var stream = new NetworkStream(client, ownsSocket: true);
                Serve(stream, stream);
            })
            { IsBackground = true, Name = "monitor-client" };
            thread.Start();
        }
    }

    private void Serve(Stream input, Stream output)
    {
        using var reader = new StreamReader(input, Encoding.UTF8);
        using var writer = new StreamWriter(output, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
        try
        {
            writer.Write("emu monitor - type 'help' for a list of commands\n" + Prompt);
            while (reader.ReadLine() is { } line)
            {
                writer.Write(_commands.Execute(line));
                if (line.Trim() is "quit" or "q")
                {
                    return;
                }

                writer.Write(Prompt);
            }
        }
        catch (IOException)
        {
            // The client went away; the guest runs on.
        }
    }

    public void Dispose()
    {
        _listener?.Dispose();
        _listener = null;
    }
}
