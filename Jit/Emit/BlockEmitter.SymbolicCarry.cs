using System.Reflection.Emit;
using Emulator.Cpu;
using Iced.Intel;
using FlowControl = Iced.Intel.FlowControl;

namespace Emulator.Jit.Emit;

/// <summary>
/// Symbolic carried records: a branch that carries a CMP's or TEST's record into a member
/// (BlockEmitter.Carry.cs) stores only the record's word when the operands can be read again
/// where the member needs them. That holds when the CMP or TEST compares registers or a register
/// and an immediate, and neither register is written from it to the branch nor in the member
/// before an exit that may compute the record, up to where the record dies
/// (<see cref="LastWriteAnExitSees"/>: a fault leaves its own instruction's register writes
/// undone, so a head that loads a compared register qualifies): every such exit finds the
/// operands in the register locals as the producer saw them. Such an exit compares the word
/// with the branch's (bits 48-62 name the branch) and fills A, B and R from the registers before
/// <see cref="ComputeCarriedFlags"/>. A loop whose head is a load (which may fault) then pays one
/// store per iteration for its CMP's flags instead of four, and no register to hold them.
/// </summary>
public sealed partial class BlockEmitter
{
    // Per emitter, made on first use: a factory hands out views of its own buffers, so one shared
    // by the compiler threads of several machines gave one thread's registers to another's block.
    private InstructionInfoFactory? _infoFactory;

    // (from member, to member) -> the symbolic word and the producer's index.
    private readonly Dictionary<(int From, int To), (long Word, int Producer)> _symbolicAt = [];

    // Per member: the symbolic records branches may carry into it.
    private List<(long Word, int Producer)>[] _symbolicInto = [];

    private int _currentMember;

    private void FindSymbolicCarries(bool[] plan)
    {
        _symbolicInto = [.. Enumerable.Range(0, _members.Length).Select(_ => new List<(long, int)>())];
        for (int m = 0; m < _members.Length; m++)
        {
            int end = _starts[m + 1] - 1;
            ref readonly Instruction last = ref _instructions[end];
            if (!plan[end] || !_reachable[m] || last.FlowControl is not (FlowControl.ConditionalBranch or FlowControl.UnconditionalBranch)
                || last.Op0Kind is not (OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64))
            {
                continue;
            }

            int producer = SymbolicProducer(m, end, plan);
            if (producer < 0)
            {
                continue;
            }

            ulong[] targets = last.FlowControl == FlowControl.ConditionalBranch ? [last.NearBranchTarget, last.NextIP] : [last.NearBranchTarget];
            foreach (ulong ip in targets)
            {
                int t = MemberAt(ip);
                if (t < 0 || _symbolicAt.ContainsKey((m, t)) || _carryEnd[t] < _starts[t] || _carryEnd[t] >= _starts[t + 1] || _carryByCall[t]
                    || WritesAny(_starts[t], LastWriteAnExitSees(t), producer))
                {
                    continue;
                }

                ref readonly Instruction p = ref _instructions[producer];
                var kind = p.Mnemonic == Mnemonic.Cmp ? FlagKind.Sub : FlagKind.Logic;
                ulong need = _liveAfter[producer] & Analysis.FlagLiveness.ToEflags(p.RflagsModified);
                long word = CarryWord(need, Shape(kind, X86Cpu.OperandSize(p, 0))) | ((long)(_symbolicAt.Count + 1) << 48);
                _symbolicAt[(m, t)] = (word, producer);
                _symbolicInto[t].Add((word, producer));
            }
        }
    }

    /// <summary>The CMP or TEST of registers (or a register and an immediate) that sets member <paramref name="m"/>'s flags for its end, or -1.</summary>
    private int SymbolicProducer(int m, int end, bool[] plan)
    {
        for (int k = end - 1; k >= _starts[m]; k--)
        {
            ref readonly Instruction i = ref _instructions[k];
            if (i.RflagsModified == RflagsBits.None)
            {
                continue;
            }

            bool operands = i.Op0Kind == OpKind.Register && GprIndex(i.Op0Register) >= 0
                && ((i.Op1Kind == OpKind.Register && GprIndex(i.Op1Register) >= 0)
                    || i.Op1Kind is OpKind.Immediate8 or OpKind.Immediate16 or OpKind.Immediate32 or OpKind.Immediate8to16 or OpKind.Immediate8to32 or OpKind.Immediate8to64 or OpKind.Immediate32to64);
            return plan[k] && i.Mnemonic is Mnemonic.Cmp or Mnemonic.Test && operands && OverwritesEveryFlag(in i) && !WritesAny(k + 1, end, k) ? k : -1;
        }

        return -1;
    }

