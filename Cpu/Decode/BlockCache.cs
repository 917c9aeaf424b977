using Emulator.Cpu.Exceptions;
using Iced.Intel;

namespace Emulator.Cpu.Decode;

/// <summary>
/// Builds blocks and keeps them until the code under them changes. Each page a block comes from
/// is marked as code in physical memory; a write there raises CodeModified, which lands in
/// <see cref="InvalidateRange"/> and drops exactly the blocks whose bytes the write touched
/// (DESIGN.md, "Self-modifying code"). Linux patches its text a few bytes at a time while it boots
/// (alternatives, return thunks, static calls, jump labels, ftrace): dropping every block of the
/// page at each patch rebuilt hot code such as memcpy dozens of times and kept it interpreted.
/// </summary>
public sealed unsafe class BlockCache
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
        Array.Clear(_recent);
    }

    /// <summary>Drops every block with bytes on <paramref name="physicalPage"/>.</summary>
    public void InvalidatePage(ulong physicalPage)
    {
        if (!_byPage.Remove(physicalPage, out var list))
        {
            return;
        }

        foreach (var block in list)
        {
            Invalidate(block);
        }
    }

    /// <summary>
    /// A write of <paramref name="size"/> bytes at <paramref name="physicalAddress"/> hit a code page
    /// (PhysicalMemory cleared its mark): drops the blocks whose bytes it touched, and marks the page
    /// as code again when blocks remain on it.
    /// </summary>
    public void InvalidateRange(ulong physicalAddress, int size)
    {
        ulong page = physicalAddress & ~0xFFFUL;
        if (!_byPage.TryGetValue(page, out var list))
        {
            return;
        }

        int start = (int)(physicalAddress & 0xFFF);
        int end = Math.Min(start + size, 0x1000);
        int kept = 0;
        for (int n = 0; n < list.Count; n++)
        {
            var block = list[n];
            if (!block.Valid)
            {
                continue; // dropped through another page it spans
            }

            if (block.Covers(page, start, end))
            {
                Invalidate(block);
                continue;
            }

            list[kept++] = block;
        }

        list.RemoveRange(kept, list.Count - kept);
        if (kept == 0)
        {
            _byPage.Remove(page);
        }
        else
        {
            // Still code: writes keep taking the slow path (no TLB entry gained a write tag meanwhile).
            _cpu.Memory.MarkCode(page);
        }
    }

    private void Invalidate(Block block)
    {
        if (block.Valid)
        {
            // A compiled block that just wrote its own code must leave at once, as the interpreter does.
            _cpu.S.ExitRequest = 1;
            block.Valid = false;
            block.Successor0 = block.Successor1 = null;
            _blocks.Remove(block.Key);
            Invalidations++;
            BlockInvalidated?.Invoke(block);
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

        // The run loop asks here for every transition its chained successors do not cover (RET,
        // indirect branches, interrupts): a direct-mapped cache in front of the dictionary saves
        // the hash and the cache misses of a lookup among tens of thousands of blocks.
        ref Block? slot = ref _recent[(int)((linear ^ (linear >> 12)) & (RecentSize - 1))];
        if (slot is { Valid: true } recent && recent.Key.Linear == linear && recent.Key.Rip == rip && recent.Key.Physical == physical && recent.Key.Bitness == bitness)
        {
            return recent;
        }

        var key = new BlockKey(rip, linear, physical, bitness);
        if (!_blocks.TryGetValue(key, out var block))
        {
            block = Build(key);
        }

        slot = block;
        return block;
    }

    private const int RecentSize = 4096;

    /// <summary>The block last returned by <see cref="Get"/> for each hash of a linear address (invalid ones are skipped).</summary>
    private readonly Block?[] _recent = new Block?[RecentSize];

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

    /// <summary>For each physical page of a block, the range of offsets its instruction bytes occupy.</summary>
    private static (int Start, int End)[] Spans(BlockKey key, List<Instruction> instructions, List<GuestCodeReader> readers, ulong[] pages)
    {
        var spans = new (int Start, int End)[pages.Length];
        Array.Fill(spans, (0x1000, 0));
        ulong mask = LinearMask(key.Bitness);
        foreach (var instruction in instructions)
        {
            ulong linear = (key.Linear - key.Rip + instruction.IP) & mask;
            int length = instruction.Length;
            while (length > 0)
            {
                int offset = (int)(linear & 0xFFF);
                int run = Math.Min(length, 0x1000 - offset);
                int index = PageIndex(linear & ~0xFFFUL, readers, pages);
                if (index < 0)
                {
                    // Not found (cannot happen: every byte decoded was read through a reader): whole pages.
                    Array.Fill(spans, (0, 0x1000));
                    return spans;
                }

                spans[index] = (Math.Min(spans[index].Start, offset), Math.Max(spans[index].End, offset + run));
                linear = (linear + (ulong)run) & mask;
                length -= run;
            }
        }

        return spans;
    }

    private static int PageIndex(ulong linearPage, List<GuestCodeReader> readers, ulong[] pages)
    {
        foreach (var reader in readers)
        {
            int i = reader.LinearPages.IndexOf(linearPage);
            if (i >= 0)
            {
                return Array.IndexOf(pages, reader.PhysicalPages[i]);
            }
        }

        return -1;
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
        var block = new Block(key, [.. instructions], pages, Spans(key, instructions, readers, pages));
        foreach (ulong page in pages)
        {
            if (!_cpu.Memory.IsCode(page))
            {
                // Only the entries of this page can hold a write tag for it: dropping every write
                // tag made each page-becomes-code event (Linux patching its text re-marks pages
                // thousands of times) cost a walk for the next write to every other page.
                _cpu.Memory.MarkCode(page);
                byte* host = _cpu.Memory.HostPage(page, forWrite: false);
                if (host != null)
                {
                    _cpu.Tlb.FlushWrites(host);
                }
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
