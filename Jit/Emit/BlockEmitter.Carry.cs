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
/// Now a block whose first instructions are inline and neither read nor write a flag, up to an
/// instruction that overwrites every status flag (<see cref="CarryEnd"/>), takes the record
/// along: each branch there copies its record into <see cref="CarriedFlagRecord"/> (or clears
/// its word when the flags local is current; so does the method's entry), and the target's exits
/// before that instruction (fault paths, exit requests) compute the real flags from the copy out
/// of line (<see cref="ComputeCarriedFlags"/>), those of that instruction's own memory accesses
/// included (<c>cmp eax, [mem]</c> can fault before it writes a flag). Once it has set its own
/// record the carried one is dead. The copy lives in the frame (its address is taken), so
/// carrying it costs a few stores per branch and no register across the target's head, where A,
/// B and R are free again. A head that calls a handler before any such instruction takes the
/// record too (SpillDirty materialises it out of line before the call), and a block that leaves
/// the flags alone up to where it goes on (JMP, CALL, RET, indirect JMP, fall-through) passes a
/// carried record on untouched when every member it may go to takes one.
/// </para>
/// </summary>
public sealed partial class BlockEmitter
{
    // Per member: the instruction where a carried record dies, or -1 when branches there do not carry one.
    private int[] _carryEnd = [];

    // Per member: a record carried through the block before it may branch there as it is (TakesCarried).
    private bool[] _takesCarried = [];

    // Per member: its record ends at a handler call (materialised out of line before it, SpillDirty).
    private bool[] _carryByCall = [];
    private LocalBuilder? _carry;

    // True while the code emitted runs with a carried record outstanding (the flags local stale where its word says).
    private bool _carried;

    private static readonly System.Reflection.MethodInfo s_computeCarriedFlags = typeof(BlockEmitter).GetMethod(nameof(ComputeCarriedFlags), System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)!;

    private static readonly System.Reflection.FieldInfo s_carryWord = typeof(CarriedFlagRecord).GetField(nameof(CarriedFlagRecord.Word))!;
    private static readonly System.Reflection.FieldInfo s_carryA = typeof(CarriedFlagRecord).GetField(nameof(CarriedFlagRecord.A))!;
    private static readonly System.Reflection.FieldInfo s_carryB = typeof(CarriedFlagRecord).GetField(nameof(CarriedFlagRecord.B))!;
    private static readonly System.Reflection.FieldInfo s_carryR = typeof(CarriedFlagRecord).GetField(nameof(CarriedFlagRecord.R))!;

    /// <summary>
    /// <see cref="ComputeFlags"/> for a carried record; a word of 0 leaves the flags as they are.
    /// Not inlined: the record's local must stay address-taken, in the frame, not in registers.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    public static ulong ComputeCarriedFlags(ulong flags, ref CarriedFlagRecord record)
    {
        ulong word = record.Word;
        return word == 0 ? flags : ComputeFlags(flags, (word >> 32) & 0xFFFF, (int)(uint)word, record.A, record.B, record.R);
    }

