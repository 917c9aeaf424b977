using System.Reflection.Emit;
using Emulator.Cpu;
using Emulator.Jit.Analysis;
using Iced.Intel;

namespace Emulator.Jit.Emit;

/// <summary>
/// Inline MOV (register, immediate and memory forms), MOVZX, MOVSX, MOVSXD and LEA, with the
/// semantics of Cpu/Instructions/Move.cs (SDM Vol. 2B, MOV, MOVZX, MOVSX/MOVSXD, LEA).
/// </summary>
public sealed partial class BlockEmitter
{
    private void EmitMove(int k)
    {
        ref readonly Instruction i = ref _instructions[k];
        if (i.Mnemonic == Mnemonic.Mov)
        {
            int size = X86Cpu.OperandSize(i, 0);
            if (i.Op0Kind == OpKind.Memory)
            {
                // MOV m, r/imm: the address first, then the value, then the write.
                EmitEffectiveAddress(in i);
                EmitSource(k, in i, 1, size);
                _il.Emit(OpCodes.Stloc, Value);
                EmitWrite(k, (int)X86Cpu.MemorySegment(in i), size, Value);
                EmitExitIfRequested(k);
                return;
            }

            EmitSource(k, in i, 1, size);
            StoreReg(i.Op0Register);
            return;
        }

        // MOVZX, MOVSX, MOVSXD: the source has its own size; the destination write truncates or merges.
        int from = X86Cpu.OperandSize(i, 1);
        EmitSource(k, in i, 1, from);
        if (i.Mnemonic != Mnemonic.Movzx)
        {
            Extend(from, signed: true);
        }

        StoreReg(i.Op0Register);
    }

    private void EmitLea(int k)
    {
        ref readonly Instruction i = ref _instructions[k];
        EmitEffectiveAddress(in i);
        _il.Emit(OpCodes.Ldloc, Ea);
        StoreReg(i.Op0Register);
    }

    /// <summary>
    /// SHL/SAL, SHR and SAR of a register by a non-zero immediate count, with their flags as
    /// Shift.cs computes them, and the two- and three-operand IMUL (SDM Vol. 2A/2B), whose
    /// truncated product is the same signed or unsigned; both leave flag records (BlockEmitter.Flags.cs).
    /// </summary>
    private void EmitShiftOrMultiply(int k)
    {
        ref readonly Instruction i = ref _instructions[k];
        int size = X86Cpu.OperandSize(i, 0);
        if (i.Mnemonic == Mnemonic.Imul)
        {
            // A = one factor, B = the other, R = the truncated product; CF/OF (overflow) are computed from them when needed.
            EmitSource(k, in i, 1, size);
            _il.Emit(OpCodes.Stloc, A);
            if (i.OpCount == 3)
            {
                EmitSource(k, in i, 2, size);
            }
            else
            {
                LoadReg(i.Op0Register);
            }

            _il.Emit(OpCodes.Stloc, B);
            _il.Emit(OpCodes.Ldloc, A);
            _il.Emit(OpCodes.Ldloc, B);
            _il.Emit(OpCodes.Mul);
            Extend(size);
            _il.Emit(OpCodes.Stloc, R);
            _il.Emit(OpCodes.Ldloc, R);
            StoreReg(i.Op0Register);
            SetPendingFlags(k, FlagKind.SignedMultiply, size, _liveAfter[k] & FlagLiveness.ToEflags(i.RflagsModified));
            return;
        }

        if (i.Op1Kind == OpKind.Register)
        {
            EmitShiftByCl(k);
            return;
        }

        // A shift leaves its flags pending (BlockEmitter.Flags.cs): A = the operand, R = the result.
        int count = i.Immediate8 & (size == 8 ? 0x3F : 0x1F);
        LoadReg(i.Op0Register);
        _il.Emit(OpCodes.Stloc, A);
        EmitShiftOfA(in i, size, () => _il.Emit(OpCodes.Ldc_I4, count));
        SetPendingFlags(k, ShiftKind(in i), size, _liveAfter[k] & FlagLiveness.ToEflags(i.RflagsModified), count);
    }

