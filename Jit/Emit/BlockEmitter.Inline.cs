using System.Reflection;
using System.Reflection.Emit;
using Emulator.Cpu;
using Emulator.Cpu.State;
using Emulator.Mmu.Paging;
using Iced.Intel;

namespace Emulator.Jit.Emit;

/// <summary>
/// Which instructions get inline IL, the register and operand helpers the family files share, and
/// the exits of inline code. Inline code keeps the interpreter's order of effects: every memory
/// access that can fault happens before any register or flag changes, so a fault leaves through
/// <see cref="EmitFaultExit"/> with the state as it was before the instruction.
/// </summary>
public sealed partial class BlockEmitter
{
    private static readonly MethodInfo s_read = typeof(BlockEmitter).GetMethod(nameof(ReadChecked))!;
    private static readonly MethodInfo s_write = typeof(BlockEmitter).GetMethod(nameof(WriteChecked))!;

    /// <summary>
    /// <see cref="X86Cpu.Read"/> for the checked path of an inline access (a TLB miss), kept out
    /// of line: inlined, RyuJIT copied its segment checks and calls into every memory operand of a
    /// block and kept the effective address alive across them, which spilled it to the frame on
    /// the hit path as well. Public: the quick tier's methods (<see cref="BlockMethod"/>) call it.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    public static bool ReadChecked(X86Cpu cpu, Seg seg, ulong offset, int size, out ulong value) => cpu.Read(seg, offset, size, out value);

    /// <summary><see cref="X86Cpu.Write"/> for the checked path of an inline access, kept out of line as <see cref="ReadChecked"/>.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    public static bool WriteChecked(X86Cpu cpu, Seg seg, ulong offset, int size, ulong value) => cpu.Write(seg, offset, size, value);

    private LocalBuilder? _ea;
    private LocalBuilder? _value;

    private LocalBuilder Ea => _ea ??= _il.DeclareLocal(typeof(ulong));

    private LocalBuilder Value => _value ??= _il.DeclareLocal(typeof(ulong));

    private LocalBuilder? _readOut;

    /// <summary>
    /// X86Cpu.Read's out parameter on the checked path. Its own local: RyuJIT keeps a local whose
    /// address is taken in a stack slot everywhere, so Value (the inline hit path's) stays in a register.
    /// </summary>
    private LocalBuilder ReadOut => _readOut ??= _il.DeclareLocal(typeof(ulong));

    private bool CanInline(in Instruction i, bool last)
    {
        switch (i.Mnemonic)
        {
            case Mnemonic.Mov:
                return IsGprOrMemory(in i, 0) && IsGprMemoryOrImmediate(in i, 1) && !(i.Op0Kind == OpKind.Memory && i.Op1Kind == OpKind.Memory);
            case Mnemonic.Add or Mnemonic.Sub or Mnemonic.And or Mnemonic.Or or Mnemonic.Xor or Mnemonic.Cmp or Mnemonic.Test or Mnemonic.Adc or Mnemonic.Sbb:
                return IsGprOrMemory(in i, 0) && IsGprMemoryOrImmediate(in i, 1);
            case Mnemonic.Inc or Mnemonic.Dec or Mnemonic.Neg or Mnemonic.Not:
                return IsGprOrMemory(in i, 0);
            case Mnemonic.Lea:
                return IsGpr(in i, 0);
            case Mnemonic.Movzx or Mnemonic.Movsx or Mnemonic.Movsxd:
                return IsGpr(in i, 0) && IsGprOrMemory(in i, 1);
            case Mnemonic.Jmp when i.Op0Kind is OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64:
                return last && TargetAllowed(i.NearBranchTarget);
            case var _ when i.Code.IsJccShortOrNear():
                return last && TargetAllowed(i.NearBranchTarget);
            case Mnemonic.Shl or Mnemonic.Sal or Mnemonic.Shr or Mnemonic.Sar:
                // A masked immediate count of zero leaves the flags alone: that case stays with the handler.
                return IsGpr(in i, 0) && ((i.Op1Kind == OpKind.Immediate8 && (i.Immediate8 & (X86Cpu.OperandSize(i, 0) == 8 ? 0x3F : 0x1F)) != 0) || i.Op1Kind == OpKind.Register);
            case Mnemonic.Imul:
                return i.OpCount >= 2 && IsGpr(in i, 0) && IsGprOrMemory(in i, 1) && (i.OpCount == 2 || IsGprMemoryOrImmediate(in i, 2));
            case var _ when CanInlineMore(in i):
                return true;
            case Mnemonic.Push:
                return _bitness == 64
                    ? (i.Op0Kind == OpKind.Register && i.Op0Register.IsGPR64()) || i.Code is Code.Pushq_imm32 or Code.Pushq_imm8
                    : _bitness == 32 && ((i.Op0Kind == OpKind.Register && i.Op0Register.IsGPR32()) || i.Code is Code.Pushd_imm32 or Code.Pushd_imm8);
            case Mnemonic.Pop:
                return i.Op0Kind == OpKind.Register && (_bitness == 64 ? i.Op0Register.IsGPR64() : _bitness == 32 && i.Op0Register.IsGPR32());
            case Mnemonic.Call:
                return (_bitness == 64 ? i.Code == Code.Call_rel32_64 : _bitness == 32 && i.Code == Code.Call_rel32_32) && TargetAllowed(i.NearBranchTarget);
            case Mnemonic.Ret:
                return _bitness == 64 ? i.Code is Code.Retnq or Code.Retnq_imm16 : _bitness == 32 && i.Code is Code.Retnd or Code.Retnd_imm16;
            default:
                return false;
        }
    }

