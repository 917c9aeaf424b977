using System.Reflection.Emit;
using Emulator.Jit.Analysis;
using Iced.Intel;

namespace Emulator.Jit.Emit;

/// <summary>
/// Flag records carried across branches between the blocks of a translation. A branch to a
/// member block used to materialise a pending record (BlockEmitter.Flags.cs) whenever the target
/// needed its flags before writing them, and every flag counts as needed before an instruction
/// that can leave (a memory access can fault, and the fault pushes RFLAGS). A loop whose head is
/// a load or a store therefore computed all six flags of its CMP on every iteration although only
/// the fault path could ever look at them.
/// <para>
/// Now a block whose first instructions neither read a flag nor touch the record's locals (A, B,
/// R, CarryIn), up to a pure instruction that overwrites every status flag (<see cref="CarryEnd"/>),
/// takes the record as it stands: each branch there stores a description of its record in one
/// local (<see cref="CarriedRecord"/>: the flags it holds and the record's shape, as
/// <see cref="ComputeFlags"/> takes them, or 0 when the flags local is current), and the exits of
/// the target before that instruction (fault paths, exit requests) compute the real flags from it
/// out of line (<see cref="ComputeCarriedFlags"/>). At the overwriting instruction the carried
/// record dies. The method's entry reaches the first block with the local at 0.
/// </para>
/// </summary>
public sealed partial class BlockEmitter
{
    // Per member: the instruction where a carried record dies, or -1 when branches there do not carry one.
    private int[] _carryEnd = [];
    private LocalBuilder? _carry;

    // True while the code emitted runs with a carried record outstanding (the flags local stale where CarriedRecord says).
    private bool _carried;

    private static readonly System.Reflection.MethodInfo s_computeCarriedFlags = typeof(BlockEmitter).GetMethod(nameof(ComputeCarriedFlags), System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)!;

    /// <summary>The carried record's description: the flags it holds in bits 63..32, its shape (<see cref="ComputeFlags"/>) below; 0 for none.</summary>
    private LocalBuilder CarriedRecord => _carry!;

    /// <summary>
    /// <see cref="ComputeFlags"/> for a carried record: <paramref name="carry"/> packs its need
    /// (bits 63..32) and shape (bits 31..0); 0 leaves the flags as they are. Public for the quick
    /// tier's methods (<see cref="BlockMethod"/>), which live in another assembly.
    /// </summary>
    public static ulong ComputeCarriedFlags(ulong flags, ulong carry, ulong a, ulong b, ulong r)
    {
        return carry == 0 ? flags : ComputeFlags(flags, carry >> 32, (int)(uint)carry, a, b, r);
    }

    /// <summary>
    /// Finds the members that take a carried record (<see cref="CarryEnd"/>) and, when there is
    /// one, declares <see cref="CarriedRecord"/> and clears it for the method's entry.
    /// </summary>
    private void FindCarryEnds(bool[] plan)
    {
        _carryEnd = new int[_members.Length];
        for (int m = 0; m < _members.Length; m++)
        {
            _carryEnd[m] = _targeted[m] ? CarryEnd(m, plan) : -1;
        }

        if (_carryEnd.Any(end => end >= 0))
        {
            _carry = _il.DeclareLocal(typeof(ulong));
            _il.Emit(OpCodes.Ldc_I4_0);
            _il.Emit(OpCodes.Conv_U8);
            _il.Emit(OpCodes.Stloc, _carry);
        }
    }

    /// <summary>
    /// The first instruction of member <paramref name="m"/> that overwrites every status flag
    /// without reading any and cannot leave (so a record carried in is dead from there), when
    /// every instruction before it is inline, reads and writes no flag, leaves A, B, R and
    /// CarryIn alone and does not end the block; otherwise -1. Also -1 when it is the member's
    /// first instruction: the record is dead on arrival and a branch drops it (BranchToMember).
    /// </summary>
    private int CarryEnd(int m, bool[] plan)
    {
        for (int k = _starts[m]; k < _starts[m + 1]; k++)
        {
            ref readonly Instruction i = ref _instructions[k];
            if (!plan[k] || i.RflagsRead != RflagsBits.None)
            {
                return -1;
            }

            if (OverwritesEveryFlag(in i) && _pure[k])
            {
                return k == _starts[m] ? -1 : k;
            }

            if (i.RflagsModified != RflagsBits.None || IsBlockEnd(k) || !KeepsRecordLocals(in i))
            {
                return -1;
            }
        }

        return -1;
    }

