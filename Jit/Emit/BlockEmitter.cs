using System.Reflection.Emit;
using System.Runtime.CompilerServices;
using Emulator.Cpu;
using Emulator.Cpu.Decode;
using Emulator.Cpu.Instructions;
using Emulator.Cpu.State;
using Emulator.Jit.Analysis;
using Iced.Intel;

namespace Emulator.Jit.Emit;

/// <summary>
/// Translates one <see cref="Block"/> into a <see cref="DynamicMethod"/> (DESIGN.md, "Tier 1: IL").
/// By default each instruction calls the interpreter's handler through <c>calli</c> on the handler
/// table's function pointer, with the decoded instruction from a pinned per-block array, so the
/// JIT and the interpreter share one semantics; after the call it leaves the block when the
/// handler asked for it (<see cref="CpuState.ExitRequest"/>: a fault, a mode change...), which
/// keeps faults precise. Instruction families with an inline fast path (the partial files next to
/// this one) emit IL instead, with the guest registers they touch held in IL locals for the whole
/// block and the arithmetic flags computed only where a later reader needs them
/// (<see cref="FlagLiveness"/>).
/// Emitted method: <c>int Block_xxx(object keepAlive, X86Cpu cpu, CpuState* state)</c>, bound to
/// its pinned instruction array as the delegate's target.
/// </summary>
public sealed unsafe partial class BlockEmitter
{
    private const int ArgCpu = 1;
    private const int ArgState = 2;

    private static readonly Type[] s_handlerParameters = [typeof(X86Cpu), typeof(Instruction).MakeByRefType()];

    private readonly Block _block;
    private readonly Instruction[] _instructions;
    private readonly Instruction[] _pinned;
    private readonly ILGenerator _il;
    private readonly BlockMethod _method;
    private readonly int _bitness;
    private readonly ulong _ipMask;
    private readonly bool _inline;
    private readonly List<string>? _listing;

    // Guest registers held in IL locals (encoding order), whether each holds a value newer than the state.
    private readonly LocalBuilder?[] _reg = new LocalBuilder?[16];
    private readonly bool[] _dirty = new bool[16];
    private LocalBuilder? _flags;
    private bool _flagsDirty;

    // Set by a side path that stored the loop counters before its flags call; its Return stores none.
    private bool _countersStored;
    private ulong[] _liveAfter = [];
    private ulong _highestTarget;

    private BlockEmitter(Block[] members, bool inline, bool dump, bool optimize)
    {
        _block = members[0];
        _members = members;
        _instructions = members.Length == 1 ? _block.Instructions : [.. members.SelectMany(b => b.Instructions)];
        _bitness = _block.Key.Bitness;
        _ipMask = _bitness == 64 ? ulong.MaxValue : _bitness == 32 ? 0xFFFF_FFFFUL : 0xFFFFUL;
        _inline = inline;
        _listing = dump ? [] : null;

        // The handlers take the instruction by reference: a pinned copy gives each a fixed address
        // that the IL embeds as a constant. The array lives as long as the delegate (its target).
        _pinned = GC.AllocateArray<Instruction>(_instructions.Length, pinned: true);
        _instructions.CopyTo(_pinned, 0);
        _method = BlockMethod.Create($"{(members.Length == 1 ? "Block" : "Region")}_{_block.Key.Linear:x16}", optimize);
        _il = _method.IL;
        InitMembers();
    }

    /// <summary>
    /// Emits the translation of <paramref name="block"/>. <paramref name="compiledLimit"/> receives
    /// the highest CS offset it fetches from or jumps to unchecked (<see cref="Block.CompiledLimit"/>),
    /// <paramref name="needsFlatStack"/> whether it assumes a flat 32-bit stack (<see cref="Block.CompiledNeedsFlatStack"/>).
    /// <paramref name="optimize"/> false makes RyuJIT compile it quickly into slower code (<see cref="BlockMethod"/>).
    /// </summary>
    public static CompiledBlock Emit(Block block, bool inline, Action<string>? dump, out ulong compiledLimit, out int inlined, out bool needsFlatStack, bool optimize = true)
    {
        return Emit([block], inline, dump, out compiledLimit, out inlined, out needsFlatStack, out _, optimize);
    }

