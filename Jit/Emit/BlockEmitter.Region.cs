using System.Reflection.Emit;
using Emulator.Cpu.Decode;
using Emulator.Jit.Analysis;
using Iced.Intel;

namespace Emulator.Jit.Emit;

/// <summary>
/// Branches between the blocks of one translation (DESIGN.md, "Tier 2: regions"). A translation
/// covers one block or a region (<see cref="CompiledRegion"/>): blocks of one page whose
/// instructions are numbered one after the other (<see cref="_starts"/>), so the family emitters
/// work on <c>_instructions[k]</c> as for one block and "the block's end" is
/// <see cref="IsBlockEnd"/>. Where an inline JMP, Jcc, CALL or fall-through at a block's end goes
/// to a block of the translation (a one-block loop's own start included), the code branches to
/// that block's label instead of returning (<see cref="EmitTransition"/>): registers stay in IL
/// locals, and the branch is taken only while no interrupt is signalled, no handler asked to leave
/// and <see cref="Cpu.State.CpuState.LoopBudget"/> has room for the block just finished.
/// </summary>
public sealed partial class BlockEmitter
{
    private readonly Block[] _members;
    private int[] _starts = [];
    private int[] _memberOf = [];
    private readonly Dictionary<ulong, int> _memberByIp = [];
    private System.Reflection.Emit.Label[] _memberLabel = [];
    private bool[] _targeted = [];
    private bool[] _reachable = [];

    // CpuState.LoopBudget and RegionTransitions held in locals while the translation runs (a
    // register instead of a read-modify-write of memory on every branch between members), stored
    // back before every call out (StoreLoopCounters) and at every exit.
    private LocalBuilder? _budget;
    private LocalBuilder? _transitions;

    private void InitMembers()
    {
        _starts = new int[_members.Length + 1];
        _memberOf = new int[_instructions.Length];
        for (int m = 0; m < _members.Length; m++)
        {
            _starts[m + 1] = _starts[m] + _members[m].Instructions.Length;
            Array.Fill(_memberOf, m, _starts[m], _members[m].Instructions.Length);
            _memberByIp.TryAdd(_members[m].Key.Rip & _ipMask, m);
        }

        _memberLabel = new System.Reflection.Emit.Label[_members.Length];
        _targeted = new bool[_members.Length];
        _reachable = new bool[_members.Length];
    }

    /// <summary>True when instruction <paramref name="k"/> is the last of its block.</summary>
    private bool IsBlockEnd(int k) => k == _starts[_memberOf[k] + 1] - 1;

    /// <summary>The block of this translation that starts at <paramref name="ip"/> and has a label, or -1.</summary>
    private int MemberAt(ulong ip) => _memberByIp.TryGetValue(ip & _ipMask, out int m) && _targeted[m] ? m : -1;

    /// <summary>Where the inline code at the end of a block may go on: branch targets and the next instruction.</summary>
    private ulong[] Successors(in Instruction i)
    {
        if (Tiering.RegionBuilder.IsIndirectJump(in i))
        {
            return _members.Length > 1 ? [.. _members.Select(b => b.Key.Rip)] : [];
        }

        if (i.Mnemonic == Mnemonic.Ret)
        {
            return [.. ReturnSites().Select(m => _members[m].Key.Rip)];
        }

        if (i.Code.IsJccShortOrNear())
        {
            return [i.NearBranchTarget, i.NextIP];
        }

        if (i.Mnemonic is Mnemonic.Jmp or Mnemonic.Call)
        {
            return i.Op0Kind is OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64 ? [i.NearBranchTarget] : [];
        }

        return [i.NextIP];
    }

    private int[]? _returnSites;

    /// <summary>The blocks that start right after a CALL ending another block: where a RET may go back to inside the region.</summary>
    private int[] ReturnSites()
    {
        if (_returnSites is null)
        {
            var sites = new List<int>();
            for (int m = 0; m < _members.Length && _members.Length > 1; m++)
            {
                ref readonly Instruction last = ref _instructions[_starts[m + 1] - 1];
                if (last.Mnemonic == Mnemonic.Call && _memberByIp.TryGetValue(last.NextIP & _ipMask, out int site) && !sites.Contains(site))
                {
                    sites.Add(site);
                }
            }

            _returnSites = [.. sites];
        }

        return _returnSites;
    }

