using System.Numerics;
using System.Reflection;
using System.Reflection.Emit;
using Emulator.Cpu;
using Emulator.Cpu.State;
using Emulator.Jit.Analysis;
using Iced.Intel;

namespace Emulator.Jit.Emit;

/// <summary>
/// Inline ADD, SUB, AND, OR, XOR, CMP, TEST, INC, DEC, NEG and NOT on register, immediate and
/// memory operands, with the results and flags of Cpu/Instructions/Arith.cs (SDM Vol. 1 appendix
/// A): only the flags live after the instruction are computed (<see cref="FlagLiveness"/>).
/// </summary>
public sealed partial class BlockEmitter
{
    private static readonly MethodInfo s_bigMulSigned = typeof(Math).GetMethod(nameof(Math.BigMul), [typeof(long), typeof(long), typeof(long).MakeByRefType()])!;
    private static readonly MethodInfo s_popCount = typeof(BitOperations).GetMethod(nameof(BitOperations.PopCount), [typeof(uint)])!;

    private LocalBuilder? _a;
    private LocalBuilder? _b;
    private LocalBuilder? _r;
    private LocalBuilder? _scratch;
    private LocalBuilder? _carryIn;
    private LocalBuilder? _low;

    private LocalBuilder A => _a ??= _il.DeclareLocal(typeof(ulong));

    private LocalBuilder B => _b ??= _il.DeclareLocal(typeof(ulong));

    private LocalBuilder R => _r ??= _il.DeclareLocal(typeof(ulong));

    /// <summary>A value local of the families that must not disturb A, B and R (which may hold a pending flag record).</summary>
    /// <summary>ADC's and SBB's incoming CF (0 or 1), part of their flag record.</summary>
    private LocalBuilder CarryIn => _carryIn ??= _il.DeclareLocal(typeof(ulong));

    /// <summary>The low half of a 64-bit signed product while its overflow is checked.</summary>
    private LocalBuilder Low => _low ??= _il.DeclareLocal(typeof(long));

    private LocalBuilder Scratch => _scratch ??= _il.DeclareLocal(typeof(ulong));

    private enum FlagKind
    {
        Add,
        Sub,
        Logic,
        ShiftLeft,
        ShiftRight,
        ShiftArithmetic,
        Multiply,
        AddCarry,
        SubBorrow,
        SignedMultiply,
    }