    /// <summary>
    /// Emits one method for a region (<see cref="CompiledRegion"/>): <paramref name="members"/>
    /// from one page, the entry first, with direct branches between them. Members that no branch
    /// inside the region reaches are left out of the code; <paramref name="reached"/> counts the rest.
    /// </summary>
    public static CompiledBlock Emit(Block[] members, bool inline, Action<string>? dump, out ulong compiledLimit, out int inlined, out bool needsFlatStack, out int reached, bool optimize = true)
    {
        var emitter = new BlockEmitter(members, inline, dump is not null, optimize);
        var compiled = emitter.EmitBlock(out inlined);
        compiledLimit = emitter._highestTarget;
        needsFlatStack = emitter.NeedsFlatStack;
        reached = emitter._reachable.Count(r => r);
        if (dump is not null)
        {
            dump($"{emitter._method.Name}: {emitter._instructions.Length} instructions in {members.Length} blocks, {inlined} inline\n{string.Join('\n', emitter._listing!)}");
        }

        return compiled;
    }

    private CompiledBlock EmitBlock(out int inlined)
    {
        int n = _instructions.Length;
        // The highest offset fetched: blocks follow forward JMPs, so the last instruction need not end highest.
        _highestTarget = 0;
        foreach (ref readonly Instruction i in _instructions.AsSpan())
        {
            _highestTarget = Math.Max(_highestTarget, (i.NextIP - 1) & _ipMask);
            if (i.NextIP - 1 > _ipMask)
            {
                // The block wraps around the top of a 16-bit or 32-bit segment: leave it to the interpreter's checks.
                _highestTarget = ulong.MaxValue;
                break;
            }
        }

        var plan = _inline ? Plan() : new bool[n];
        var pure = new bool[n];

        // Instructions inlined only with dead flags leave the plan where a reader needs them; a
        // handler call then makes every flag live before it, so iterate to a fixed point.
        bool changed = true;
        while (changed)
        {
            for (int k = 0; k < n; k++)
            {
                pure[k] = plan[k] && IsPure(in _instructions[k]);
            }

            _liveAfter = LiveAfterMembers(pure, plan);
            changed = false;
            for (int k = 0; k < n; k++)
            {
                ref readonly Instruction i = ref _instructions[k];
                if (plan[k] && InlineOnlyWithDeadFlags(in i) && (_liveAfter[k] & FlagLiveness.ToEflags(i.RflagsModified)) != 0)
                {
                    plan[k] = false;
                    changed = true;
                }
            }
        }

        inlined = plan.Count(p => p);
        _pure = pure;

        // A call with a null CPU only makes the runtime compile the method (JitCompiler's warm-up).
        var body = _il.DefineLabel();
        _il.Emit(OpCodes.Ldarg, ArgCpu);
        _il.Emit(OpCodes.Brtrue, body);
        _il.Emit(OpCodes.Ldc_I4_M1);
        _il.Emit(OpCodes.Ret);
        _il.MarkLabel(body);

        DeclareLocals(plan);
        FindBranchesBetweenMembers(plan);
        LoadAllCached();
        LoadLoopCounters();
        FindCarryEnds(plan);
        FindSymbolicCarries(plan);
        for (int k = 0; k < n; k++)
        {
            if (k == _starts[_memberOf[k]] && !EnterMember(_memberOf[k]))
            {
                // No branch inside the region reaches this member: no code for it.
                k = _starts[_memberOf[k] + 1] - 1;
                continue;
            }

            if (_listing is not null)
            {
                // Only for the dump: formatting an instruction costs more than emitting it.
                Note($"{_instructions[k].IP:x}: {_instructions[k]}{(plan[k] ? "  [inline]" : "")}");
            }

            if (plan[k] && Tiering.RegionBuilder.IsIndirectJump(in _instructions[k]))
            {
                EmitIndirectJump(k);
            }
            else if (plan[k])
            {
                EmitInline(k);
            }
            else
            {
                EmitHandlerCall(k);
            }
        }

        if (_members.Length > 1 && _il.ILOffset > MaxRegionIlBytes)
        {
            throw new NotSupportedException($"region of {_il.ILOffset} IL bytes (RyuJIT would not optimise it)");
        }

        return _method.CreateDelegate(_pinned);
    }

