using System.Runtime.CompilerServices;

namespace Emulator.Mmu.Paging;

/// <summary>
/// The software TLB of DESIGN.md: direct-mapped, one set per privilege level (supervisor, user).
/// An entry caches a linear page's host address under three tags, one per access kind. A tag
/// equals the linear page address only when that access may take the fast path: the page is RAM
/// (or ROM, for reads and fetches), the rights allow it, and for writes the dirty bit is already
/// set and the page holds no translated code. Anything else misses and walks.
/// Flushes follow SDM Vol. 3A 4.10.4: MOV to CR3 drops non-global entries, INVLPG drops one page
/// including global entries, CR0/CR4 paging-bit changes drop everything. Entries are not tagged
/// by PCID: the CPU drops the non-global entries whenever the current PCID changes, so only the
/// current PCID's translations (and global ones, which every PCID shares) are ever cached.
/// A 2 MiB, 4 MiB or 1 GiB page is cached as 4 KiB pieces that remember the size of their page,
/// because INVLPG of any address in a large page drops the whole page (SDM 4.10.2.3, 4.10.4.1).
/// The sets hold 2,048 entries each (8 MiB): with 256, a Linux boot missed on 3.4 % of accesses,
/// mostly instruction fetches and data evicting each other; with 1,024, the sort benchmark's
/// stack pages (0x10f, 0x110) shared entries with two pages of its 800 KB array (0x50b, 0x514),
/// 35,000 walks a run, which 2,048 entries take to none (sort 20: 0.97 -> 0.93 s of CPU; a Linux
/// boot and the other benchmarks unchanged). A MOV to CR3 clears only the entries
/// filled since the last one (<see cref="FlushNonGlobal"/>), so that the larger sets do not make
/// every address-space switch scan them all.
/// </summary>
public sealed unsafe class Tlb
{
    public const int Entries = 2048;
    // The tag of an empty entry: never equal to a page-aligned address, nor to what translated
    // code compares tags with, an access's page key (Jit BlockEmitter.EmitPageKey: the page, with
    // bit 0 set when the access crosses into the next page; 0 or 1 in page 0). A tag of 1 once
    // matched a word read at linear address 1, and the probe then read the empty entry's null
    // host page (a host exception).
    private const ulong Invalid = 0xFFF;

    // Pinned: translated code probes the entries through raw pointers (SupervisorSet, UserSet).
    private readonly Entry[] _entries = GC.AllocateArray<Entry>(Entries * 2, pinned: true);
    private bool _enabled = true;

    /// <summary>One set whose tags never match: translated code probes it when it must take the checked path.</summary>
    private static readonly Entry[] s_missSet = CreateMissSet();

    /// <summary>Layout of an entry for translated code: its size and the offsets of the read tag, write tag and host page.</summary>
    public static readonly int EntrySize = Unsafe.SizeOf<Entry>();
    public static readonly int ReadTagOffset = FieldOffset(ref s_missSet[0].ReadTag);
    public static readonly int WriteTagOffset = FieldOffset(ref s_missSet[0].WriteTag);
    public static readonly int HostPageOffset = FieldOffset(ref s_missSet[0].HostPage);

    /// <summary>Set when a piece of a large page was filled since the last full flush.</summary>
    private bool _holdsLargePages;

    // The indices of the entries filled without G since the last flush of non-global entries (an
    // index may appear twice after an INVLPG), and whether more were filled than it holds.
    private readonly int[] _filled = new int[Entries * 2];
    private int _filledCount;
    private bool _filledOverflow;

    private readonly nint _supervisorSet;
    private readonly nint _userSet;

    public Tlb()
    {
        _supervisorSet = (nint)Unsafe.AsPointer(ref _entries[0]);
        _userSet = (nint)Unsafe.AsPointer(ref _entries[Entries]);
        FlushAll();
    }

    /// <summary>
    /// The address of the <see cref="Entries"/> entries of the supervisor or user set, for
    /// translated code that looks up the entry of an address at <see cref="IndexOf"/> * EntrySize
    /// and hits when the tag equals the page (as <see cref="Lookup"/>; it does not count hits).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public nint SetAddress(bool user) => user ? _userSet : _supervisorSet;

