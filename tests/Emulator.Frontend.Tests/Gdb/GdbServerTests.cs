using Xunit;

namespace Emulator.Frontend.Tests.Gdb;

/// <summary>The server's life cycle around sessions: a guest started running (QEMU's -s without -S).</summary>
public class GdbServerTests
{
    [Fact]
    public void ARunningGuestIsStoppedWhenAClientConnects()
    {
        using var stub = new GdbStubFixture(guestRunning: true);
        Assert.True(stub.Target.Running.Wait(TimeSpan.FromSeconds(10)));
        var client = stub.Connect();
        Assert.Equal("T02thread:01;", client.Command("?"));
        Assert.False(stub.Target.Running.IsSet);
    }

    [Fact]
    public void AClientThatDropsWhileTheGuestRunsLeavesItRunning()
    {
        using var stub = new GdbStubFixture();
        var first = stub.Connect();
        first.Send("c");
        Assert.True(stub.Target.Running.Wait(TimeSpan.FromSeconds(10)));
        first.Dispose();

        var second = stub.Connect();
        Assert.Equal("T02thread:01;", second.Command("?"));
        Assert.Equal(["continue", "interrupt"], stub.Target.Calls);
    }
}
