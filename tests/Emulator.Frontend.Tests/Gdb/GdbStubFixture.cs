using System.Net;
using Emulator.Frontend.Gdb;

namespace Emulator.Frontend.Tests.Gdb;

/// <summary>A stub on an ephemeral loopback port over a fresh fake target, and a connected client.</summary>
public sealed class GdbStubFixture : IDisposable
{
    private readonly List<GdbTestClient> _clients = [];

    public GdbStubFixture(bool guestRunning = false, Action<string>? trace = null)
    {
        Server = new GdbServer(Target, new GdbEndpoint(IPAddress.Loopback, 0))
        {
            KillRequested = () => KillCount++,
            GuestExited = status => ExitStatus = status,
            Trace = trace,
        };
        Server.Start(guestRunning);
    }

    public FakeDebugTarget Target { get; } = new();

    public GdbServer Server { get; }

    public int KillCount { get; private set; }

    public int? ExitStatus { get; private set; }

    public GdbTestClient Connect()
    {
        var client = new GdbTestClient(Server.LocalEndPoint!);
        _clients.Add(client);
        return client;
    }

    public void Dispose()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        Server.Dispose();
        Target.Dispose();
    }
}
