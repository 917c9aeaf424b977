using System.Reflection.Emit;

namespace Emulator.Jit.Emit;

/// <summary>
/// One shared exit for the side paths of a translation (faults, early exits, the end of a loop):
/// each side path only materialises a pending flag record (by a call, <see cref="ComputeFlags"/>)
/// and jumps there with its instruction index and RIP; the shared exit stores every register
/// local and the flags local. Every local holds its register's current value at any point (all
/// are loaded on entry and after each handler call), so storing a clean one is harmless, and
/// the flags local is complete wherever a side path leaves (FlagLiveness makes every flag live
/// before an instruction that can leave). This keeps a block's IL, and RyuJIT's compile time,
/// from growing with (exits x registers).
/// </summary>
public sealed partial class BlockEmitter
{
    private System.Reflection.Emit.Label? _commonExit;
    private LocalBuilder? _exitIndex;
    private LocalBuilder? _exitRip;

    /// <summary>Leaves the block from a side path, reporting instruction <paramref name="k"/> and RIP <paramref name="rip"/> (stack empty).</summary>
    private void EmitSideExit(int k, ulong rip)
    {
        var state = SaveFlagState();
        _onSidePath = true;
        MaterializeFlags();
        _onSidePath = false;
        RestoreFlagState(state);
        _exitIndex ??= _il.DeclareLocal(typeof(int));
        _exitRip ??= _il.DeclareLocal(typeof(long));
        _commonExit ??= _il.DefineLabel();
        _il.Emit(OpCodes.Ldc_I4, k);
        _il.Emit(OpCodes.Stloc, _exitIndex);
        _il.Emit(OpCodes.Ldc_I8, (long)(rip & _ipMask));
        _il.Emit(OpCodes.Stloc, _exitRip);
        _il.Emit(OpCodes.Br, _commonExit.Value);
    }

    /// <summary>Emits the shared exit after the last instruction, if any side path jumps to it.</summary>
    private void EmitCommonExit()
    {
        if (_commonExit is not { } label)
        {
            return;
        }

        _il.MarkLabel(label);
        for (int r = 0; r < 16; r++)
        {
            if (_reg[r] is { } local)
            {
                LoadStateAddress(StateLayout.Gpr(r));
                _il.Emit(OpCodes.Ldloc, local);
                _il.Emit(OpCodes.Stind_I8);
            }
        }

        if (_flags is not null)
        {
            LoadStateAddress(StateLayout.Rflags);
            _il.Emit(OpCodes.Ldloc, _flags);
            _il.Emit(OpCodes.Stind_I8);
        }

        LoadStateAddress(StateLayout.Rip);
        _il.Emit(OpCodes.Ldloc, _exitRip!);
        _il.Emit(OpCodes.Stind_I8);
        _il.Emit(OpCodes.Ldloc, _exitIndex!);
        _il.Emit(OpCodes.Ret);
    }
}