    /// <summary>
    /// A direct branch target the translation may jump to without the handler's check: canonical
    /// in 64-bit mode (SDM Vol. 3A 6.15, #GP otherwise); elsewhere it raises
    /// <see cref="_highestTarget"/>, which the run loop compares with the CS limit on entry.
    /// </summary>
    private bool TargetAllowed(ulong target)
    {
        if (_bitness == 64)
        {
            return X86Cpu.IsCanonical(target);
        }

        return true;
    }

    private static bool IsGpr(in Instruction i, int n) => i.GetOpKind(n) == OpKind.Register && i.GetOpRegister(n).IsGPR();

    private static bool IsGprOrMemory(in Instruction i, int n) => IsGpr(in i, n) || i.GetOpKind(n) == OpKind.Memory;

    private static bool IsGprMemoryOrImmediate(in Instruction i, int n) => IsGprOrMemory(in i, n) || i.GetOpKind(n) is OpKind.Immediate8 or OpKind.Immediate16 or OpKind.Immediate32 or OpKind.Immediate64 or OpKind.Immediate8to16 or OpKind.Immediate8to32 or OpKind.Immediate8to64 or OpKind.Immediate32to64;

    /// <summary>
    /// Instructions inlined only where no later reader needs their flags (the inline code computes
    /// none): no family at present (IMUL and the shifts leave flag records now); the planner keeps
    /// the check for families to come.
    /// </summary>
    private static bool InlineOnlyWithDeadFlags(in Instruction i) => false;

    private static bool IsShiftByCl(in Instruction i) => i.Mnemonic is Mnemonic.Shl or Mnemonic.Sal or Mnemonic.Shr or Mnemonic.Sar && i.Op1Kind == OpKind.Register;

    /// <summary>Instructions whose inline code touches RSP implicitly.</summary>
    private static bool UsesStack(in Instruction i) => i.Mnemonic is Mnemonic.Push or Mnemonic.Pop or Mnemonic.Call or Mnemonic.Ret;

    /// <summary>True when the inline code of <paramref name="i"/> can neither fault nor leave early (flag liveness may then look past it).</summary>
    private static bool IsPure(in Instruction i)
    {
        if (UsesStack(in i) || IsShiftByCl(in i) || i.Mnemonic is Mnemonic.Div or Mnemonic.Idiv)
        {
            // A shift by CL: its count may be zero, which keeps every flag (so none is killed).
            // A division may raise #DE, and changes no flag although Iced calls them modified.
            return false;
        }

        return i.Mnemonic == Mnemonic.Lea || (i.Op0Kind != OpKind.Memory && (i.OpCount < 2 || i.Op1Kind != OpKind.Memory));
    }

