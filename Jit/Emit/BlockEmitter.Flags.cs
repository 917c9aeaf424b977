using System.Reflection.Emit;
using Emulator.Cpu.State;
using Emulator.Jit.Analysis;
using Iced.Intel;

namespace Emulator.Jit.Emit;

/// <summary>
/// Lazy flags inside a translation. An inline ADD/SUB/CMP/AND/OR/XOR/TEST/INC/DEC/NEG does not
/// compute its flags: it leaves a pending record (the kind of operation, the operand size, the live
/// flags it modifies, its operands and result in the locals A, B and R) and the flags local stale
/// in those bits. A following Jcc, SETcc or CMOVcc whose condition the record answers directly
/// (ZF, SF, CF and the signed and unsigned orders; not PF, AF or, after an addition, OF) compares
/// the operands instead (<see cref="EmitConditionValue"/>). The record is materialised into the
/// flags local where the real RFLAGS is needed: before a handler call and at every exit, including
/// the side paths of a faulting memory access (the exception pushes RFLAGS), before a reader it
/// cannot answer and before the next flag writer when the old flags are still live there.
/// <para>
/// Branches between the blocks of a translation (a one-block loop's back edge included,
/// <see cref="EmitTransition"/>) materialise a record only when the target block reads one of
/// its flags before writing it (<see cref="LiveBefore"/> at the target's first instruction;
/// every flag is live before an instruction that can leave, so no exit sees a dropped record).
/// So a loop's CMP+Jcc computes no flags per iteration unless the loop head reads them. A target
/// that only may leave before it overwrites every flag (a load or a store at a loop's head) takes
/// the record along instead (BlockEmitter.Carry.cs).
/// </para>
/// </summary>
public sealed partial class BlockEmitter
{
    private bool[] _pure = [];

    // The pending record (A, B, R hold its operands and result; _flags is stale in _pendingMask).
    private bool _pending;
    private int _pendingIndex = -1;
    private FlagKind _pendingKind;
    private int _pendingSize;
    private ulong _pendingMask;
    private int _pendingCount;

    private LocalBuilder? _condition;

    private LocalBuilder Condition => _condition ??= _il.DeclareLocal(typeof(int));

    /// <summary>The flags live before instruction <paramref name="k"/> (all of them before one that can call out or leave).</summary>
    private ulong LiveBefore(int k)
    {
        ref readonly Instruction i = ref _instructions[k];
        return _pure[k] ? (_liveAfter[k] & ~FlagLiveness.ToEflags(i.RflagsModified)) | FlagLiveness.ToEflags(i.RflagsRead) : FlagLiveness.All;
    }

    /// <summary>An inline instruction that leaves its flags as a pending record.</summary>
    private static bool IsLazyProducer(in Instruction i) => i.Mnemonic is Mnemonic.Add or Mnemonic.Sub or Mnemonic.Cmp or Mnemonic.And or Mnemonic.Or or Mnemonic.Xor or Mnemonic.Test or Mnemonic.Inc or Mnemonic.Dec or Mnemonic.Neg;

    /// <summary>A reader whose condition <see cref="EmitConditionValue"/> may answer from the record.</summary>
    private static bool IsConditionReader(in Instruction i) => i.Code.IsJccShortOrNear() || IsSetcc(in i) || IsCmovcc(in i);

    /// <summary>Called before inline instruction <paramref name="k"/>: settles a pending record it would read or overwrite.</summary>
    private void SettleFlagsBefore(int k)
    {
        if (!_pending)
        {
            return;
        }

        ref readonly Instruction i = ref _instructions[k];
        if ((i.RflagsRead != RflagsBits.None && !IsConditionReader(in i)) || i.Mnemonic == Mnemonic.Not)
        {
            // NOT changes no flag but computes in A and R (BlockEmitter.Alu.cs).
            MaterializeFlags();
        }
        else if (i.RflagsModified != RflagsBits.None || IsLazyProducer(in i))
        {
            // A new writer: the old record's flags are needed only where still live before it.
            if ((_pendingMask & LiveBefore(k)) != 0)
            {
                MaterializeFlags();
            }
            else
            {
                _pending = false;
            }
        }
    }

    /// <summary>Records the flags of producer <paramref name="k"/> (A, B, R set) as pending.</summary>
    private void SetPendingFlags(int k, FlagKind kind, int size, ulong mask, int count = 0)
    {
        if (_carried && k == _carryEnd[_memberOf[k]])
        {
            // It overwrites every flag a carried record holds, after its memory accesses (BlockEmitter.Carry.cs).
            _carried = false;
        }

        _pendingCount = count;
        _pending = mask != 0;
        _pendingIndex = k;
        _pendingKind = kind;
        _pendingSize = size;
        _pendingMask = mask;
    }