    /// <summary>
    /// The shift itself, for both count forms: A (the operand) shifted by the count that
    /// <paramref name="pushCount"/> pushes (an int, already masked and not zero), into R and the
    /// destination register.
    /// </summary>
    private void EmitShiftOfA(in Instruction i, int size, Action pushCount)
    {
        _il.Emit(OpCodes.Ldloc, A);
        if (i.Mnemonic == Mnemonic.Sar)
        {
            Extend(size, signed: true);
        }

        pushCount();
        _il.Emit(i.Mnemonic switch
        {
            Mnemonic.Shr => OpCodes.Shr_Un,
            Mnemonic.Sar => OpCodes.Shr,
            _ => OpCodes.Shl,
        });
        Extend(size);
        _il.Emit(OpCodes.Stloc, R);
        _il.Emit(OpCodes.Ldloc, R);
        StoreReg(i.Op0Register);
    }

    private static FlagKind ShiftKind(in Instruction i) => i.Mnemonic switch
    {
        Mnemonic.Shr => FlagKind.ShiftRight,
        Mnemonic.Sar => FlagKind.ShiftArithmetic,
        _ => FlagKind.ShiftLeft,
    };

    /// <summary>Pushes operand <paramref name="n"/> (register, immediate or memory), zero-extended from <paramref name="size"/> bytes.</summary>
    private void EmitSource(int k, in Instruction i, int n, int size)
    {
        switch (i.GetOpKind(n))
        {
            case OpKind.Register:
                LoadReg(i.GetOpRegister(n));
                break;
            case OpKind.Memory:
                EmitRead(k, in i, size);
                _il.Emit(OpCodes.Ldloc, Value);
                break;
            default:
                _il.Emit(OpCodes.Ldc_I8, (long)(i.GetImmediate(n) & X86Cpu.SizeMask(size)));
                break;
        }
    }

    private LocalBuilder? _shiftCount;

    /// <summary>
    /// SHL/SHR/SAR r, CL with a count known at run time only: a masked count of zero writes the
    /// register back (a 32-bit one is zero-extended) and keeps the flags; any other count computes
    /// the live flags at once through <see cref="ComputeFlags"/>, as Shift.cs. The planner treats
    /// the instruction as one that may call out (no flag dies at it), so no record is pending here.
    /// </summary>
    private void EmitShiftByCl(int k)
    {
        ref readonly Instruction i = ref _instructions[k];
        int size = X86Cpu.OperandSize(i, 0);
        var count = _shiftCount ??= _il.DeclareLocal(typeof(int));
        var zero = _il.DefineLabel();
        var done = _il.DefineLabel();
        LoadReg(Register.CL);
        _il.Emit(OpCodes.Conv_I4);
        _il.Emit(OpCodes.Ldc_I4, size == 8 ? 0x3F : 0x1F);
        _il.Emit(OpCodes.And);
        _il.Emit(OpCodes.Stloc, count);
        LoadReg(i.Op0Register);
        _il.Emit(OpCodes.Stloc, A);
        _il.Emit(OpCodes.Ldloc, count);
        _il.Emit(OpCodes.Brfalse, zero);

        EmitShiftOfA(in i, size, () => _il.Emit(OpCodes.Ldloc, count));
        ulong need = _liveAfter[k] & FlagLiveness.ToEflags(i.RflagsModified);
        if (need != 0)
        {
            _il.Emit(OpCodes.Ldloc, _flags!);
            _il.Emit(OpCodes.Ldc_I8, (long)need);
            _il.Emit(OpCodes.Ldc_I4, (int)ShiftKind(in i) | (size << 8));
            _il.Emit(OpCodes.Ldloc, count);
            _il.Emit(OpCodes.Ldc_I4, 16);
            _il.Emit(OpCodes.Shl);
            _il.Emit(OpCodes.Or);
            _il.Emit(OpCodes.Ldloc, A);
            _il.Emit(OpCodes.Ldc_I4_0);
            _il.Emit(OpCodes.Conv_I8);
            _il.Emit(OpCodes.Ldloc, R);
            _il.Emit(OpCodes.Call, s_computeFlags);
            _il.Emit(OpCodes.Stloc, _flags!);
            _flagsDirty = true;
        }

        _il.Emit(OpCodes.Br, done);
        _il.MarkLabel(zero);
        _il.Emit(OpCodes.Ldloc, A);
        StoreReg(i.Op0Register);
        _il.MarkLabel(done);
    }
}
