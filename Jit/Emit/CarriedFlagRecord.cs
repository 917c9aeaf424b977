namespace Emulator.Jit.Emit;

/// <summary>
/// A flag record carried across a branch between the blocks of a translation
/// (BlockEmitter.Carry.cs): <see cref="Word"/> packs the flags it holds (bits 63..32) and its
/// shape as <see cref="BlockEmitter.ComputeFlags"/> takes it (bits 31..0), 0 for none; A, B and R
/// are the record's operands and result. The translation keeps it in one local whose address it
/// passes to <see cref="BlockEmitter.ComputeCarriedFlags"/>, so RyuJIT keeps it in the frame: a
/// branch stores it, and only the exits of the block it goes to ever load it. Public: the quick
/// tier's methods (<see cref="BlockMethod"/>) live in another assembly.
/// </summary>
public struct CarriedFlagRecord
{
    public ulong Word;
    public ulong A;
    public ulong B;
    public ulong R;
}