    /// <summary>
    /// A near JMP through a register or memory at the end of a region's block is inline when it
    /// can go on in the region (32- and 64-bit code): the target is compared with the blocks' addresses.
    /// </summary>
    private bool CanInlineIndirectJump(in Instruction i) => _members.Length > 1 && _bitness != 16 && Tiering.RegionBuilder.IsIndirectJump(in i);

    /// <summary>
    /// JMP r/m at a block's end (<see cref="CanInlineIndirectJump"/>): a register target, or a
    /// memory target that hits the software TLB inline, goes on at the block of the region it
    /// names; anything else (another target, a TLB miss, which may be MMIO or fault) calls the
    /// handler, which reads the operand and checks the target as always.
    /// </summary>
    private void EmitIndirectJump(int k)
    {
        ref readonly Instruction i = ref _instructions[k];
        int size = Cpu.X86Cpu.OperandSize(i, 0);
        var slow = _il.DefineLabel();
        if (i.Op0Kind == OpKind.Register)
        {
            LoadReg(i.Op0Register);
            _il.Emit(OpCodes.Stloc, Value);
        }
        else
        {
            EmitEffectiveAddress(in i);
            if (!EmitTlbProbe((int)Cpu.X86Cpu.MemorySegment(in i), size, Mmu.Paging.Tlb.ReadTagOffset, out var miss))
            {
                _il.Emit(OpCodes.Br, slow);
            }
            else
            {
                _il.Emit(OpCodes.Unaligned, (byte)1);
                _il.Emit(size switch { 2 => OpCodes.Ldind_U2, 4 => OpCodes.Ldind_U4, _ => OpCodes.Ldind_I8 });
                _il.Emit(OpCodes.Conv_U8);
                _il.Emit(OpCodes.Stloc, Value);
                EmitGoOnAtMember(k, Value, [.. Enumerable.Range(0, _members.Length)]);
                _il.MarkLabel(miss);
            }
        }

        if (i.Op0Kind == OpKind.Register)
        {
            EmitGoOnAtMember(k, Value, [.. Enumerable.Range(0, _members.Length)]);
        }

        _il.MarkLabel(slow);
        SpillDirty();
        EmitCalli(k);
        Return(k);
    }

    /// <summary>
    /// After instruction <paramref name="k"/> completed with RIP = <paramref name="target"/> (a
    /// local): goes on at whichever of <paramref name="candidates"/> starts there, else falls
    /// through (stack empty).
    /// </summary>
    private void EmitGoOnAtMember(int k, LocalBuilder target, int[] candidates)
    {
        foreach (int m in candidates)
        {
            if (!_targeted[m])
            {
                continue;
            }

            var next = _il.DefineLabel();
            ulong ip = _members[m].Key.Rip & _ipMask;
            _il.Emit(OpCodes.Ldloc, target);
            _il.Emit(OpCodes.Ldc_I8, (long)ip);
            _il.Emit(OpCodes.Bne_Un, next);
            EmitTransition(k, m, ip);
            _il.MarkLabel(next);
        }
    }

    /// <summary>
    /// Marks the blocks reachable from the first through inline branches at block ends
    /// (<see cref="_reachable"/>) and those such a branch targets (<see cref="_targeted"/>, which
    /// get a label).
    /// </summary>
    private void FindBranchesBetweenMembers(bool[] plan)
    {
        var work = new Stack<int>();
        work.Push(0);
        _reachable[0] = true;
        while (work.Count > 0)
        {
            int m = work.Pop();
            int end = _starts[m + 1] - 1;
            if (!plan[end])
            {
                continue;
            }

            foreach (ulong target in Successors(in _instructions[end]))
            {
                if (_memberByIp.TryGetValue(target & _ipMask, out int t))
                {
                    _targeted[t] = true;
                    if (!_reachable[t])
                    {
                        _reachable[t] = true;
                        work.Push(t);
                    }
                }
            }
        }

        for (int m = 0; m < _members.Length; m++)
        {
            if (_targeted[m])
            {
                _memberLabel[m] = _il.DefineLabel();
            }
        }
    }