    private void EmitInline(int k)
    {
        ref readonly Instruction i = ref _instructions[k];
        SettleFlagsBefore(k);
        switch (i.Mnemonic)
        {
            case Mnemonic.Mov:
            case Mnemonic.Movzx:
            case Mnemonic.Movsx:
            case Mnemonic.Movsxd:
                EmitMove(k);
                break;
            case Mnemonic.Lea:
                EmitLea(k);
                break;
            case Mnemonic.Push:
            case Mnemonic.Pop:
            case Mnemonic.Call:
            case Mnemonic.Ret:
                EmitStack(k);
                break;
            case Mnemonic.Jmp:
                EmitJump(k);
                break;
            case Mnemonic.Shl or Mnemonic.Sal or Mnemonic.Shr or Mnemonic.Sar or Mnemonic.Imul:
                EmitShiftOrMultiply(k);
                break;
            case var _ when i.Code.IsJccShortOrNear():
                EmitJcc(k);
                break;
            case var _ when CanInlineMore(in i):
                EmitMore(k);
                break;
            default:
                EmitAlu(k);
                break;
        }

        if (_carried && k == _carryEnd[_memberOf[k]])
        {
            throw new InvalidOperationException($"{i}: a flag record carried into its block outlived it");
        }

        if (IsBlockEnd(k) && !(i.Mnemonic is Mnemonic.Jmp or Mnemonic.Call or Mnemonic.Ret || i.Code.IsJccShortOrNear()))
        {
            // The block ended at its size cap or a page end: fall through to the next instruction.
            if (MemberAt(i.NextIP) is int member and >= 0)
            {
                EmitTransition(k, member, i.NextIP);
                return;
            }

            SpillDirty();
            StoreRip(i.NextIP);
            Return(k);
        }
    }

    // ---- Registers ---------------------------------------------------------------------------

    /// <summary>Pushes the value of <paramref name="r"/>, zero-extended to 64 bits.</summary>
    private void LoadReg(Register r)
    {
        int g = GprIndex(r);
        _il.Emit(OpCodes.Ldloc, _reg[g]!);
        if (r is Register.AH or Register.CH or Register.DH or Register.BH)
        {
            _il.Emit(OpCodes.Ldc_I4_8);
            _il.Emit(OpCodes.Shr_Un);
            Extend(1);
            return;
        }

        Extend(r.GetSize());
    }

    /// <summary>
    /// Truncates the value on the stack to <paramref name="size"/> bytes and extends it back to 64
    /// bits, with zeros or (<paramref name="signed"/>) copies of its sign bit; 8 bytes is a no-op.
    /// </summary>
    private void Extend(int size, bool signed = false)
    {
        if (size < 8)
        {
            Narrow(size, signed);
            _il.Emit(signed ? OpCodes.Conv_I8 : OpCodes.Conv_U8);
        }
    }

    /// <summary>
    /// Truncates the value on the stack to <paramref name="size"/> bytes as an int32, with zeros or
    /// (<paramref name="signed"/>) copies of its sign bit above; 8 bytes is a no-op (it stays 64 bits).
    /// </summary>
    private void Narrow(int size, bool signed)
    {
        switch (size)
        {
            case 1:
                _il.Emit(signed ? OpCodes.Conv_I1 : OpCodes.Conv_U1);
                break;
            case 2:
                _il.Emit(signed ? OpCodes.Conv_I2 : OpCodes.Conv_U2);
                break;
            case 4:
                _il.Emit(signed ? OpCodes.Conv_I4 : OpCodes.Conv_U4);
                break;
        }
    }