    private static readonly System.Reflection.MethodInfo s_computeFlags = typeof(BlockEmitter).GetMethod(nameof(ComputeFlags), System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)!;

    // True while emitting a side path (a fault or early exit): records are materialised by a call to ComputeFlags, which keeps the IL short.
    private bool _onSidePath;

    /// <summary>Computes the pending (or carried) flags into the flags local and forgets the record.</summary>
    private void MaterializeFlags()
    {
        if (_carried)
        {
            EmitCarriedFlags();
        }

        if (!_pending)
        {
            return;
        }

        if (_onSidePath)
        {
            EmitComputeFlagsCall();
            return;
        }

        _pending = false;
        EmitFlags(_pendingKind, _pendingMask, _pendingSize);
    }

    /// <summary>The cold-path materialisation: <c>flags = ComputeFlags(...)</c>.</summary>
    private void EmitComputeFlagsCall()
    {
        _il.Emit(OpCodes.Ldloc, _flags!);
        _il.Emit(OpCodes.Ldc_I8, (long)_pendingMask);
        _il.Emit(OpCodes.Ldc_I4, PendingShape());
        if (_pendingKind is FlagKind.AddCarry or FlagKind.SubBorrow)
        {
            // The carry in, known at run time only, in bit 24.
            _il.Emit(OpCodes.Ldloc, CarryIn);
            _il.Emit(OpCodes.Conv_I4);
            _il.Emit(OpCodes.Ldc_I4, 24);
            _il.Emit(OpCodes.Shl);
            _il.Emit(OpCodes.Or);
        }

        _il.Emit(OpCodes.Ldloc, A);
        _il.Emit(OpCodes.Ldloc, B);
        _il.Emit(OpCodes.Ldloc, R);
        _il.Emit(OpCodes.Call, s_computeFlags);
        _il.Emit(OpCodes.Stloc, _flags!);
        _flagsDirty = true;
        _pending = false;
    }

    /// <summary>The pending record's shape as <see cref="ComputeFlags"/> takes it (without the carry in).</summary>
    private int PendingShape() => Shape(_pendingKind, _pendingSize, _pendingCount);

    /// <summary>A record's shape as <see cref="ComputeFlags"/> decodes it: kind (bits 0-7), operand size (8-15), shift count (16-23).</summary>
    private static int Shape(FlagKind kind, int size, int count = 0) => (int)kind | (size << 8) | (count << 16);

    /// <summary>
    /// The flags of a pending record, as <see cref="EmitFlags"/> computes them inline: the bits in
    /// <paramref name="need"/> replaced in <paramref name="flags"/>. <paramref name="shape"/> packs
    /// the kind (bits 0-7), the operand size (8-15) and a shift count (16-23). Public: the quick
    /// tier's methods (BlockMethod) live in another assembly and call it.
    /// </summary>
    public static ulong ComputeFlags(ulong flags, ulong need, int shape, ulong a, ulong b, ulong r)
    {
        var kind = (FlagKind)(shape & 0xFF);
        int size = (shape >> 8) & 0xFF, count = (shape >> 16) & 0xFF, bits = size * 8;
        bool carryIn = (shape >> 24) != 0;
        int top = bits - 1;
        ulong cf = kind switch
        {
            FlagKind.Sub => a < b ? 1UL : 0,
            FlagKind.Add => r < a ? 1UL : 0,
            FlagKind.ShiftLeft => count <= bits ? (a >> (bits - count)) & 1 : 0,
            FlagKind.ShiftRight => count <= bits ? (a >> (count - 1)) & 1 : 0,
            FlagKind.ShiftArithmetic => (ulong)((long)Emulator.Cpu.X86Cpu.SignExtend(a, size) >> Math.Min(count - 1, 63)) & 1,
            FlagKind.Multiply => b != 0 ? 1UL : 0,
            FlagKind.AddCarry => r < a || (carryIn && r == a) ? 1UL : 0,
            FlagKind.SubBorrow => a < b || (carryIn && a == b) ? 1UL : 0,
            FlagKind.SignedMultiply => SignedOverflow(a, b, r, size) ? 1UL : 0,
            _ => 0,
        };
        ulong of = kind switch
        {
            FlagKind.Add or FlagKind.AddCarry => (((a ^ r) & (b ^ r)) >> top) & 1,
            FlagKind.Sub or FlagKind.SubBorrow => (((a ^ b) & (a ^ r)) >> top) & 1,
            FlagKind.ShiftLeft => ((r >> top) ^ cf) & 1,
            FlagKind.ShiftRight => count == 1 ? (a >> top) & 1 : 0,
            FlagKind.Multiply or FlagKind.SignedMultiply => cf,
            _ => 0,
        };
        ulong af = kind is FlagKind.Add or FlagKind.Sub or FlagKind.AddCarry or FlagKind.SubBorrow ? (a ^ b ^ r) & Flags.AF : 0;
        ulong pf = (ulong)((System.Numerics.BitOperations.PopCount((uint)(byte)r) & 1) ^ 1) << 2;
        ulong zf = r == 0 ? Flags.ZF : 0;
        ulong sf = ((r >> top) & 1) << 7;
        return (flags & ~need) | ((cf | pf | af | zf | sf | (of << 11)) & need);
    }

