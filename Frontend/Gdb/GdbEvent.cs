namespace Emulator.Frontend.Gdb;

/// <summary>One event in a session's queue; the payload is set for packets only.</summary>
public sealed record GdbEvent(GdbEventKind Kind, byte[]? Payload = null)
{
    public static readonly GdbEvent Ack = new(GdbEventKind.Ack);
    public static readonly GdbEvent Nak = new(GdbEventKind.Nak);
    public static readonly GdbEvent Interrupt = new(GdbEventKind.Interrupt);
    public static readonly GdbEvent BadPacket = new(GdbEventKind.BadPacket);
    public static readonly GdbEvent Disconnected = new(GdbEventKind.Disconnected);
    public static readonly GdbEvent TargetStopped = new(GdbEventKind.TargetStopped);
}