    /// <summary>
    /// Pops a value into <paramref name="r"/>: a 32-bit write clears bits 63..32, 8- and 16-bit
    /// writes merge (SDM Vol. 1 3.4.1.1).
    /// </summary>
    private void StoreReg(Register r)
    {
        int g = GprIndex(r);
        var local = _reg[g]!;
        _dirty[g] = true;
        switch (r.GetSize())
        {
            case 8:
                _il.Emit(OpCodes.Stloc, local);
                return;
            case 4:
                Extend(4);
                _il.Emit(OpCodes.Stloc, local);
                return;
        }

        ulong keep;
        if (r is Register.AH or Register.CH or Register.DH or Register.BH)
        {
            Extend(1);
            _il.Emit(OpCodes.Ldc_I4_8);
            _il.Emit(OpCodes.Shl);
            keep = ~0xFF00UL;
        }
        else
        {
            Extend(r.GetSize());
            keep = r.GetSize() == 2 ? ~0xFFFFUL : ~0xFFUL;
        }

        _il.Emit(OpCodes.Ldloc, local);
        _il.Emit(OpCodes.Ldc_I8, (long)keep);
        _il.Emit(OpCodes.And);
        _il.Emit(OpCodes.Or);
        _il.Emit(OpCodes.Stloc, local);
    }

    // ---- Memory ------------------------------------------------------------------------------

    /// <summary>Stores the effective address of the memory operand in <see cref="Ea"/> (as X86Cpu.EffectiveAddress).</summary>
    private void EmitEffectiveAddress(in Instruction i)
    {
        _il.Emit(OpCodes.Ldc_I8, (long)i.MemoryDisplacement64);
        if (i.MemoryBase == Register.EIP)
        {
            _il.Emit(OpCodes.Conv_U4);
            _il.Emit(OpCodes.Conv_U8);
        }

        int addressSize = 0;
        if (i.MemoryBase != Register.None && i.MemoryBase is not (Register.RIP or Register.EIP))
        {
            LoadReg(i.MemoryBase);
            _il.Emit(OpCodes.Add);
            addressSize = i.MemoryBase.GetSize();
        }

        if (i.MemoryIndex != Register.None)
        {
            LoadReg(i.MemoryIndex);
            if (i.MemoryIndexScale > 1)
            {
                _il.Emit(OpCodes.Ldc_I4, System.Numerics.BitOperations.Log2((uint)i.MemoryIndexScale));
                _il.Emit(OpCodes.Shl);
            }

            _il.Emit(OpCodes.Add);
            addressSize = i.MemoryIndex.GetSize();
        }

        if (addressSize is 2 or 4)
        {
            Extend(addressSize);
        }

        _il.Emit(OpCodes.Stloc, Ea);
    }

    /// <summary>Reads <paramref name="size"/> bytes at the memory operand into <see cref="Value"/>; leaves the block on a fault.</summary>
    private void EmitRead(int k, in Instruction i, int size)
    {
        EmitEffectiveAddress(in i);
        EmitRead(k, (int)X86Cpu.MemorySegment(in i), size);
    }

    /// <summary>Reads at segment <paramref name="segment"/>, offset <see cref="Ea"/>, into <see cref="Value"/>.</summary>
    private void EmitRead(int k, int segment, int size)
    {
        var done = _il.DefineLabel();
        var site = NewReadSite(segment);
        LocalBuilder? address = null;
        if (site is not null)
        {
            // The page this instruction read last time round: key = the linear address with the
            // offset bits above the size's alignment set (never 0, the value of an empty site; a
            // misaligned access never matches, as the TLB probe's first tag compare).
            var probe = _il.DefineLabel();
            address = ProbeAddress(segment);
            _il.Emit(OpCodes.Ldloc, address);
            _il.Emit(OpCodes.Ldc_I8, (long)(0xFFFUL ^ (ulong)(size - 1)));
            _il.Emit(OpCodes.Or);
            _il.Emit(OpCodes.Stloc, SiteKey);
            _il.Emit(OpCodes.Ldloc, SiteKey);
            _il.Emit(OpCodes.Ldloc, site.Key);
            _il.Emit(OpCodes.Bne_Un, probe);
            _il.Emit(OpCodes.Ldloc, address);
            _il.Emit(OpCodes.Ldloc, site.Delta);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Conv_U);
            EmitLoadFromHost(size);
            _il.Emit(OpCodes.Br, done);
            _il.MarkLabel(probe);
        }

