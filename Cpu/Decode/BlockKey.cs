namespace Emulator.Cpu.Decode;

/// <summary>
/// What decides the decoding of a block: the instruction pointer Iced computes branch targets
/// from, the linear and physical address of its first byte, and the code size.
/// </summary>
public readonly record struct BlockKey(ulong Rip, ulong Linear, ulong Physical, int Bitness);