    /// <summary>RyuJIT compiles methods above 60,000 IL bytes without optimisation (MinOpts); regions stay below.</summary>
    internal const int MaxRegionIlBytes = 50_000;

    /// <summary>Which instructions get inline IL: those a family emitter accepts.</summary>
    private bool[] Plan()
    {
        var plan = new bool[_instructions.Length];
        for (int k = 0; k < plan.Length; k++)
        {
            plan[k] = CanInline(in _instructions[k], IsBlockEnd(k))
                || (IsFollowedJump(k) && TargetAllowed(_instructions[k].NearBranchTarget))
                || (IsBlockEnd(k) && CanInlineIndirectJump(in _instructions[k]));
        }

        return plan;
    }

    /// <summary>Declares a local for every register an inline instruction touches, and for the flags.</summary>
    private void DeclareLocals(bool[] plan)
    {
        for (int k = 0; k < plan.Length; k++)
        {
            if (!plan[k])
            {
                continue;
            }

            ref readonly Instruction i = ref _instructions[k];
            for (int n = 0; n < i.OpCount; n++)
            {
                if (i.GetOpKind(n) == OpKind.Register && GprIndex(i.GetOpRegister(n)) is int r and >= 0)
                {
                    _reg[r] ??= _il.DeclareLocal(typeof(ulong));
                }
            }

            if (i.GetOpKind(0) == OpKind.Memory || i.GetOpKind(1) == OpKind.Memory || i.Mnemonic == Mnemonic.Lea)
            {
                foreach (var r in new[] { i.MemoryBase, i.MemoryIndex })
                {
                    if (GprIndex(r) is int g and >= 0)
                    {
                        _reg[g] ??= _il.DeclareLocal(typeof(ulong));
                    }
                }
            }

            if (UsesStack(in i))
            {
                _reg[CpuState.RSP] ??= _il.DeclareLocal(typeof(ulong));
            }

            if (UsesAccumulator(in i))
            {
                _reg[CpuState.RAX] ??= _il.DeclareLocal(typeof(ulong));
                _reg[CpuState.RDX] ??= _il.DeclareLocal(typeof(ulong));
            }

            if (i.RflagsRead != RflagsBits.None || i.RflagsModified != RflagsBits.None)
            {
                _flags ??= _il.DeclareLocal(typeof(ulong));
            }
        }
    }

    /// <summary>The index (RAX = 0) of a general-purpose register, or -1.</summary>
    internal static int GprIndex(Register r)
    {
        if (!r.IsGPR())
        {
            return -1;
        }

        if (r is Register.AH or Register.CH or Register.DH or Register.BH)
        {
            return r - Register.AH;
        }

        return r.GetFullRegister() - Register.RAX;
    }

    // ---- State <-> locals --------------------------------------------------------------------

    private void LoadStateAddress(int offset)
    {
        _il.Emit(OpCodes.Ldarg, ArgState);
        if (offset != 0)
        {
            _il.Emit(OpCodes.Ldc_I4, offset);
            _il.Emit(OpCodes.Add);
        }
    }

    private void LoadAllCached()
    {
        for (int r = 0; r < 16; r++)
        {
            if (_reg[r] is { } local)
            {
                LoadStateAddress(StateLayout.Gpr(r));
                _il.Emit(OpCodes.Ldind_I8);
                _il.Emit(OpCodes.Stloc, local);
                _dirty[r] = false;
            }
        }

        if (_flags is not null)
        {
            LoadStateAddress(StateLayout.Rflags);
            _il.Emit(OpCodes.Ldind_I8);
            _il.Emit(OpCodes.Stloc, _flags);
            _flagsDirty = false;
        }
    }

    private void MarkAllDirty()
    {
        for (int r = 0; r < 16; r++)
        {
            _dirty[r] = _reg[r] is not null;
        }

        _flagsDirty = _flags is not null;
    }

    /// <summary>A direct JMP inside the block that the block builder followed: the next instruction is its target.</summary>
    private bool IsFollowedJump(int k)
    {
        ref readonly Instruction i = ref _instructions[k];
        return !IsBlockEnd(k) && i.Mnemonic == Mnemonic.Jmp
            && i.Op0Kind is OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64
            && i.NearBranchTarget == _instructions[k + 1].IP;
    }

