namespace Emulator.Mmu.Ports;

/// <summary>A device mapped into the I/O-port space at [<see cref="Base"/>, <see cref="Base"/>+<see cref="Length"/>).</summary>
public sealed record PortRange(ushort Base, int Length, IBusDevice Device)
{
    public int End => Base + Length;

    public override string ToString() => $"{Base:x4}-{End - 1:x4} {Device.Name}";
}