    /// <summary>At the first instruction of block <paramref name="m"/>: its label; false when no code is needed for it.</summary>
    private bool EnterMember(int m)
    {
        if (!_reachable[m])
        {
            return false;
        }

        // Inline TLB probes are limited per block (MaxInlineProbes).
        _probes = 0;
        _currentMember = m;
        _carried = _carryEnd[m] >= 0;
        if (_targeted[m])
        {
            // Branches arrive with locals newer than the state: treat every local as dirty here,
            // so that any exit stores them (a clean local stores the value it holds). Whatever
            // the emitter knew about the locals from the code just before (another block, which
            // ended in a return or a branch) does not hold here: the flags local holds every
            // flag live at this block's start, as each branch here leaves it (EmitTransition).
            _il.MarkLabel(_memberLabel[m]);
            MarkAllDirty();

            // Branches arrive with no pending flag record (BranchToMember), or with one carried
            // in that the block's exits compute until it dies (BlockEmitter.Carry.cs).
            _pending = false;
            Note($"block {m} ({_members[m].Key.Rip:x}):");
        }

        return true;
    }

    /// <summary>
    /// Flag liveness block by block. Every flag is live at a block's end, except where the block
    /// can only go on, without any check that could leave, to blocks at higher addresses
    /// (<see cref="IsUncheckedBranch"/>): there, what those blocks read before writing. Blocks
    /// are taken from the highest address down, so the blocks they go on to are done first.
    /// </summary>
    private ulong[] LiveAfterMembers(bool[] pure, bool[] plan)
    {
        if (_members.Length == 1)
        {
            return FlagLiveness.LiveAfter(_instructions, pure);
        }

        var live = new ulong[_instructions.Length];
        var liveIn = new ulong[_members.Length];
        foreach (int m in Enumerable.Range(0, _members.Length).OrderByDescending(m => _members[m].Key.Linear))
        {
            int start = _starts[m], end = _starts[m + 1] - 1, length = end - start + 1;
            ulong liveOut = FlagLiveness.All;
            if (plan[end] && NextMembers(end) is { } next && next.All(t => IsUncheckedBranch(end, t)))
            {
                liveOut = 0;
                foreach (int t in next)
                {
                    liveOut |= liveIn[t];
                }
            }

            FlagLiveness.LiveAfter(_instructions[start..(end + 1)], pure[start..(end + 1)], liveOut).CopyTo(live, start);
            ref readonly Instruction first = ref _instructions[start];
            liveIn[m] = pure[start] ? (live[start] & ~FlagLiveness.ToEflags(first.RflagsModified)) | FlagLiveness.ToEflags(first.RflagsRead) : FlagLiveness.All;
        }

        return live;
    }

    /// <summary>
    /// The members where instruction <paramref name="end"/> (a block's last, inline) goes on,
    /// when it is a direct JMP, a Jcc or a fall-through and every place it goes on is a member;
    /// otherwise null (it may leave the region).
    /// </summary>
    private int[]? NextMembers(int end)
    {
        ref readonly Instruction i = ref _instructions[end];
        if (i.Mnemonic is Mnemonic.Call or Mnemonic.Ret || Tiering.RegionBuilder.IsIndirectJump(in i))
        {
            return null;
        }

        var targets = Successors(in i);
        var members = new int[targets.Length];
        for (int n = 0; n < targets.Length; n++)
        {
            if (!_memberByIp.TryGetValue(targets[n] & _ipMask, out members[n]))
            {
                return null;
            }
        }

        return members;
    }

    /// <summary>
    /// A branch from the end of a block (instruction <paramref name="k"/>) to block
    /// <paramref name="target"/> at a higher address, after an instruction that touches no
    /// memory, needs no check: any cycle has a branch back, which checks the budget and the
    /// interrupt poll, and nothing since the last check can have asked to leave
    /// (<see cref="Cpu.State.CpuState.ExitRequest"/> is checked after every handler call and store).
    /// </summary>
    private bool IsUncheckedBranch(int k, int target)
    {
        return !TouchesMemory(k) && _members[target].Key.Linear > _members[_memberOf[k]].Key.Linear;
    }