    private void EmitAlu(int k)
    {
        ref readonly Instruction i = ref _instructions[k];
        int size = X86Cpu.OperandSize(i, 0);
        var mnemonic = i.Mnemonic;
        bool memory = i.Op0Kind == OpKind.Memory;
        int segment = memory ? (int)X86Cpu.MemorySegment(in i) : 0;

        // Operand a: the destination's value (read first, as the interpreter does).
        if (memory)
        {
            EmitRead(k, in i, size);
            _il.Emit(OpCodes.Ldloc, Value);
        }
        else
        {
            LoadReg(i.Op0Register);
        }

        _il.Emit(OpCodes.Stloc, A);

        // Operand b: the source, 1 for INC and DEC; NEG computes 0 - a.
        switch (mnemonic)
        {
            case Mnemonic.Inc or Mnemonic.Dec:
                _il.Emit(OpCodes.Ldc_I8, 1L);
                _il.Emit(OpCodes.Stloc, B);
                break;
            case Mnemonic.Neg:
                _il.Emit(OpCodes.Ldloc, A);
                _il.Emit(OpCodes.Stloc, B);
                _il.Emit(OpCodes.Ldc_I8, 0L);
                _il.Emit(OpCodes.Stloc, A);
                break;
            case Mnemonic.Not:
                break;
            default:
                if (i.Op1Kind == OpKind.Memory)
                {
                    // Only reached with a register destination: a's read did not touch memory.
                    EmitRead(k, in i, size);
                    _il.Emit(OpCodes.Ldloc, Value);
                }
                else
                {
                    EmitSource(k, in i, 1, size);
                }

                _il.Emit(OpCodes.Stloc, B);
                break;
        }

        if (mnemonic is Mnemonic.Adc or Mnemonic.Sbb)
        {
            // The incoming CF (the flags local is current: ADC and SBB read CF, so no record is pending).
            _il.Emit(OpCodes.Ldloc, _flags!);
            _il.Emit(OpCodes.Ldc_I8, 1L);
            _il.Emit(OpCodes.And);
            _il.Emit(OpCodes.Stloc, CarryIn);
        }

        // The result.
        FlagKind kind;
        _il.Emit(OpCodes.Ldloc, A);
        switch (mnemonic)
        {
            case Mnemonic.Adc:
                _il.Emit(OpCodes.Ldloc, B);
                _il.Emit(OpCodes.Add);
                _il.Emit(OpCodes.Ldloc, CarryIn);
                _il.Emit(OpCodes.Add);
                kind = FlagKind.AddCarry;
                break;
            case Mnemonic.Sbb:
                _il.Emit(OpCodes.Ldloc, B);
                _il.Emit(OpCodes.Sub);
                _il.Emit(OpCodes.Ldloc, CarryIn);
                _il.Emit(OpCodes.Sub);
                kind = FlagKind.SubBorrow;
                break;
            case Mnemonic.Add or Mnemonic.Inc:
                _il.Emit(OpCodes.Ldloc, B);
                _il.Emit(OpCodes.Add);
                kind = FlagKind.Add;
                break;
            case Mnemonic.Sub or Mnemonic.Cmp or Mnemonic.Dec or Mnemonic.Neg:
                if (mnemonic == Mnemonic.Neg)
                {
                    _il.Emit(OpCodes.Pop);
                    _il.Emit(OpCodes.Ldc_I8, 0L);
                }

                _il.Emit(OpCodes.Ldloc, B);
                _il.Emit(OpCodes.Sub);
                kind = FlagKind.Sub;
                break;
            case Mnemonic.And or Mnemonic.Test:
                _il.Emit(OpCodes.Ldloc, B);
                _il.Emit(OpCodes.And);
                kind = FlagKind.Logic;
                break;
            case Mnemonic.Or:
                _il.Emit(OpCodes.Ldloc, B);
                _il.Emit(OpCodes.Or);
                kind = FlagKind.Logic;
                break;
            case Mnemonic.Xor:
                _il.Emit(OpCodes.Ldloc, B);
                _il.Emit(OpCodes.Xor);
                kind = FlagKind.Logic;
                break;
            default: // NOT
                _il.Emit(OpCodes.Not);
                kind = FlagKind.Logic;
                break;
        }

        Extend(size);
        _il.Emit(OpCodes.Stloc, R);

        // The write, unless CMP or TEST; a faulting memory write leaves the flags alone.
        if (mnemonic is not (Mnemonic.Cmp or Mnemonic.Test))
        {
            if (memory)
            {
                EmitWrite(k, segment, size, R);
            }
            else
            {
                _il.Emit(OpCodes.Ldloc, R);
                StoreReg(i.Op0Register);
            }
        }

        if (mnemonic != Mnemonic.Not)
        {
            // Computed where needed (BlockEmitter.Flags.cs).
            SetPendingFlags(k, kind, size, _liveAfter[k] & FlagLiveness.ToEflags(i.RflagsModified));
        }

        if (memory && mnemonic is not (Mnemonic.Cmp or Mnemonic.Test))
        {
            EmitExitIfRequested(k);
        }
    }

