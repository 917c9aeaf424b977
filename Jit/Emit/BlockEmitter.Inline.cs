using Iced.Intel;

namespace Emulator.Jit.Emit;

/// <summary>Dispatch to the instruction families that have inline IL.</summary>
public sealed partial class BlockEmitter
{
    private static bool CanInline(in Instruction i, bool last) => false;

    private static bool UsesStack(in Instruction i) => false;

    private void EmitInline(int k) => throw new NotSupportedException();
}
