namespace Emulator.Frontend.Gdb;

/// <summary>What a session waits for: something from the client, or the target stopping.</summary>
public enum GdbEventKind
{
    /// <summary>A packet with a good checksum; <see cref="GdbEvent.Payload"/> is its decoded data.</summary>
    Packet,

    /// <summary>A packet with a bad checksum or undecodable data (already answered with <c>-</c>).</summary>
    BadPacket,

    /// <summary><c>+</c>: the client received our last packet.</summary>
    Ack,

    /// <summary><c>-</c>: the client wants our last packet again.</summary>
    Nak,

    /// <summary>A 0x03 byte outside a packet: Ctrl-C.</summary>
    Interrupt,

    /// <summary>The client closed the connection or it failed.</summary>
    Disconnected,

    /// <summary>A Continue or Step running on a worker returned.</summary>
    TargetStopped,
}