    /// <summary>A set of <see cref="Entries"/> entries that never hit (see <see cref="SetAddress"/>).</summary>
    public static nint MissSetAddress { get; } = (nint)Unsafe.AsPointer(ref s_missSet[0]);

    private static Entry[] CreateMissSet()
    {
        var set = GC.AllocateArray<Entry>(Entries, pinned: true);
        for (int i = 0; i < set.Length; i++)
        {
            set[i] = new Entry { ReadTag = Invalid, WriteTag = Invalid, ExecTag = Invalid };
        }

        return set;
    }

    private static int FieldOffset<T>(ref T field) => (int)Unsafe.ByteOffset(ref Unsafe.As<Entry, byte>(ref s_missSet[0]), ref Unsafe.As<T, byte>(ref field));

    /// <summary>Lookups that found their tag (the fast path); a miss is counted by the caller that walks.</summary>
    public long Hits { get; set; }

    public long Misses { get; set; }

    /// <summary>
    /// The entry of a linear page within a set: its page number's low bits, folded with the next
    /// ones, so that two arrays a multiple of <see cref="Entries"/> pages apart (1 MiB: a copy
    /// loop's source and destination) do not evict each other on every access.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int IndexOf(ulong linear) => (int)(((linear >> 12) ^ (linear >> (12 + IndexFoldShift))) & (Entries - 1));

    /// <summary>How many bits above the page number's low bits <see cref="IndexOf"/> folds in (the JIT's inline probe computes the same).</summary>
    public const int IndexFoldShift = 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Index(ulong linear, bool user) => IndexOf(linear) + (user ? Entries : 0);

    /// <summary>The host address for <paramref name="linear"/>, or null on a miss.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Lookup(ulong linear, AccessKind access, bool user)
    {
        ref Entry e = ref _entries[Index(linear, user)];
        ulong page = linear & ~0xFFFUL;
        ulong tag = access switch
        {
            AccessKind.Read => e.ReadTag,
            AccessKind.Write => e.WriteTag,
            _ => e.ExecTag,
        };
        if (tag != page)
        {
            return null;
        }

        Hits++;

        // SAFETY: HostPage points at a 4 KiB host page that stays mapped while the entry is valid
        // (guest RAM and ROM blocks live as long as the machine; entries are flushed on remap).
        return (byte*)e.HostPage + (linear & 0xFFF);
    }

    /// <summary>
    /// The physical address for an execute access when the page is cached with execute rights
    /// (the block cache keys blocks by physical address and asks this before walking).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryTranslateExecute(ulong linear, bool user, out ulong physical)
    {
        ref Entry e = ref _entries[Index(linear, user)];
        physical = e.PhysicalPage | (linear & 0xFFF);
        return e.ExecTag == (linear & ~0xFFFUL);
    }

    /// <summary>
    /// False while a debugger watches memory: fills are ignored, so every access misses and takes
    /// the checked path. Setting it flushes.
    /// </summary>
    public bool Enabled
    {
        get => _enabled;
        set
        {
            _enabled = value;
            FlushAll();
        }
    }

    /// <summary>Installs a translation after a successful walk.</summary>
    /// <remarks><paramref name="pageSize"/> is the size of the guest page that maps <paramref name="linear"/>.</remarks>
    public void Fill(ulong linear, bool user, byte* readHost, byte* writeHost, bool allowRead, bool allowWrite, bool allowExec, bool global, ulong physicalPage = 0, ulong pageSize = 0x1000)
    {
        if (!_enabled)
        {
            return;
        }

        int index = Index(linear, user);
        ref Entry e = ref _entries[index];
        ulong page = linear & ~0xFFFUL;

        // The walk just done is the truth for this page: start from an empty entry even when the
        // same page is cached, so that a tag granted by an older walk (a write tag before the page
        // became read-only or code, a host page before a remap) cannot survive the refill.
        bool listed = e.Listed;
        e = default;
        e.ReadTag = e.WriteTag = e.ExecTag = Invalid;
        e.Listed = listed;
        if (!global && !listed)
        {
            if (_filledCount < _filled.Length)
            {
                _filled[_filledCount++] = index;
                e.Listed = true;
            }
            else
            {
                _filledOverflow = true;
            }
        }

        if (readHost == null)
        {
            return;
        }

        e.HostPage = (nint)readHost;
        e.PhysicalPage = physicalPage & ~0xFFFUL;
        e.Global = global;
        if (pageSize > 0x1000)
        {
            e.LinearPage = page;
            e.LargePageMask = ~(pageSize - 1);
            _holdsLargePages = true;
        }

        if (allowRead)
        {
            e.ReadTag = page;
        }

        if (allowExec)
        {
            e.ExecTag = page;
        }

        if (allowWrite && writeHost == readHost)
        {
            e.WriteTag = page;
        }
    }