    /// <summary>IMUL's CF/OF: the full signed product of the operands does not fit the (sign-extended) result.</summary>
    private static bool SignedOverflow(ulong a, ulong b, ulong r, int size)
    {
        if (size == 8)
        {
            long high = Math.BigMul((long)a, (long)b, out long low);
            return high != (low >> 63);
        }

        long product = (long)Emulator.Cpu.X86Cpu.SignExtend(a, size) * (long)Emulator.Cpu.X86Cpu.SignExtend(b, size);
        return product != (long)Emulator.Cpu.X86Cpu.SignExtend(r, size);
    }

    /// <summary>The status flags condition <paramref name="cc"/> reads (SDM Vol. 1 appendix B).</summary>
    private static ulong ConditionFlags(ConditionCode cc) => cc switch
    {
        ConditionCode.o or ConditionCode.no => Flags.OF,
        ConditionCode.b or ConditionCode.ae => Flags.CF,
        ConditionCode.e or ConditionCode.ne => Flags.ZF,
        ConditionCode.be or ConditionCode.a => Flags.CF | Flags.ZF,
        ConditionCode.s or ConditionCode.ns => Flags.SF,
        ConditionCode.p or ConditionCode.np => Flags.PF,
        ConditionCode.l or ConditionCode.ge => Flags.SF | Flags.OF,
        _ => Flags.ZF | Flags.SF | Flags.OF,
    };

    /// <summary>
    /// Pushes an int that is non-zero when condition <paramref name="cc"/> holds (or, if this
    /// returns true, when it does not): from the pending record's operands where it answers the
    /// condition, else from the flags local (materialising the record first if the condition
    /// reads a flag it holds).
    /// </summary>
    private bool EmitConditionValue(ConditionCode cc)
    {
        ulong reads = ConditionFlags(cc);
        if (_pending && (reads & _pendingMask) != 0)
        {
            if ((reads & ~_pendingMask) == 0 && EmitFusedCondition(cc, out bool negate))
            {
                return negate;
            }

            MaterializeFlags();
        }

        bool invert = EmitCondition(cc);
        _il.Emit(OpCodes.Conv_I4);
        return invert;
    }