    /// <summary>
    /// Sets the flags in <paramref name="need"/> from the locals A, B and R,
    /// as Arith.Add, Arith.Sub and Arith.Logic do; the other flags keep their values.
    /// </summary>
    private void EmitFlags(FlagKind kind, ulong need, int size)
    {
        if (need == 0)
        {
            return;
        }

        int bits = size * 8;
        _il.Emit(OpCodes.Ldloc, _flags!);
        _il.Emit(OpCodes.Ldc_I8, (long)~need);
        _il.Emit(OpCodes.And);

        if ((need & Flags.CF) != 0 && EmitCarryBit(kind, size))
        {
            _il.Emit(OpCodes.Or);
        }

        if ((need & Flags.PF) != 0)
        {
            // PF: even parity of the low byte.
            _il.Emit(OpCodes.Ldloc, R);
            _il.Emit(OpCodes.Conv_U1);
            _il.Emit(OpCodes.Call, s_popCount);
            _il.Emit(OpCodes.Ldc_I4_1);
            _il.Emit(OpCodes.And);
            _il.Emit(OpCodes.Ldc_I4_1);
            _il.Emit(OpCodes.Xor);
            _il.Emit(OpCodes.Conv_U8);
            _il.Emit(OpCodes.Ldc_I4_2);
            _il.Emit(OpCodes.Shl);
            _il.Emit(OpCodes.Or);
        }

        if ((need & Flags.AF) != 0 && kind is FlagKind.Add or FlagKind.Sub or FlagKind.AddCarry or FlagKind.SubBorrow)
        {
            // AF: the carry out of bit 3, bit 4 of a ^ b ^ r (already in AF's position).
            _il.Emit(OpCodes.Ldloc, A);
            _il.Emit(OpCodes.Ldloc, B);
            _il.Emit(OpCodes.Xor);
            _il.Emit(OpCodes.Ldloc, R);
            _il.Emit(OpCodes.Xor);
            _il.Emit(OpCodes.Ldc_I8, (long)Flags.AF);
            _il.Emit(OpCodes.And);
            _il.Emit(OpCodes.Or);
        }

        if ((need & Flags.ZF) != 0)
        {
            _il.Emit(OpCodes.Ldloc, R);
            _il.Emit(OpCodes.Ldc_I8, 0L);
            _il.Emit(OpCodes.Ceq);
            _il.Emit(OpCodes.Conv_U8);
            _il.Emit(OpCodes.Ldc_I4_6);
            _il.Emit(OpCodes.Shl);
            _il.Emit(OpCodes.Or);
        }

        if ((need & Flags.SF) != 0)
        {
            // SF: the sign bit of the width, moved to bit 7.
            _il.Emit(OpCodes.Ldloc, R);
            _il.Emit(OpCodes.Ldc_I4, bits - 8);
            _il.Emit(OpCodes.Shr_Un);
            _il.Emit(OpCodes.Ldc_I8, (long)Flags.SF);
            _il.Emit(OpCodes.And);
            _il.Emit(OpCodes.Or);
        }

        if ((need & Flags.OF) != 0 && kind is not (FlagKind.Add or FlagKind.Sub or FlagKind.AddCarry or FlagKind.SubBorrow))
        {
            if (EmitOverflowBit(kind, size))
            {
                _il.Emit(OpCodes.Ldc_I4, 11);
                _il.Emit(OpCodes.Shl);
                _il.Emit(OpCodes.Or);
            }
        }
        else if ((need & Flags.OF) != 0)
        {
            // OF: addition, both inputs differ in sign from r; subtraction, a and b differ and r differs from a.
            if (kind is FlagKind.Add or FlagKind.AddCarry)
            {
                _il.Emit(OpCodes.Ldloc, A);
                _il.Emit(OpCodes.Ldloc, R);
                _il.Emit(OpCodes.Xor);
                _il.Emit(OpCodes.Ldloc, B);
                _il.Emit(OpCodes.Ldloc, R);
                _il.Emit(OpCodes.Xor);
            }
            else
            {
                _il.Emit(OpCodes.Ldloc, A);
                _il.Emit(OpCodes.Ldloc, B);
                _il.Emit(OpCodes.Xor);
                _il.Emit(OpCodes.Ldloc, A);
                _il.Emit(OpCodes.Ldloc, R);
                _il.Emit(OpCodes.Xor);
            }

            _il.Emit(OpCodes.And);
            _il.Emit(OpCodes.Ldc_I4, bits - 1);
            _il.Emit(OpCodes.Shr_Un);
            _il.Emit(OpCodes.Ldc_I8, 1L);
            _il.Emit(OpCodes.And);
            _il.Emit(OpCodes.Ldc_I4, 11);
            _il.Emit(OpCodes.Shl);
            _il.Emit(OpCodes.Or);
        }

        _il.Emit(OpCodes.Stloc, _flags!);
        _flagsDirty = true;
    }

