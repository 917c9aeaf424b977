using Emulator.Cpu.Exceptions;
using Iced.Intel;

namespace Emulator.Cpu.Decode;

/// <summary>
/// Builds blocks and keeps them until the code under them changes. Each page a block comes from
/// is marked as code in physical memory; a write there raises CodeModified, which lands in
/// <see cref="InvalidatePage"/> and drops exactly the blocks on that page (DESIGN.md,
/// "Self-modifying code").
/// </summary>
public sealed class BlockCache
{
    /// <summary>Blocks end after this many instructions even without a control transfer.</summary>
    public const int MaxInstructions = 64;

    private readonly X86Cpu _cpu;
    private readonly Dictionary<BlockKey, Block> _blocks = [];
    private readonly Dictionary<ulong, List<Block>> _byPage = [];
    private readonly HashSet<Code> _reportedGated = [];

    internal BlockCache(X86Cpu cpu)
    {
        _cpu = cpu;
    }

    public int Count => _blocks.Count;

    public long BlocksBuilt { get; private set; }

    public long Invalidations { get; private set; }

    /// <summary>Raised when blocks are dropped (the JIT drops its compiled code for them too).</summary>
    public event Action<Block>? BlockInvalidated;

    public void Clear()
    {
        foreach (var block in _blocks.Values)
        {
            block.Valid = false;
        }

        _blocks.Clear();
        _byPage.Clear();
    }

    public void InvalidatePage(ulong physicalPage)
    {
        if (!_byPage.Remove(physicalPage, out var list))
        {
            return;
        }

        foreach (var block in list)
        {
            if (block.Valid)
            {
                // A compiled block that just wrote its own code page must leave at once, as the interpreter does.
                _cpu.S.ExitRequest = 1;
                block.Valid = false;
                block.Successor0 = block.Successor1 = null;
                _blocks.Remove(block.Key);
                Invalidations++;
                BlockInvalidated?.Invoke(block);
            }
        }
    }

    /// <summary>
    /// Returns the block at <paramref name="rip"/> (linear <paramref name="linear"/>), building it
    /// if needed. Returns null with a fault pending when the first instruction cannot be fetched.
    /// </summary>
    public Block? Get(ulong rip, ulong linear, int bitness)
    {
        if (!_cpu.Tlb.TryTranslateExecute(linear, _cpu.S.Cpl == 3, out ulong physical) && !_cpu.Translate(linear, Mmu.Paging.AccessKind.Execute, out physical))
        {
            return null;
        }

        var key = new BlockKey(rip, linear, physical, bitness);
        if (_blocks.TryGetValue(key, out var block))
        {
            return block;
        }

        return Build(key);
    }

    /// <summary>The block already built for <paramref name="key"/>, or null (builds nothing, touches no guest state).</summary>
    public Block? Find(BlockKey key) => _blocks.GetValueOrDefault(key);

    /// <summary>The blocks built from bytes of physical page <paramref name="physicalPage"/> (page-aligned).</summary>
    public IReadOnlyList<Block> BlocksOnPage(ulong physicalPage) => _byPage.TryGetValue(physicalPage, out var list) ? list : [];

    private static ulong LinearMask(int bitness) => bitness == 64 ? ulong.MaxValue : 0xFFFF_FFFFUL;

    /// <summary>The target of a direct near JMP that lands after it in the block's first page, or null.</summary>
    private static ulong? ForwardJumpInPage(in Instruction i, BlockKey key, ulong firstPage)
    {
        if (i.Mnemonic != Mnemonic.Jmp || i.Op0Kind is not (OpKind.NearBranch16 or OpKind.NearBranch32 or OpKind.NearBranch64))
        {
            return null;
        }

        ulong target = i.NearBranchTarget;
        ulong targetLinear = (key.Linear - key.Rip + target) & LinearMask(key.Bitness);
        return target >= i.NextIP && (targetLinear & ~0xFFFUL) == firstPage ? target : null;
    }

    private Block? Build(BlockKey key)
    {
        var reader = new GuestCodeReader(_cpu, key.Linear);
        var readers = new List<GuestCodeReader> { reader };
        var decoder = Decoder.Create(key.Bitness, reader, key.Rip, DecoderOptions.None);
        var instructions = new List<Instruction>();
        ulong firstPage = key.Linear & ~0xFFFUL;
        ulong linear = key.Linear;
        ulong cr2 = _cpu.S.Cr2;
        var advertised = CpuModels.Advertised(_cpu.Cpuid);
        while (instructions.Count < MaxInstructions)
        {
            if (instructions.Count > 0 && (linear & ~0xFFFUL) != firstPage)
            {
                break;
            }

            decoder.Decode(out Instruction instruction);
            if (instruction.IsInvalid && decoder.LastError == DecoderError.NoMoreBytes)
            {
                if (instructions.Count == 0)
                {
                    if (reader.FetchFaulted)
                    {
                        return null;
                    }

                    // Code in MMIO or unmapped space: fetches read all ones there, which is not a valid instruction.
                    _cpu.RaiseFault(Vector.UD);
                    return null;
                }

                // The next instruction straddles into a page that faults: end the block before it
                // and forget the fault; it is raised when execution really gets there.
                _cpu.ClearFault();
                _cpu.S.Cr2 = cr2;
                break;
            }

            if (!FeatureGate.Allows(ref instruction, advertised, key.Bitness, out var missing))
            {
                // An extension the CPU model does not advertise: #UD when execution reaches it. The
                // block ends before it, so the fault is raised by a block that starts there.
                if (instructions.Count > 0)
                {
                    break;
                }

                if (_reportedGated.Add(instruction.Code))
                {
                    _cpu.Log?.Invoke($"#UD: {instruction.Code} needs {missing}, which CPU model {_cpu.Model} does not advertise");
                }

                _cpu.RaiseFault(Vector.UD);
                return null;
            }

            instructions.Add(instruction);
            linear += (ulong)instruction.Length;
            if (ForwardJumpInPage(in instruction, key, firstPage) is ulong target)
            {
                // A direct JMP forward within the page: the block goes on at the target (the JMP
                // runs as usual and sets RIP to the next instruction's address), which saves a
                // dispatch per taken JMP. Backward jumps end the block, so nothing is decoded twice.
                linear = (key.Linear - key.Rip + target) & LinearMask(key.Bitness);
                reader = new GuestCodeReader(_cpu, linear);
                readers.Add(reader);
                decoder = Decoder.Create(key.Bitness, reader, target, DecoderOptions.None);
                continue;
            }

            // Iced calls HLT's flow "next", but what follows it is often zeroed RAM (ADD [RAX],AL
            // over and over) that never runs; building and compiling it wastes the JIT's time.
            if (instruction.FlowControl != FlowControl.Next || instruction.Mnemonic == Mnemonic.Hlt)
            {
                break;
            }
        }

        var pages = readers.SelectMany(r => r.PhysicalPages).Distinct().ToArray();
        var block = new Block(key, [.. instructions], pages);
        foreach (ulong page in pages)
        {
            if (!_cpu.Memory.IsCode(page))
            {
                _cpu.Memory.MarkCode(page);
                _cpu.Tlb.FlushWrites();
            }

            if (!_byPage.TryGetValue(page, out var list))
            {
                _byPage[page] = list = [];
            }

            list.Add(block);
        }

        _blocks[key] = block;
        BlocksBuilt++;
        return block;
    }
}
