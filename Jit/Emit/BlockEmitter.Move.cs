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

        // A shift leaves its flags pending (BlockEmitter.Flags.cs): A = the operand, R = the result.
        int count = i.Immediate8 & (size == 8 ? 0x3F : 0x1F);
        LoadReg(i.Op0Register);
        _il.Emit(OpCodes.Stloc, A);
        _il.Emit(OpCodes.Ldloc, A);
        if (i.Mnemonic == Mnemonic.Sar)
        {
            Extend(size, signed: true);
        }

        _il.Emit(OpCodes.Ldc_I4, count);
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
        var kind = i.Mnemonic switch
        {
            Mnemonic.Shr => FlagKind.ShiftRight,
            Mnemonic.Sar => FlagKind.ShiftArithmetic,
            _ => FlagKind.ShiftLeft,
        };
        SetPendingFlags(k, kind, size, _liveAfter[k] & FlagLiveness.ToEflags(i.RflagsModified), count);
    }

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
}