    /// <summary>
    /// Pushes CF (0 or 1, as a ulong) of a record of <paramref name="kind"/>, or returns false for
    /// a logical operation (CF clear). Shifts use the record's count (<see cref="_pendingCount"/>,
    /// not zero) as Shift.cs does: the last bit shifted out.
    /// </summary>
    private bool EmitCarryBit(FlagKind kind, int size)
    {
        int bits = size * 8;
        int count = _pendingCount;
        switch (kind)
        {
            case FlagKind.Sub:
                // A borrow: a < b unsigned.
                _il.Emit(OpCodes.Ldloc, A);
                _il.Emit(OpCodes.Ldloc, B);
                _il.Emit(OpCodes.Clt_Un);
                _il.Emit(OpCodes.Conv_U8);
                return true;
            case FlagKind.Add:
                // The sum wrapped at the operand width: r < a (both zero-extended from it).
                _il.Emit(OpCodes.Ldloc, R);
                _il.Emit(OpCodes.Ldloc, A);
                _il.Emit(OpCodes.Clt_Un);
                _il.Emit(OpCodes.Conv_U8);
                return true;
            case FlagKind.AddCarry or FlagKind.SubBorrow:
                // As Arith.Add/Sub with a carry in: r < a (a < b), or r == a (a == b) with CF in.
                _il.Emit(OpCodes.Ldloc, kind == FlagKind.AddCarry ? R : A);
                _il.Emit(OpCodes.Ldloc, kind == FlagKind.AddCarry ? A : B);
                _il.Emit(OpCodes.Clt_Un);
                _il.Emit(OpCodes.Ldloc, A);
                _il.Emit(OpCodes.Ldloc, kind == FlagKind.AddCarry ? R : B);
                _il.Emit(OpCodes.Ceq);
                _il.Emit(OpCodes.Ldloc, CarryIn);
                _il.Emit(OpCodes.Conv_I4);
                _il.Emit(OpCodes.And);
                _il.Emit(OpCodes.Or);
                _il.Emit(OpCodes.Conv_U8);
                return true;
            case FlagKind.SignedMultiply when size == 8:
                // The 128-bit product's high half is not the sign extension of the low half.
                _il.Emit(OpCodes.Ldloc, A);
                _il.Emit(OpCodes.Ldloc, B);
                _il.Emit(OpCodes.Ldloca, Low);
                _il.Emit(OpCodes.Call, s_bigMulSigned);
                _il.Emit(OpCodes.Ldloc, Low);
                _il.Emit(OpCodes.Ldc_I4, 63);
                _il.Emit(OpCodes.Shr);
                _il.Emit(OpCodes.Ceq);
                _il.Emit(OpCodes.Ldc_I4_0);
                _il.Emit(OpCodes.Ceq);
                _il.Emit(OpCodes.Conv_U8);
                return true;
            case FlagKind.SignedMultiply:
                // The 64-bit product of the sign-extended operands is not the sign-extended result.
                _il.Emit(OpCodes.Ldloc, A);
                Extend(size, signed: true);
                _il.Emit(OpCodes.Ldloc, B);
                Extend(size, signed: true);
                _il.Emit(OpCodes.Mul);
                _il.Emit(OpCodes.Ldloc, R);
                Extend(size, signed: true);
                _il.Emit(OpCodes.Ceq);
                _il.Emit(OpCodes.Ldc_I4_0);
                _il.Emit(OpCodes.Ceq);
                _il.Emit(OpCodes.Conv_U8);
                return true;
            case FlagKind.ShiftLeft or FlagKind.ShiftRight when count > bits:
                return false;
            case FlagKind.ShiftLeft:
                _il.Emit(OpCodes.Ldloc, A);
                _il.Emit(OpCodes.Ldc_I4, bits - count);
                break;
            case FlagKind.ShiftRight:
                _il.Emit(OpCodes.Ldloc, A);
                _il.Emit(OpCodes.Ldc_I4, count - 1);
                break;
            case FlagKind.ShiftArithmetic:
                _il.Emit(OpCodes.Ldloc, A);
                Extend(size, signed: true);
                _il.Emit(OpCodes.Ldc_I4, Math.Min(count - 1, 63));
                _il.Emit(OpCodes.Shr);
                _il.Emit(OpCodes.Ldc_I8, 1L);
                _il.Emit(OpCodes.And);
                return true;
            case FlagKind.Multiply:
                // The high half (in B) is not zero.
                _il.Emit(OpCodes.Ldloc, B);
                _il.Emit(OpCodes.Ldc_I4_0);
                _il.Emit(OpCodes.Conv_I8);
                _il.Emit(OpCodes.Cgt_Un);
                _il.Emit(OpCodes.Conv_U8);
                return true;
            default:
                return false;
        }

        _il.Emit(OpCodes.Shr_Un);
        _il.Emit(OpCodes.Ldc_I8, 1L);
        _il.Emit(OpCodes.And);
        return true;
    }

    /// <summary>
    /// Pushes OF (0 or 1, as a ulong) of a shift or multiply record, or returns false where it is
    /// clear: SHL, MSB(r) ^ CF; SHR, MSB(a) for a count of 1; SAR, clear; MUL, as CF.
    /// </summary>
    private bool EmitOverflowBit(FlagKind kind, int size)
    {
        int bits = size * 8;
        switch (kind)
        {
            case FlagKind.ShiftLeft:
                _il.Emit(OpCodes.Ldloc, R);
                _il.Emit(OpCodes.Ldc_I4, bits - 1);
                _il.Emit(OpCodes.Shr_Un);
                if (EmitCarryBit(kind, size))
                {
                    _il.Emit(OpCodes.Xor);
                }

                _il.Emit(OpCodes.Ldc_I8, 1L);
                _il.Emit(OpCodes.And);
                return true;
            case FlagKind.ShiftRight when _pendingCount == 1:
                _il.Emit(OpCodes.Ldloc, A);
                _il.Emit(OpCodes.Ldc_I4, bits - 1);
                _il.Emit(OpCodes.Shr_Un);
                _il.Emit(OpCodes.Ldc_I8, 1L);
                _il.Emit(OpCodes.And);
                return true;
            case FlagKind.Multiply or FlagKind.SignedMultiply:
                return EmitCarryBit(kind, size);
            default:
                return false;
        }
    }
}
