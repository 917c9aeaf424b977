using System.Reflection.Emit;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Jit.Emit;

/// <summary>
/// Inline JMP rel and Jcc rel, which end a block: the registers are stored, RIP is set to the
/// target or the next instruction, and the block returns. Conditions are evaluated on the flags
/// local as Arith.Condition does (SDM Vol. 1 appendix B, table B-1). Direct targets were checked
/// when the block was planned (<see cref="TargetAllowed"/>).
/// </summary>
public sealed partial class BlockEmitter
{
    private void EmitJump(int k)
    {
        ref readonly Instruction i = ref _instructions[k];
        NoteTarget(i.NearBranchTarget);
        if (k < _instructions.Length - 1)
        {
            // A JMP the block builder followed: the next instruction is its target, nothing to do.
            return;
        }

        if (_loops)
        {
            EmitBackEdge(k);
            return;
        }

        SpillDirty();
        StoreRip(i.NearBranchTarget);
        Return(k);
    }

    private void EmitJcc(int k)
    {
        ref readonly Instruction i = ref _instructions[k];
        NoteTarget(i.NearBranchTarget);
        if (_loops)
        {
            // The condition reads only the flags local; the exits store the registers.
            var back = _il.DefineLabel();
            bool invert = EmitConditionValue(i.ConditionCode);
            _il.Emit(invert ? OpCodes.Brfalse : OpCodes.Brtrue, back);
            SpillDirtyOnSidePath();
            StoreRip(i.NextIP);
            Return(k);
            _il.MarkLabel(back);
            EmitBackEdge(k);
            return;
        }

        var taken = _il.DefineLabel();
        bool negate = EmitConditionValue(i.ConditionCode);
        _il.Emit(OpCodes.Stloc, Condition);
        SpillDirty();
        _il.Emit(OpCodes.Ldloc, Condition);
        _il.Emit(negate ? OpCodes.Brfalse : OpCodes.Brtrue, taken);
        StoreRip(i.NextIP);
        Return(k);
        _il.MarkLabel(taken);
        StoreRip(i.NearBranchTarget);
        Return(k);
    }

    /// <summary>Outside 64-bit mode a direct target must lie within the CS limit, which the run loop checks on entry.</summary>
    private void NoteTarget(ulong target)
    {
        if (_bitness != 64)
        {
            _highestTarget = Math.Max(_highestTarget, target & _ipMask);
        }
    }

    /// <summary>Pushes a value that is non-zero when the condition (or, if this returns true, its negation) holds.</summary>
    private bool EmitCondition(ConditionCode cc)
    {
        switch (cc)
        {
            case ConditionCode.o or ConditionCode.no:
                FlagBits(Flags.OF);
                return cc == ConditionCode.no;
            case ConditionCode.b or ConditionCode.ae:
                FlagBits(Flags.CF);
                return cc == ConditionCode.ae;
            case ConditionCode.e or ConditionCode.ne:
                FlagBits(Flags.ZF);
                return cc == ConditionCode.ne;
            case ConditionCode.be or ConditionCode.a:
                FlagBits(Flags.CF | Flags.ZF);
                return cc == ConditionCode.a;
            case ConditionCode.s or ConditionCode.ns:
                FlagBits(Flags.SF);
                return cc == ConditionCode.ns;
            case ConditionCode.p or ConditionCode.np:
                FlagBits(Flags.PF);
                return cc == ConditionCode.np;
            case ConditionCode.l or ConditionCode.ge:
                SignDiffersFromOverflow();
                return cc == ConditionCode.ge;
            default: // le, g: ZF or SF != OF
                SignDiffersFromOverflow();
                FlagBits(Flags.ZF);
                _il.Emit(OpCodes.Or);
                return cc == ConditionCode.g;
        }
    }

    private void FlagBits(ulong mask)
    {
        _il.Emit(OpCodes.Ldloc, _flags!);
        _il.Emit(OpCodes.Ldc_I8, (long)mask);
        _il.Emit(OpCodes.And);
    }

    /// <summary>(SF ^ OF) as bit 7: SF in place, OF (bit 11) shifted down to it.</summary>
    private void SignDiffersFromOverflow()
    {
        _il.Emit(OpCodes.Ldloc, _flags!);
        _il.Emit(OpCodes.Ldloc, _flags!);
        _il.Emit(OpCodes.Ldc_I4_4);
        _il.Emit(OpCodes.Shr_Un);
        _il.Emit(OpCodes.Xor);
        _il.Emit(OpCodes.Ldc_I8, (long)Flags.SF);
        _il.Emit(OpCodes.And);
    }
}