        bool probed = EmitTlbProbe(segment, size, Tlb.ReadTagOffset, out var miss, site is null ? null : SiteKey, address);
        if (probed)
        {
            if (site is not null)
            {
                // A TLB hit fills the site: delta = host address - linear address, the same for the whole page.
                _il.Emit(OpCodes.Stloc, SiteHost);
                _il.Emit(OpCodes.Ldloc, SiteKey);
                _il.Emit(OpCodes.Stloc, site.Key);
                _il.Emit(OpCodes.Ldloc, SiteHost);
                _il.Emit(OpCodes.Conv_U8);
                _il.Emit(OpCodes.Ldloc, address!);
                _il.Emit(OpCodes.Sub);
                _il.Emit(OpCodes.Stloc, site.Delta);
                _il.Emit(OpCodes.Ldloc, SiteHost);
            }

            EmitLoadFromHost(size);
            _il.Emit(OpCodes.Br, done);
            _il.MarkLabel(miss);
        }

        EmitCheckedAccess(k, cold: probed, segment, size, value: null);
        _il.Emit(OpCodes.Ldloc, ReadOut);
        _il.Emit(OpCodes.Stloc, Value);
        _il.MarkLabel(done);
    }

    /// <summary>Loads <paramref name="size"/> bytes at the host address on the stack into <see cref="Value"/>.</summary>
    private void EmitLoadFromHost(int size)
    {
        _il.Emit(OpCodes.Unaligned, (byte)1);
        _il.Emit(size switch { 1 => OpCodes.Ldind_U1, 2 => OpCodes.Ldind_U2, 4 => OpCodes.Ldind_U4, _ => OpCodes.Ldind_I8 });
        _il.Emit(OpCodes.Conv_U8);
        _il.Emit(OpCodes.Stloc, Value);
    }

    /// <summary>Writes the value on the stack to segment <paramref name="segment"/>, offset <see cref="Ea"/>; leaves on a fault.</summary>
    private void EmitWrite(int k, int segment, int size, LocalBuilder value)
    {
        var done = _il.DefineLabel();
        bool probed = EmitTlbProbe(segment, size, Tlb.WriteTagOffset, out var miss);
        if (probed)
        {
            // A write tag exists only for RAM pages without translated code (Tlb), so a hit cannot
            // be self-modifying code: the checked path handles code pages and MMIO.
            _il.Emit(OpCodes.Ldloc, value);
            _il.Emit(size switch { 1 => OpCodes.Conv_U1, 2 => OpCodes.Conv_U2, 4 => OpCodes.Conv_U4, _ => OpCodes.Conv_U8 });
            _il.Emit(OpCodes.Unaligned, (byte)1);
            _il.Emit(size switch { 1 => OpCodes.Stind_I1, 2 => OpCodes.Stind_I2, 4 => OpCodes.Stind_I4, _ => OpCodes.Stind_I8 });
            _il.Emit(OpCodes.Br, done);
            _il.MarkLabel(miss);
        }

        EmitCheckedAccess(k, cold: probed, segment, size, value);
        _il.MarkLabel(done);
    }

    /// <summary>Inline TLB probes per block at most: RyuJIT's compile time grows faster than linearly with them.</summary>
    internal const int MaxInlineProbes = 8;

    private int _probes;
    private LocalBuilder? _entry;

    // log2 of the TLB entry size: the probe computes the entry's byte offset with shifts.
    private static readonly int s_entryShift = System.Numerics.BitOperations.IsPow2(Tlb.EntrySize) && Tlb.EntrySize <= 4096
        ? System.Numerics.BitOperations.Log2((uint)Tlb.EntrySize)
        : throw new InvalidOperationException($"the inline TLB probe needs a power-of-two entry size, not {Tlb.EntrySize}");

    /// <summary>Whether the next access at <paramref name="segment"/> gets an inline TLB probe.</summary>
    private bool WillProbe(int segment) => _probes < MaxInlineProbes
        && ((_bitness != 16 && segment is (int)Seg.DS or (int)Seg.ES or (int)Seg.SS) || (_bitness == 64 && segment is (int)Seg.FS or (int)Seg.GS));

    private LocalBuilder? _linear;

    /// <summary>
    /// The local an inline probe of an access at <paramref name="segment"/> reads the linear
    /// address from: <see cref="Ea"/> itself for DS, ES and SS (flat, or the probe's set never
    /// hits); for FS and GS in 64-bit code, where they have a base and no limit (SDM Vol. 3A
    /// 3.4.4), Ea plus the base, read from the state at this access (SWAPGS, WRFSBASE and WRMSR
    /// change it between accesses) into a local of its own, so that the checked path still gets
    /// the offset. A non-canonical sum matches no tag (the TLB holds canonical pages only), so it
    /// takes the checked path, which raises the fault.
    /// </summary>
    private LocalBuilder ProbeAddress(int segment)
    {
        if (segment is not ((int)Seg.FS or (int)Seg.GS))
        {
            return Ea;
        }

        _linear ??= _il.DeclareLocal(typeof(ulong));
        _il.Emit(OpCodes.Ldloc, Ea);
        LoadStateAddress(segment == (int)Seg.FS ? StateLayout.FsBase : StateLayout.GsBase);
        _il.Emit(OpCodes.Ldind_I8);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Stloc, _linear);
        return _linear;
    }

    /// <summary>
    /// The software TLB's hit path inline (Mmu/Paging/Tlb.cs) for an access of <paramref name="size"/>
    /// bytes at DS, ES or SS offset <see cref="Ea"/> in 32- or 64-bit code, or at FS or GS in
    /// 64-bit code (<see cref="ProbeAddress"/>, or <paramref name="address"/> when the caller
    /// computed it): picks the entry of the page in <see cref="CpuState.TlbSet"/> (which the run
    /// loop points at a never-hitting set unless DS, ES and SS are flat, so the offset is the
    /// linear address) and compares its tag with the address's page. An aligned access needs one
    /// compare: the tag with the offset's bits below the size kept, which a page-aligned tag
    /// never equals for a misaligned one. A
    /// misaligned access that ends in its page then hits through a second compare, with the page
    /// key (<see cref="EmitPageKey"/>), out of the aligned path. (Only aligned accesses used to
    /// hit: a Linux boot made some 21 million misaligned ones within a page, 8-byte ones mostly,
    /// each through the checked call. A page key for every access cost the guest benchmarks
    /// 5-14 % of their CPU time.) An access that crosses into the next page takes the miss path.
    /// On a hit leaves the host address on the stack; on a miss branches to
    /// <paramref name="miss"/> with an empty stack. A misaligned hit zeroes
    /// <paramref name="siteKey"/> when given, so that the read site the hit fills stays empty:
    /// its key keeps the offset's low bits, and a later access with the same ones could cross
    /// the page. Returns false (and emits nothing) when the access always takes the checked path.
    /// </summary>
    private bool EmitTlbProbe(int segment, int size, int tagOffset, out System.Reflection.Emit.Label miss, LocalBuilder? siteKey = null, LocalBuilder? address = null)
    {
        miss = default;
        if (!WillProbe(segment))
        {
            return false;
        }

        address ??= ProbeAddress(segment);

        _probes++;
        _entry ??= _il.DeclareLocal(typeof(nint));
        miss = _il.DefineLabel();

        // entry = TlbSet + Tlb.IndexOf(Ea) * EntrySize, with IndexOf = ((Ea >> 12) ^ (Ea >> 20)) & (Entries - 1)
        // computed as ((Ea ^ (Ea >> 8)) >> (12 - log2 EntrySize)) & ((Entries - 1) << log2 EntrySize):
        // the byte offset in one shift and one mask (five host instructions instead of eight).
        LoadStateAddress(StateLayout.TlbSet);
        _il.Emit(OpCodes.Ldind_I);
        _il.Emit(OpCodes.Ldloc, address);
        _il.Emit(OpCodes.Ldloc, address);
        _il.Emit(OpCodes.Ldc_I4, Tlb.IndexFoldShift);
        _il.Emit(OpCodes.Shr_Un);
        _il.Emit(OpCodes.Xor);
        _il.Emit(OpCodes.Ldc_I4, 12 - s_entryShift);
        _il.Emit(OpCodes.Shr_Un);
        _il.Emit(OpCodes.Conv_U4);
        _il.Emit(OpCodes.Ldc_I4, (Tlb.Entries - 1) << s_entryShift);
        _il.Emit(OpCodes.And);
        _il.Emit(OpCodes.Conv_U);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Stloc, _entry);

        // tag == the address with its offset bits cleared except those below the size: a
        // misaligned access (the only kind that can cross a page) never matches a page-aligned tag.
        LoadTag(tagOffset);
        _il.Emit(OpCodes.Ldloc, address);
        _il.Emit(OpCodes.Ldc_I4, ~0xFFF | (size - 1));
        _il.Emit(OpCodes.Conv_I8);
        _il.Emit(OpCodes.And);
        if (size == 1)
        {
            _il.Emit(OpCodes.Bne_Un, miss);
        }
        else
        {
            // Misaligned (or another page): tag == the page key.
            var hit = _il.DefineLabel();
            _il.Emit(OpCodes.Beq, hit);
            LoadTag(tagOffset);
            EmitPageKey(address, size);
            _il.Emit(OpCodes.Bne_Un, miss);
            if (siteKey is not null)
            {
                _il.Emit(OpCodes.Ldc_I4_0);
                _il.Emit(OpCodes.Conv_I8);
                _il.Emit(OpCodes.Stloc, siteKey);
            }

            _il.MarkLabel(hit);
        }

        // host = HostPage + (address & 0xFFF)
        _il.Emit(OpCodes.Ldloc, _entry);
        _il.Emit(OpCodes.Ldc_I4, Tlb.HostPageOffset);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Ldind_I);
        _il.Emit(OpCodes.Ldloc, address);
        _il.Emit(OpCodes.Conv_U4);
        _il.Emit(OpCodes.Ldc_I4, 0xFFF);
        _il.Emit(OpCodes.And);
        _il.Emit(OpCodes.Conv_U);
        _il.Emit(OpCodes.Add);
        return true;
    }

    /// <summary>Pushes the tag at <paramref name="tagOffset"/> of the probe's TLB entry.</summary>
    private void LoadTag(int tagOffset)
    {
        _il.Emit(OpCodes.Ldloc, _entry!);
        if (tagOffset != 0)
        {
            _il.Emit(OpCodes.Ldc_I4, tagOffset);
            _il.Emit(OpCodes.Add);
        }

        _il.Emit(OpCodes.Ldind_I8);
    }

    /// <summary>
    /// Pushes the page key of an access of <paramref name="size"/> (2, 4 or 8) bytes at the linear
    /// address A in <paramref name="address"/>: (A &amp; ~0xFFF) | ((A ^ (A + size - 1)) &gt;&gt; 12).
    /// When the access ends in the page it starts in, that is the page, which a TLB tag for it
    /// equals; when it crosses into the next page the second term has bit 0 set, so the key
    /// equals no tag (a tag is a page, or the empty entry's 0xFFF, which no key reaches: in page
    /// 0 keys are 0 or 1).
    /// </summary>
    private void EmitPageKey(LocalBuilder address, int size)
    {
        _il.Emit(OpCodes.Ldloc, address);
        _il.Emit(OpCodes.Ldc_I4, ~0xFFF);
        _il.Emit(OpCodes.Conv_I8);
        _il.Emit(OpCodes.And);
        _il.Emit(OpCodes.Ldloc, address);
        _il.Emit(OpCodes.Ldloc, address);
        _il.Emit(OpCodes.Ldc_I4, size - 1);
        _il.Emit(OpCodes.Conv_I8);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Xor);
        _il.Emit(OpCodes.Ldc_I4, 12);
        _il.Emit(OpCodes.Shr_Un);
        _il.Emit(OpCodes.Or);
    }

    /// <summary>
    /// The checked access at segment <paramref name="segment"/>, offset <see cref="Ea"/>: a read into
    /// <see cref="ReadOut"/>, or a write of <paramref name="value"/>, with the fault exit after it.
    /// On a <paramref name="cold"/> path (the miss of an inline TLB probe) every dirty register,
    /// the flags and the loop counters are stored before the call and loaded back after it, and
    /// the address and value pass through the state (<see cref="CpuState.JitAddress"/>), so that
    /// no value is live across a call: RyuJIT keeps such a value in one of the five callee-saved
    /// registers or in the frame for the whole method, and a region's registers did not fit, so
    /// the hit path stored and reloaded them every iteration for calls that almost never run.
    /// The fault exit then has nothing left to store.
    /// </summary>
    private void EmitCheckedAccess(int k, bool cold, int segment, int size, LocalBuilder? value)
    {
        if (!cold)
        {
            StoreLoopCounters(exit: false);
            EmitCheckedCall(segment, size, value, throughState: false);
            EmitFaultExit(k);
            return;
        }

        var dirty = (bool[])_dirty.Clone();
        var flags = SaveFlagState();
        LoadStateAddress(StateLayout.JitAddress);
        _il.Emit(OpCodes.Ldloc, Ea);
        _il.Emit(OpCodes.Stind_I8);
        if (value is not null)
        {
            LoadStateAddress(StateLayout.JitValue);
            _il.Emit(OpCodes.Ldloc, value);
            _il.Emit(OpCodes.Stind_I8);
        }

        SpillDirtyOnColdPath();
        EmitCheckedCall(segment, size, value, throughState: true);
        var ok = _il.DefineLabel();
        _il.Emit(OpCodes.Brtrue, ok);
        StoreRip(_instructions[k].NextIP);
        Return(k);
        _il.MarkLabel(ok);
        LoadAllCached();
        ReloadLoopCounters();

        // Both paths hold the same values from here: the compile-time state is the hit path's.
        dirty.CopyTo(_dirty, 0);
        RestoreFlagState(flags);
    }

    /// <summary>Calls <see cref="ReadChecked"/> (<paramref name="value"/> null) or <see cref="WriteChecked"/>; pushes its result.</summary>
    private void EmitCheckedCall(int segment, int size, LocalBuilder? value, bool throughState)
    {
        _il.Emit(OpCodes.Ldarg, ArgCpu);
        _il.Emit(OpCodes.Ldc_I4, segment);
        LoadAccessOperand(Ea, StateLayout.JitAddress, throughState);
        _il.Emit(OpCodes.Ldc_I4, size);
        if (value is null)
        {
            _il.Emit(OpCodes.Ldloca, ReadOut);
            _il.Emit(OpCodes.Call, s_read);
        }
        else
        {
            LoadAccessOperand(value, StateLayout.JitValue, throughState);
            _il.Emit(OpCodes.Call, s_write);
        }
    }

    private void LoadAccessOperand(LocalBuilder local, int stateOffset, bool throughState)
    {
        if (throughState)
        {
            LoadStateAddress(stateOffset);
            _il.Emit(OpCodes.Ldind_I8);
        }
        else
        {
            _il.Emit(OpCodes.Ldloc, local);
        }
    }

    /// <summary>
    /// With a success flag on the stack: when it is false, stores the registers (as they were
    /// before instruction <paramref name="k"/>) and RIP after it, as the interpreter has them when
    /// a handler faulted, and returns k; the run loop delivers the fault at the instruction.
    /// </summary>
    private void EmitFaultExit(int k)
    {
        var ok = _il.DefineLabel();
        _il.Emit(OpCodes.Brtrue, ok);
        SpillDirtyOnSidePath();
        StoreRip(_instructions[k].NextIP);
        Return(k);
        _il.MarkLabel(ok);
    }

    /// <summary>
    /// After a write that may have hit translated code (which sets <see cref="CpuState.ExitRequest"/>
    /// when it drops blocks): the instruction is complete, so leave with everything stored.
    /// </summary>
    private void EmitExitIfRequested(int k)
    {
        // At a block's end the run loop (or a branch to another region member) looks at it.
        if (IsBlockEnd(k))
        {
            return;
        }

        var stay = _il.DefineLabel();
        LoadStateAddress(StateLayout.ExitRequest);
        _il.Emit(OpCodes.Ldind_I4);
        _il.Emit(OpCodes.Brfalse, stay);
        SpillDirtyOnSidePath();
        StoreRip(_instructions[k].NextIP);
        Return(k);
        _il.MarkLabel(stay);
    }
}