    /// <summary>
    /// The last instruction of member <paramref name="t"/> whose register writes an exit computing
    /// the carried flags may see (the head before its carry end, BlockEmitter.Carry.cs): the exits
    /// there are the faults of the instructions that are not pure (a fault leaves the faulting
    /// instruction's own register writes undone, so a load into a compared register may come
    /// first) and the exit-request checks after stores (PUSH included), which see the store's
    /// writes. The carry end's own exits come before it sets its own record (a store's check
    /// after it reads that record instead). Before the first instruction when no exit computes it.
    /// </summary>
    private int LastWriteAnExitSees(int t)
    {
        int last = _starts[t] - 1;
        for (int j = _starts[t]; j <= _carryEnd[t]; j++)
        {
            if (_pure[j])
            {
                continue;
            }

            ref readonly Instruction i = ref _instructions[j];
            bool checkedAfter = j < _carryEnd[t] && (i.Op0Kind == OpKind.Memory || UsesStack(in i));
            last = Math.Max(last, checkedAfter ? j : j - 1);
        }

        return last;
    }

    /// <summary>Whether an instruction from <paramref name="first"/> to <paramref name="last"/> writes a register the producer reads.</summary>
    private bool WritesAny(int first, int last, int producer)
    {
        ref readonly Instruction p = ref _instructions[producer];
        int a = GprIndex(p.Op0Register), b = p.Op1Kind == OpKind.Register ? GprIndex(p.Op1Register) : -1;
        for (int k = first; k <= last; k++)
        {
            var info = (_infoFactory ??= new()).GetInfo(in _instructions[k]);
            foreach (var used in info.GetUsedRegisters())
            {
                if (used.Access is OpAccess.Write or OpAccess.ReadWrite or OpAccess.CondWrite or OpAccess.ReadCondWrite
                    && GprIndex(used.Register) is int g and >= 0 && (g == a || g == b))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>At a branch from the current member: stores the symbolic word instead of the record when this branch has one and the pending record is its producer's.</summary>
    private bool TryCarrySymbolically(int target)
    {
        if (!_symbolicAt.TryGetValue((_currentMember, target), out var symbolic) || !_pending || _pendingIndex != symbolic.Producer
            || CarryWord(_pendingMask, PendingShape()) != (symbolic.Word & 0xFFFF_FFFF_FFFFL))
        {
            return false;
        }

        StoreCarryWord(() => _il.Emit(OpCodes.Ldc_I8, symbolic.Word));
        Note($"  carried to block {target} symbolically: {_pendingKind}, flags {_pendingMask:x}");
        return true;
    }

    /// <summary>Before computing carried flags in the current member: fills A, B and R of a symbolic record from the registers.</summary>
    private void FillSymbolicRecord()
    {
        foreach (var (word, producer) in _symbolicInto[_currentMember])
        {
            ref readonly Instruction p = ref _instructions[producer];
            int size = X86Cpu.OperandSize(p, 0);
            var skip = _il.DefineLabel();
            _il.Emit(OpCodes.Ldloca, _carry!);
            _il.Emit(OpCodes.Ldfld, s_carryWord);
            _il.Emit(OpCodes.Ldc_I8, word);
            _il.Emit(OpCodes.Bne_Un, skip);
            _il.Emit(OpCodes.Ldloca, _carry!);
            LoadReg(p.Op0Register);
            _il.Emit(OpCodes.Stfld, s_carryA);
            _il.Emit(OpCodes.Ldloca, _carry!);
            EmitSource(producer, in p, 1, size);
            _il.Emit(OpCodes.Stfld, s_carryB);
            _il.Emit(OpCodes.Ldloca, _carry!);
            _il.Emit(OpCodes.Ldloca, _carry!);
            _il.Emit(OpCodes.Ldfld, s_carryA);
            _il.Emit(OpCodes.Ldloca, _carry!);
            _il.Emit(OpCodes.Ldfld, s_carryB);
            _il.Emit(p.Mnemonic == Mnemonic.Cmp ? OpCodes.Sub : OpCodes.And);
            _il.Emit(OpCodes.Ldc_I8, (long)X86Cpu.SizeMask(size));
            _il.Emit(OpCodes.And);
            _il.Emit(OpCodes.Stfld, s_carryR);
            _il.MarkLabel(skip);
        }
    }
}