    /// <summary>The condition from A, B and R of the pending record, where the operation answers it without the flags.</summary>
    private bool EmitFusedCondition(ConditionCode cc, out bool negate)
    {
        negate = false;
        var kind = _pendingKind;
        if (kind is not (FlagKind.Add or FlagKind.Sub or FlagKind.Logic)
            && cc is not (ConditionCode.e or ConditionCode.ne or ConditionCode.s or ConditionCode.ns))
        {
            bool multiply = kind is FlagKind.Multiply or FlagKind.SignedMultiply;
            if (!(cc is ConditionCode.b or ConditionCode.ae && kind is not (FlagKind.ShiftLeft or FlagKind.ShiftRight or FlagKind.ShiftArithmetic))
                && !(multiply && cc is ConditionCode.o or ConditionCode.no))
            {
                return false;
            }

            // CF (or, after a multiply, OF = CF).
            EmitCarryBit(kind, _pendingSize);
            _il.Emit(OpCodes.Conv_I4);
            negate = cc is ConditionCode.ae or ConditionCode.no;
            return true;
        }

        switch (cc)
        {
            case ConditionCode.e or ConditionCode.ne:
                ResultIsZero();
                negate = cc == ConditionCode.ne;
                return true;
            case ConditionCode.s or ConditionCode.ns:
                ResultIsNegative();
                negate = cc == ConditionCode.ns;
                return true;
            case ConditionCode.b or ConditionCode.ae when kind == FlagKind.Logic:
            case ConditionCode.o or ConditionCode.no when kind == FlagKind.Logic:
                // CF and OF are clear after a logical operation.
                _il.Emit(OpCodes.Ldc_I4_0);
                negate = cc is ConditionCode.ae or ConditionCode.no;
                return true;
            case ConditionCode.b or ConditionCode.ae:
                Carry(kind);
                negate = cc == ConditionCode.ae;
                return true;
            case ConditionCode.be or ConditionCode.a:
                if (kind == FlagKind.Logic)
                {
                    ResultIsZero();
                }
                else if (kind == FlagKind.Sub)
                {
                    // a <= b unsigned: not (b < a).
                    _il.Emit(OpCodes.Ldloc, B);
                    _il.Emit(OpCodes.Ldloc, A);
                    _il.Emit(OpCodes.Clt_Un);
                    negate = cc == ConditionCode.be;
                    return true;
                }
                else
                {
                    Carry(kind);
                    ResultIsZero();
                    _il.Emit(OpCodes.Or);
                }

                negate = cc == ConditionCode.a;
                return true;
            case ConditionCode.l or ConditionCode.ge when kind == FlagKind.Sub:
                // SF != OF after a - b: a < b signed.
                LoadSigned(A);
                LoadSigned(B);
                _il.Emit(OpCodes.Clt);
                negate = cc == ConditionCode.ge;
                return true;
            case ConditionCode.le or ConditionCode.g when kind == FlagKind.Sub:
                // ZF or SF != OF: a <= b signed, not (b < a).
                LoadSigned(B);
                LoadSigned(A);
                _il.Emit(OpCodes.Clt);
                negate = cc == ConditionCode.le;
                return true;
            case ConditionCode.l or ConditionCode.ge when kind == FlagKind.Logic:
                // OF clear: SF alone.
                ResultIsNegative();
                negate = cc == ConditionCode.ge;
                return true;
            case ConditionCode.le or ConditionCode.g when kind == FlagKind.Logic:
                // ZF or SF: r <= 0 signed, not (0 < r).
                LoadSignedZero();
                LoadSigned(R);
                _il.Emit(OpCodes.Clt);
                negate = cc == ConditionCode.le;
                return true;
            default:
                return false;
        }
    }

    private void ResultIsZero()
    {
        _il.Emit(OpCodes.Ldloc, R);
        _il.Emit(OpCodes.Ldc_I4_0);
        _il.Emit(OpCodes.Conv_I8);
        _il.Emit(OpCodes.Ceq);
    }

    private void ResultIsNegative()
    {
        LoadSigned(R);
        LoadSignedZero();
        _il.Emit(OpCodes.Clt);
    }

    /// <summary>CF of the record: a borrow (a &lt; b) or a carry (r &lt; a, r truncated to the size).</summary>
    private void Carry(FlagKind kind)
    {
        if (kind == FlagKind.Sub)
        {
            _il.Emit(OpCodes.Ldloc, A);
            _il.Emit(OpCodes.Ldloc, B);
        }
        else
        {
            _il.Emit(OpCodes.Ldloc, R);
            _il.Emit(OpCodes.Ldloc, A);
        }

        _il.Emit(OpCodes.Clt_Un);
    }

    /// <summary>
    /// Pushes a record local as a signed value of the record's size, for a signed comparison with
    /// another such value or <see cref="LoadSignedZero"/>: an int32 when the size is 1, 2 or 4 bytes
    /// (RyuJIT then compares the 32-bit registers, without sign-extending either to 64 bits), an
    /// int64 when it is 8.
    /// </summary>
    private void LoadSigned(LocalBuilder local)
    {
        _il.Emit(OpCodes.Ldloc, local);
        Narrow(_pendingSize, signed: true);
    }

    /// <summary>Pushes 0 of the type <see cref="LoadSigned"/> pushes.</summary>
    private void LoadSignedZero()
    {
        _il.Emit(OpCodes.Ldc_I4_0);
        if (_pendingSize == 8)
        {
            _il.Emit(OpCodes.Conv_I8);
        }
    }

    private readonly record struct FlagState(bool Dirty, bool Pending, bool Carried);

    /// <summary>The compile-time flag state, to restore after emitting a side path that does not fall through.</summary>
    private FlagState SaveFlagState() => new(_flagsDirty, _pending, _carried);

    /// <summary>Emits <see cref="SpillDirty"/> for a side path that leaves the block (materialising by a call).</summary>
    private void SpillDirtyOnColdPath()
    {
        // The loop counters and the registers go first: the flags are computed by a call here, and
        // a value still needed after a call is one RyuJIT keeps in a callee-saved register or in
        // the frame for the whole method, the hot path included. Return(k) then stores no counter.
        _onSidePath = true;
        StoreLoopCounters(exit: true);
        _countersStored = true;
        SpillDirty();
        _onSidePath = false;
    }

    private void RestoreFlagState(FlagState state)
    {
        _flagsDirty = state.Dirty;
        _pending = state.Pending;
        _carried = state.Carried;
    }
}