    /// <summary>An inline producer that writes all six status flags (undefined ones included) and keeps its record in A, B and R.</summary>
    private static bool OverwritesEveryFlag(in Instruction i)
    {
        return i.Mnemonic is Mnemonic.Add or Mnemonic.Sub or Mnemonic.Cmp or Mnemonic.And or Mnemonic.Or or Mnemonic.Xor or Mnemonic.Test or Mnemonic.Neg
                or Mnemonic.Imul or Mnemonic.Mul or Mnemonic.Shl or Mnemonic.Sal or Mnemonic.Shr or Mnemonic.Sar
            && FlagLiveness.ToEflags(i.RflagsModified) == FlagLiveness.All;
    }

    /// <summary>Inline instructions that change no flag and never write the record's locals (A, B, R, CarryIn).</summary>
    private static bool KeepsRecordLocals(in Instruction i)
    {
        return i.Mnemonic is Mnemonic.Mov or Mnemonic.Movzx or Mnemonic.Movsx or Mnemonic.Movsxd or Mnemonic.Lea or Mnemonic.Nop
            or Mnemonic.Push or Mnemonic.Pop or Mnemonic.Xchg or Mnemonic.Bswap or Mnemonic.Jmp
            or Mnemonic.Cbw or Mnemonic.Cwde or Mnemonic.Cdqe or Mnemonic.Cwd or Mnemonic.Cdq or Mnemonic.Cqo;
    }

    /// <summary>
    /// At a branch to member <paramref name="target"/>, which takes carried records: describes
    /// the pending record in <see cref="CarriedRecord"/> (A, B, R and CarryIn go along as they are), or
    /// clears it when the flags local is current.
    /// </summary>
    private void EmitCarry(int target)
    {
        if (_carried)
        {
            // Not reached (a carried record dies before its block ends), but exact if it were.
            MaterializeFlags();
        }

        if (!_pending || (_pendingMask & LiveBefore(_starts[target])) == 0)
        {
            _il.Emit(OpCodes.Ldc_I4_0);
            _il.Emit(OpCodes.Conv_U8);
            _il.Emit(OpCodes.Stloc, CarriedRecord);
            return;
        }

        _il.Emit(OpCodes.Ldc_I8, (long)((_pendingMask << 32) | (uint)PendingShape()));
        if (_pendingKind is FlagKind.AddCarry or FlagKind.SubBorrow)
        {
            // The carry in, known at run time only, in bit 24 of the shape.
            _il.Emit(OpCodes.Ldloc, CarryIn);
            _il.Emit(OpCodes.Ldc_I4, 24);
            _il.Emit(OpCodes.Shl);
            _il.Emit(OpCodes.Or);
        }

        _il.Emit(OpCodes.Stloc, CarriedRecord);
        Note($"  carried to block {target}: {_pendingKind}, flags {_pendingMask:x}");
    }

    /// <summary>The exit-path materialisation of a carried record: <c>flags = ComputeCarriedFlags(flags, CarriedRecord, A, B, R)</c>.</summary>
    private void EmitCarriedFlags()
    {
        _il.Emit(OpCodes.Ldloc, _flags!);
        _il.Emit(OpCodes.Ldloc, CarriedRecord);
        _il.Emit(OpCodes.Ldloc, A);
        _il.Emit(OpCodes.Ldloc, B);
        _il.Emit(OpCodes.Ldloc, R);
        _il.Emit(OpCodes.Call, s_computeCarriedFlags);
        _il.Emit(OpCodes.Stloc, _flags!);
        _flagsDirty = true;
        _carried = false;
    }
}