    public void FlushAll()
    {
        _holdsLargePages = false;
        for (int i = 0; i < _entries.Length; i++)
        {
            _entries[i] = new Entry { ReadTag = Invalid, WriteTag = Invalid, ExecTag = Invalid };
        }

        _filledCount = 0;
        _filledOverflow = false;
    }

    /// <summary>
    /// MOV to CR3: drops every entry not marked global. Only entries filled without G since the
    /// last such flush can hold one (the others are global, or empty since a flush), so only those
    /// are visited, unless more were filled than the list holds.
    /// </summary>
    public void FlushNonGlobal()
    {
        if (_filledOverflow)
        {
            for (int i = 0; i < _entries.Length; i++)
            {
                if (!_entries[i].Global)
                {
                    _entries[i] = new Entry { ReadTag = Invalid, WriteTag = Invalid, ExecTag = Invalid };
                }
                else
                {
                    _entries[i].Listed = false;
                }
            }
        }
        else
        {
            for (int k = 0; k < _filledCount; k++)
            {
                ref Entry e = ref _entries[_filled[k]];
                if (!e.Global)
                {
                    e = new Entry { ReadTag = Invalid, WriteTag = Invalid, ExecTag = Invalid };
                }
                else
                {
                    e.Listed = false;
                }
            }
        }

        _filledCount = 0;
        _filledOverflow = false;
    }

    /// <summary>
    /// INVLPG: drops the page in both sets, global or not, and every cached piece of a large page
    /// that contains <paramref name="linear"/> (SDM Vol. 3A 4.10.4.1).
    /// </summary>
    public void FlushPage(ulong linear)
    {
        _entries[Index(linear, false)] = new Entry { ReadTag = Invalid, WriteTag = Invalid, ExecTag = Invalid };
        _entries[Index(linear, true)] = new Entry { ReadTag = Invalid, WriteTag = Invalid, ExecTag = Invalid };
        if (!_holdsLargePages)
        {
            return;
        }

        for (int i = 0; i < _entries.Length; i++)
        {
            ref Entry e = ref _entries[i];
            if (e.LargePageMask != 0 && ((e.LinearPage ^ linear) & e.LargePageMask) == 0)
            {
                e = new Entry { ReadTag = Invalid, WriteTag = Invalid, ExecTag = Invalid };
            }
        }
    }

    /// <summary>Drops every write tag, so that the next write to each page walks again (a page just became code).</summary>
    public void FlushWrites()
    {
        for (int i = 0; i < _entries.Length; i++)
        {
            _entries[i].WriteTag = Invalid;
        }
    }

    /// <summary>
    /// Drops the write tags of the entries that map host page <paramref name="hostPage"/> (a RAM
    /// page that just became code), under any linear address or physical alias, so that the next
    /// write to it walks and finds it marked; writes to every other page keep their fast path.
    /// </summary>
    public void FlushWrites(byte* hostPage)
    {
        nint host = (nint)hostPage;
        for (int i = 0; i < _entries.Length; i++)
        {
            if (_entries[i].HostPage == host)
            {
                _entries[i].WriteTag = Invalid;
            }
        }
    }

    private struct Entry
    {
        public ulong ReadTag;
        public ulong WriteTag;
        public ulong ExecTag;
        public nint HostPage;
        public ulong PhysicalPage;
        public bool Global;

        /// <summary>The entry's index is in the list of entries filled without G since the last flush.</summary>
        public bool Listed;

        /// <summary>For a piece of a large page: its linear 4 KiB page and the mask of the large page's number bits; else 0.</summary>
        public ulong LinearPage;
        public ulong LargePageMask;
    }
}