    /// <summary>Stores every register local newer than the state (before a handler call or an exit).</summary>
    private void SpillDirty()
    {
        // Registers before the flags, which a side path computes by a call (SpillDirtyOnColdPath).
        for (int r = 0; r < 16; r++)
        {
            if (_dirty[r])
            {
                LoadStateAddress(StateLayout.Gpr(r));
                _il.Emit(OpCodes.Ldloc, _reg[r]!);
                _il.Emit(OpCodes.Stind_I8);
                _dirty[r] = false;
            }
        }

        MaterializeFlags();

        if (_flagsDirty)
        {
            LoadStateAddress(StateLayout.Rflags);
            _il.Emit(OpCodes.Ldloc, _flags!);
            _il.Emit(OpCodes.Stind_I8);
            _flagsDirty = false;
        }
    }

    /// <summary>Emits an exit that stores the dirty locals without forgetting that they are dirty (for a side path).</summary>
    private void SpillDirtyOnSidePath()
    {
        var dirty = (bool[])_dirty.Clone();
        var flags = SaveFlagState();
        SpillDirtyOnColdPath();
        dirty.CopyTo(_dirty, 0);
        RestoreFlagState(flags);
    }

    private void StoreRip(ulong rip)
    {
        LoadStateAddress(StateLayout.Rip);
        _il.Emit(OpCodes.Ldc_I8, (long)(rip & _ipMask));
        _il.Emit(OpCodes.Stind_I8);
    }

    /// <summary>Leaves the block reporting instruction <paramref name="k"/> as the last one run (stack empty).</summary>
    private void Return(int k)
    {
        if (!_countersStored)
        {
            StoreLoopCounters(exit: true);
        }

        _countersStored = false;
        _il.Emit(OpCodes.Ldc_I4, k);
        _il.Emit(OpCodes.Ret);
    }

    // ---- Baseline: call the interpreter's handler ---------------------------------------------

    private void EmitHandlerCall(int k)
    {
        SpillDirty();
        EmitCalli(k);
        if (IsBlockEnd(k))
        {
            Return(k);
            return;
        }

        var next = _il.DefineLabel();
        LoadStateAddress(StateLayout.ExitRequest);
        _il.Emit(OpCodes.Ldind_I4);
        _il.Emit(OpCodes.Brfalse, next);
        Return(k);
        _il.MarkLabel(next);
        LoadAllCached();
        ReloadLoopCounters();
    }

    /// <summary>Calls the handler of instruction <paramref name="k"/> (the state must be stored).</summary>
    private void EmitCalli(int k)
    {
        ref readonly Instruction i = ref _instructions[k];

        if (Tiering.HandlerProfile.Enabled)
        {
            // SAFETY: the counters live on the pinned heap for the whole process.
            _il.Emit(OpCodes.Ldc_I8, (long)(nint)Unsafe.AsPointer(ref Tiering.HandlerProfile.Counts[(int)i.Code]));
            _il.Emit(OpCodes.Conv_U);
            _il.Emit(OpCodes.Dup);
            _il.Emit(OpCodes.Ldind_I8);
            _il.Emit(OpCodes.Ldc_I4_1);
            _il.Emit(OpCodes.Conv_I8);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Stind_I8);
        }

        // As the interpreter: RIP already points after the instruction while its handler runs.
        StoreRip(i.NextIP);
        if (!_countersStored)
        {
            // All of them, as at an exit: the code after the call loads them back (EmitHandlerCall)
            // or leaves, so that neither stays live across the call (SpillDirtyOnColdPath).
            StoreLoopCounters(exit: true);
            _countersStored = true;
        }

        _il.Emit(OpCodes.Ldarg, ArgCpu);

        // SAFETY: _pinned is allocated on the pinned heap and kept alive by the delegate's target.
        _il.Emit(OpCodes.Ldc_I8, (long)(nint)Unsafe.AsPointer(ref _pinned[k]));
        _il.Emit(OpCodes.Conv_U);
        _il.Emit(OpCodes.Ldc_I8, (long)(nint)InstructionTable.Handlers[(int)i.Code]);
        _il.Emit(OpCodes.Conv_U);
        _il.EmitCalli(OpCodes.Calli, System.Reflection.CallingConventions.Standard, typeof(void), s_handlerParameters, null);
    }

    private void Note(string line) => _listing?.Add(line);
}