    /// <summary>
    /// Finds the members that take a carried record (<see cref="CarryEnd"/>) and, when there is
    /// one, declares the record's local and clears it for the method's entry.
    /// </summary>
    private void FindCarryEnds(bool[] plan)
    {
        _carryEnd = new int[_members.Length];
        _carryByCall = new bool[_members.Length];
        var through = new int[_members.Length][];
        for (int m = 0; m < _members.Length; m++)
        {
            through[m] = [];
            _carryEnd[m] = _targeted[m] ? CarryEnd(m, plan, out through[m]) : -1;
            _carryByCall[m] = _carryEnd[m] >= 0 && !plan[_carryEnd[m]];
        }

        // A block that leaves the flags alone up to where it goes on passes a carried record on
        // when every member it may go on to takes it: the greatest fixed point, so that a cycle
        // of such blocks (a dispatch JMP that may go to itself) keeps it too; any exit of theirs
        // materialises it.
        for (int m = 0; m < _members.Length; m++)
        {
            if (_carryEnd[m] < 0 && through[m].Length > 0)
            {
                // Past the block's end: no instruction of it ends the record.
                _carryEnd[m] = _starts[m + 1];
            }
        }

        bool changed = true;
        while (changed)
        {
            changed = false;
            for (int m = 0; m < _members.Length; m++)
            {
                if (_carryEnd[m] == _starts[m + 1] && !through[m].All(t => TakesCarried(t, plan)))
                {
                    _carryEnd[m] = -1;
                    changed = true;
                }
            }
        }

        _takesCarried = [.. Enumerable.Range(0, _members.Length).Select(t => TakesCarried(t, plan))];

        if (_carryEnd.Any(end => end >= 0))
        {
            _carry = _il.DeclareLocal(typeof(CarriedFlagRecord));
            StoreCarryWord(() => _il.Emit(OpCodes.Ldc_I8, 0L));
        }
    }

    /// <summary>
    /// The first instruction of member <paramref name="m"/> that overwrites every status flag
    /// without reading any (a record carried in is dead once it set its own record, after its
    /// memory accesses: SetPendingFlags), or that calls a handler (which materialises the record
    /// out of line before the call: for a block reached by a pass-through, where the record
    /// exists only in the frame), when every instruction before it is inline, reads and writes no
    /// flag and does not end the block; otherwise -1. Also -1 when it is the member's
    /// first instruction and cannot leave: the record is dead on arrival and a branch drops it
    /// (BranchToMember). <paramref name="through"/> receives the members the block may go on to
    /// when it ends with the flags untouched in a direct JMP or CALL, a fall-through, or (in a
    /// region) an inline RET or indirect JMP; empty when it may go elsewhere or goes nowhere.
    /// </summary>
    private int CarryEnd(int m, bool[] plan, out int[] through)
    {
        through = [];
        for (int k = _starts[m]; k < _starts[m + 1]; k++)
        {
            ref readonly Instruction i = ref _instructions[k];
            if (!plan[k])
            {
                return k;
            }

            if (i.RflagsRead != RflagsBits.None)
            {
                return -1;
            }

            if (OverwritesEveryFlag(in i))
            {
                return k == _starts[m] && _pure[k] ? -1 : k;
            }

            if (i.RflagsModified != RflagsBits.None)
            {
                return -1;
            }

            if (IsBlockEnd(k))
            {
                // (A Jcc reads flags: it stopped the scan above.) A RET or an indirect JMP goes on
                // at whichever candidate matches (EmitGoOnAtMember); elsewhere it leaves, which
                // materialises the record like any exit.
                bool direct = i.Op0Kind is OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64;
                int[] next = i.Mnemonic switch
                {
                    Mnemonic.Jmp or Mnemonic.Call when direct => [MemberAt(i.NearBranchTarget)],
                    Mnemonic.Ret => ReturnSites(),
                    Mnemonic.Jmp when Tiering.RegionBuilder.IsIndirectJump(in i) => [.. Enumerable.Range(0, _members.Length)],
                    Mnemonic.Jmp or Mnemonic.Call => [],
                    _ => [MemberAt(i.NextIP)],
                };
                through = [.. next.Where(t => t >= 0 && _targeted[t])];

                return -1;
            }
        }

        return -1;
    }

    /// <summary>
    /// Member <paramref name="t"/> takes a record carried through the block before it: it carries
    /// it on (<see cref="_carryEnd"/>), or its first instruction overwrites every flag and cannot leave.
    /// </summary>
    private bool TakesCarried(int t, bool[] plan)
    {
        ref readonly Instruction first = ref _instructions[_starts[t]];
        return _carryEnd[t] >= 0 || (plan[_starts[t]] && _pure[_starts[t]] && first.RflagsRead == RflagsBits.None && OverwritesEveryFlag(in first));
    }