    /// <summary>True when instruction <paramref name="k"/> reads or writes memory (through a handler call, a code write could end the translation).</summary>
    private bool TouchesMemory(int k)
    {
        ref readonly Instruction i = ref _instructions[k];
        bool memory = i.Mnemonic is Mnemonic.Call or Mnemonic.Ret or Mnemonic.Push or Mnemonic.Pop;
        for (int n = 0; n < i.OpCount && !memory; n++)
        {
            memory = i.GetOpKind(n) == OpKind.Memory && i.Mnemonic != Mnemonic.Lea;
        }

        return memory;
    }

    /// <summary>
    /// Instruction <paramref name="k"/>, the last of its block, is complete and goes on at block
    /// <paramref name="target"/> (stack empty, locals live). A branch forward that needs no check
    /// (<see cref="IsUncheckedBranch"/>) takes this block's instructions from the budget and
    /// branches; any other branches to the target's label while no interrupt was signalled (<see cref="Cpu.State.CpuState.InterruptPoll"/>), no handler or
    /// code write asked to leave (<see cref="Cpu.State.CpuState.ExitRequest"/>) and
    /// <see cref="Cpu.State.CpuState.LoopBudget"/> holds this block's instructions, which the
    /// branch takes from it; otherwise leaves with RIP = <paramref name="rip"/>. The flags local
    /// must hold the real value of every flag live at the target's start when the branch is
    /// taken (the target reads it) but those of a record carried there (BlockEmitter.Carry.cs),
    /// and of every flag on the way out.
    /// </summary>
    private void EmitTransition(int k, int target, ulong rip)
    {
        int length = _starts[_memberOf[k] + 1] - _starts[_memberOf[k]];
        if (IsUncheckedBranch(k, target))
        {
            // Forward: take the block's instructions from the budget, no check (CompiledRegion.TotalLength).
            _il.Emit(OpCodes.Ldloc, _budget!);
            _il.Emit(OpCodes.Ldc_I4, length);
            _il.Emit(OpCodes.Sub);
            _il.Emit(OpCodes.Stloc, _budget!);
            CountTransition();
            BranchToMember(target);
            return;
        }

        var leave = _il.DefineLabel();
        LoadStateAddress(StateLayout.InterruptPoll);
        _il.Emit(OpCodes.Volatile);
        _il.Emit(OpCodes.Ldind_I4);
        if (TouchesMemory(k))
        {
            // Only a memory access at the block's end can have set it unchecked (a code write).
            LoadStateAddress(StateLayout.ExitRequest);
            _il.Emit(OpCodes.Ldind_I4);
            _il.Emit(OpCodes.Or);
        }

        _il.Emit(OpCodes.Brtrue, leave);

        // budget -= length, given back on the way out: a subtract and a branch on its sign.
        var take = _il.DefineLabel();
        _il.Emit(OpCodes.Ldloc, _budget!);
        _il.Emit(OpCodes.Ldc_I4, length);
        _il.Emit(OpCodes.Sub);
        _il.Emit(OpCodes.Stloc, _budget!);
        _il.Emit(OpCodes.Ldloc, _budget!);
        _il.Emit(OpCodes.Ldc_I4_0);
        _il.Emit(OpCodes.Bge, take);
        _il.Emit(OpCodes.Ldloc, _budget!);
        _il.Emit(OpCodes.Ldc_I4, length);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Stloc, _budget!);
        _il.Emit(OpCodes.Br, leave);
        _il.MarkLabel(take);
        CountTransition();
        BranchToMember(target);
        _il.MarkLabel(leave);
        SpillDirtyOnSidePath();
        StoreRip(rip);
        Return(k);
    }

    /// <summary>
    /// Jumps to block <paramref name="target"/>'s label. A pending flag record goes along only as
    /// far as the target needs it: carried when the target only may leave before overwriting
    /// every flag (BlockEmitter.Carry.cs), else materialised when the target reads one of its
    /// flags before writing it, dropped otherwise (every flag is live before an instruction that
    /// can leave, so no exit sees the dropped record). The compile-time flag state is kept for
    /// the code after.
    /// </summary>
    private void BranchToMember(int target)
    {
        var state = SaveFlagState();
        if (_carried)
        {
            // A record carried through this block (BlockEmitter.Carry.cs): it stays in the frame
            // for a target that takes it, or dies at the target's first instruction.
            if (!_takesCarried[target])
            {
                Note($"  carried record materialised for block {target}");
                MaterializeFlags();
            }
            else
            {
                Note($"  carried record passed on to block {target}");
            }
        }
        else if (_carryEnd[target] >= 0)
        {
            EmitCarry(target);
        }
        else if (_pending && (_pendingMask & LiveBefore(_starts[target])) != 0)
        {
            Note($"  materialised for block {target}: {_pendingKind}, flags {_pendingMask:x}");
            MaterializeFlags();
        }

        _il.Emit(OpCodes.Br, _memberLabel[target]);
        RestoreFlagState(state);
    }

    private void CountTransition()
    {
        if (_transitions is not null)
        {
            _il.Emit(OpCodes.Ldloc, _transitions);
            _il.Emit(OpCodes.Ldc_I4_1);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Stloc, _transitions);
        }
    }

    /// <summary>
    /// At the start of a translation that branches between members: the budget into its local
    /// (and, in a region, the transition count from zero; the run loop zeroes the state's after each entry).
    /// </summary>
    private void LoadLoopCounters()
    {
        if (!_targeted.Any(t => t))
        {
            return;
        }

        _budget = _il.DeclareLocal(typeof(int));
        LoadStateAddress(StateLayout.LoopBudget);
        _il.Emit(OpCodes.Ldind_I4);
        _il.Emit(OpCodes.Stloc, _budget);
        if (_members.Length > 1)
        {
            _transitions = _il.DeclareLocal(typeof(int));
        }
    }

    /// <summary>
    /// Stores the budget local where the run loop and <see cref="Cpu.X86Cpu.RetiredNow"/> read it:
    /// before a call that may read the clock (a handler, a memory access that may be MMIO) and,
    /// with the transition count, at every exit.
    /// </summary>
    private void StoreLoopCounters(bool exit)
    {
        if (_budget is not null)
        {
            LoadStateAddress(StateLayout.LoopBudget);
            _il.Emit(OpCodes.Ldloc, _budget);
            _il.Emit(OpCodes.Stind_I4);
        }

        if (exit && _transitions is not null)
        {
            LoadStateAddress(StateLayout.RegionTransitions);
            _il.Emit(OpCodes.Ldloc, _transitions);
            _il.Emit(OpCodes.Conv_I8);
            _il.Emit(OpCodes.Stind_I8);
        }
    }

    /// <summary>Loads the loop counters back after <see cref="StoreLoopCounters"/>(exit: true) and a call.</summary>
    private void ReloadLoopCounters()
    {
        if (_budget is not null)
        {
            LoadStateAddress(StateLayout.LoopBudget);
            _il.Emit(OpCodes.Ldind_I4);
            _il.Emit(OpCodes.Stloc, _budget);
        }

        if (_transitions is not null)
        {
            LoadStateAddress(StateLayout.RegionTransitions);
            _il.Emit(OpCodes.Ldind_I8);
            _il.Emit(OpCodes.Conv_I4);
            _il.Emit(OpCodes.Stloc, _transitions);
        }
    }

    /// <summary>
    /// A Jcc at a block's end with at least one side in this translation. <paramref name="condition"/>
    /// pushes a value that is non-zero when the condition (or, if it returns true, its negation) holds.
    /// </summary>
    private void EmitJccBetweenMembers(int k, Func<bool> condition)
    {
        ref readonly Instruction i = ref _instructions[k];
        var taken = _il.DefineLabel();
        bool negate = condition();
        _il.Emit(negate ? OpCodes.Brfalse : OpCodes.Brtrue, taken);
        EmitGoOn(k, i.NextIP);
        _il.MarkLabel(taken);
        EmitGoOn(k, _instructions[k].NearBranchTarget);
    }

    /// <summary>Goes on at <paramref name="rip"/> after instruction <paramref name="k"/>: in this translation if it can, else leaves.</summary>
    private void EmitGoOn(int k, ulong rip)
    {
        if (MemberAt(rip) is int member and >= 0)
        {
            EmitTransition(k, member, rip);
            return;
        }

        SpillDirtyOnSidePath();
        StoreRip(rip);
        Return(k);
    }
}
