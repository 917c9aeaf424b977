namespace Emulator.Cpu;

/// <summary>
/// The cache and TLB hierarchy CPUID describes: a Westmere core's, matching the signature in
/// <see cref="CpuidModel.Signature"/> (32 KiB 8-way L1 data, 32 KiB 4-way L1 instruction, 256 KiB
/// 8-way L2, a 12 MiB 16-way inclusive L3, 64-byte lines). Nothing here is simulated: the numbers are
/// what an OS sizes its own structures by (Linux prints the TLB sizes at boot, lscpu the caches).
/// Leaf 2 uses the descriptors of SDM Vol. 2A table 3-12; leaf 4 the deterministic cache
/// parameters of table 3-8; leaf 80000006h the L2 summary Intel defines there.
/// </summary>
public static class CacheInfo
{
    /// <summary>One cache level as leaf 4 reports it.</summary>
    /// <param name="Type">1 data, 2 instruction, 3 unified (EAX bits 4:0).</param>
    public readonly record struct Cache(int Type, int Level, int Ways, int Sets, int LineSize, bool Inclusive, bool ComplexIndexing)
    {
        public int SizeBytes => Ways * Sets * LineSize;
    }

    public const int LineSize = 64;

    /// <summary>Leaf 4's subleaves, in the order hardware lists them; the next subleaf reports type 0 (no more caches).</summary>
    public static readonly Cache[] Caches =
    [
        new(Type: 1, Level: 1, Ways: 8, Sets: 64, LineSize, Inclusive: false, ComplexIndexing: false),
        new(Type: 2, Level: 1, Ways: 4, Sets: 128, LineSize, Inclusive: false, ComplexIndexing: false),
        new(Type: 3, Level: 2, Ways: 8, Sets: 512, LineSize, Inclusive: false, ComplexIndexing: false),
        new(Type: 3, Level: 3, Ways: 16, Sets: 12288, LineSize, Inclusive: true, ComplexIndexing: true),
    ];

    /// <summary>
    /// Leaf 2, as Westmere parts return it: AL = 1 (one query), then one-byte descriptors (table
    /// 3-12): 0x5A data TLB 2M/4M 32 entries, 0x03 data TLB 4K 64 entries, 0x55 instruction TLB
    /// 2M/4M 7 entries, 0xFF "see leaf 4", 0xB2 instruction TLB 4K 64 entries, 0xF0 64-byte
    /// prefetching, 0x2C L1 data 32K 8-way, 0x21 L2 256K 8-way, 0xCA shared second-level TLB 4K
    /// 512 entries, 0x09 L1 instruction 32K 4-way. Linux takes its TLB sizes from these.
    /// </summary>
    public static (uint Eax, uint Ebx, uint Ecx, uint Edx) Leaf2 => (0x55035A01, 0x00F0B2FF, 0, 0x09CA212C);

    /// <summary>Leaf 4, subleaf <paramref name="subleaf"/>: one cache level per subleaf (SDM Vol. 2A table 3-8).</summary>
    public static (uint Eax, uint Ebx, uint Ecx, uint Edx) Leaf4(uint subleaf)
    {
        if (subleaf >= Caches.Length)
        {
            return (0, 0, 0, 0); // type 0: no more caches
        }

        Cache c = Caches[subleaf];

        // EAX: type, level, self-initializing (bit 8); bits 25:14 (threads sharing - 1) and 31:26
        // (cores in the package - 1) are 0: one core, one thread.
        uint eax = (uint)c.Type | ((uint)c.Level << 5) | (1u << 8);

        // EBX: line size - 1 (11:0), physical line partitions - 1 (21:12), ways - 1 (31:22).
        uint ebx = (uint)(c.LineSize - 1) | ((uint)(c.Ways - 1) << 22);

        // ECX: sets - 1. EDX: bit 0 WBINVD does not act on lower levels' sharers (0), bit 1
        // inclusive of lower levels, bit 2 complex indexing.
        uint edx = (c.Inclusive ? 2u : 0) | (c.ComplexIndexing ? 4u : 0);
        return (eax, ebx, (uint)(c.Sets - 1), edx);
    }

    /// <summary>
    /// Leaf 80000006h on Intel: ECX = L2 size in KiB (31:16), associativity code (15:12; 6 = 8-way),
    /// line size (7:0); the other registers are reserved (zero).
    /// </summary>
    public static (uint Eax, uint Ebx, uint Ecx, uint Edx) Leaf80000006
    {
        get
        {
            Cache l2 = Caches[2];
            uint associativity = l2.Ways switch
            {
                1 => 1,
                2 => 2,
                4 => 4,
                8 => 6,
                16 => 8,
                _ => 0xF,
            };
            return (0, 0, ((uint)(l2.SizeBytes / 1024) << 16) | (associativity << 12) | (uint)l2.LineSize, 0);
        }
    }
}