    /// <summary>An inline producer that writes all six status flags (undefined ones included) as a record (SetPendingFlags).</summary>
    private static bool OverwritesEveryFlag(in Instruction i)
    {
        return i.Mnemonic is Mnemonic.Add or Mnemonic.Sub or Mnemonic.Cmp or Mnemonic.And or Mnemonic.Or or Mnemonic.Xor or Mnemonic.Test or Mnemonic.Neg
                or Mnemonic.Imul or Mnemonic.Mul or Mnemonic.Shl or Mnemonic.Sal or Mnemonic.Shr or Mnemonic.Sar
            && FlagLiveness.ToEflags(i.RflagsModified) == FlagLiveness.All
            && !IsShiftByCl(in i); // a count of zero keeps every flag
    }

    /// <summary>
    /// At a branch to member <paramref name="target"/>, which takes carried records: copies the
    /// pending record (the operands its kind uses, and the carry in of ADC/SBB) into the carried
    /// record, or clears its word when the flags local is current.
    /// </summary>
    private void EmitCarry(int target)
    {
        bool live = _pending && (_pendingMask & LiveBefore(_starts[target])) != 0;
        if (live && _carryByCall[target])
        {
            // The target materialises it before a handler call: cheaper inline here. (It takes
            // carried records for the blocks that pass one on to it.)
            MaterializeFlags();
            live = false;
        }

        if (!live)
        {
            StoreCarryWord(() => _il.Emit(OpCodes.Ldc_I8, 0L));
            return;
        }

        if (TryCarrySymbolically(target))
        {
            return;
        }

        StoreCarryWord(() =>
        {
            _il.Emit(OpCodes.Ldc_I8, CarryWord(_pendingMask, PendingShape()));
            if (_pendingKind is FlagKind.AddCarry or FlagKind.SubBorrow)
            {
                // The carry in, known at run time only, in bit 24 of the shape.
                _il.Emit(OpCodes.Ldloc, CarryIn);
                _il.Emit(OpCodes.Ldc_I4, 24);
                _il.Emit(OpCodes.Shl);
                _il.Emit(OpCodes.Or);
            }
        });

        // ComputeFlags reads a for neither a logical operation nor MUL, b only for the arithmetic ones and the multiplies.
        if (_pendingKind is not (FlagKind.Logic or FlagKind.Multiply))
        {
            StoreCarryField(s_carryA, A);
        }

        if (_pendingKind is not (FlagKind.Logic or FlagKind.ShiftLeft or FlagKind.ShiftRight or FlagKind.ShiftArithmetic))
        {
            StoreCarryField(s_carryB, B);
        }

        StoreCarryField(s_carryR, R);
        Note($"  carried to block {target}: {_pendingKind}, flags {_pendingMask:x}");
    }

    /// <summary>A carried record's word (<see cref="CarriedFlagRecord.Word"/>): the flags it holds above its shape.</summary>
    private static long CarryWord(ulong need, int shape) => (long)((need << 32) | (uint)shape);

    private void StoreCarryWord(Action pushWord)
    {
        _il.Emit(OpCodes.Ldloca, _carry!);
        pushWord();
        _il.Emit(OpCodes.Stfld, s_carryWord);
    }

    private void StoreCarryField(System.Reflection.FieldInfo field, LocalBuilder value)
    {
        _il.Emit(OpCodes.Ldloca, _carry!);
        _il.Emit(OpCodes.Ldloc, value);
        _il.Emit(OpCodes.Stfld, field);
    }

    /// <summary>The exit-path materialisation of a carried record: <c>flags = ComputeCarriedFlags(flags, ref record)</c>.</summary>
    private void EmitCarriedFlags()
    {
        FillSymbolicRecord();
        _il.Emit(OpCodes.Ldloc, _flags!);
        _il.Emit(OpCodes.Ldloca, _carry!);
        _il.Emit(OpCodes.Call, s_computeCarriedFlags);
        _il.Emit(OpCodes.Stloc, _flags!);
        _flagsDirty = true;
        _carried = false;
    }
}
