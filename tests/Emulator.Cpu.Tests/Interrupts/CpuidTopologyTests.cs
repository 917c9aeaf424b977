using Emulator.TestKit;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Interrupts;

/// <summary>
/// CPUID's identity and cache description (SDM Vol. 2A CPUID: figure 3-6 for the signature,
/// table 3-12 for leaf 2 descriptors, table 3-8 for leaf 4 and leaf 80000006h), as an OS reads them.
/// </summary>
public class CpuidTopologyTests
{
    [Fact]
    public void SignatureIsAFamily6ModelLinuxKeepsPatOn()
    {
        var (eax, _, _, _) = new CpuidModel().Query(1, 0);
        uint family = (eax >> 8) & 0xF;
        uint model = ((eax >> 12) & 0xF0) | ((eax >> 4) & 0xF); // family 6: extended model joins (SDM figure 3-6)
        Assert.Equal(6u, family);
        Assert.True(model >= 15, $"model {model}: Linux turns PAT off on family 6 models below 15");
        Assert.Equal(44u, model); // QEMU's Westmere
        Assert.Equal(CpuidModel.Signature, eax);
    }

    [Fact]
    public void Leaf2HasTlbDescriptorsAndDefersCachesToLeaf4()
    {
        var (eax, ebx, ecx, edx) = new CpuidModel().Query(2, 0);
        Assert.Equal(1u, eax & 0xFF); // one query
        var descriptors = new[] { eax >> 8, eax >> 16, eax >> 24, ebx, ebx >> 8, ebx >> 16, ebx >> 24, ecx, ecx >> 8, ecx >> 16, ecx >> 24, edx, edx >> 8, edx >> 16, edx >> 24 }
            .Select(d => (byte)d).ToHashSet();
        Assert.Contains((byte)0xFF, descriptors); // "use leaf 4"
        Assert.Contains((byte)0xB2, descriptors); // instruction TLB, 4 KiB pages
        Assert.Contains((byte)0x03, descriptors); // data TLB, 4 KiB pages
        Assert.Contains((byte)0xCA, descriptors); // shared second-level TLB
        Assert.Contains((byte)0x2C, descriptors); // L1 data 32 KiB, as leaf 4 says
        Assert.Equal(0u, (eax | ebx | ecx | edx) & 0x8000_0000); // bit 31 clear: every register valid
    }

    [Fact]
    public void Leaf4ListsL1L2L3AndEndsWithTypeZero()
    {
        var model = new CpuidModel();
        var caches = new List<(uint Type, uint Level, long Size)>();
        for (uint subleaf = 0; ; subleaf++)
        {
            var (eax, ebx, ecx, _) = model.Query(4, subleaf);
            if ((eax & 0x1F) == 0)
            {
                break;
            }

            Assert.True(subleaf < 8);
            long ways = (ebx >> 22) + 1, partitions = ((ebx >> 12) & 0x3FF) + 1, line = (ebx & 0xFFF) + 1, sets = (long)ecx + 1;
            caches.Add((eax & 0x1F, (eax >> 5) & 7, ways * partitions * line * sets));
            Assert.Equal(0u, eax >> 26); // one core per package
        }

        Assert.Equal([(1u, 1u, 32L << 10), (2u, 1u, 32L << 10), (3u, 2u, 256L << 10), (3u, 3u, 12L << 20)], caches);

        // Leaf 80000006h: the same L2 (size in KiB, 64-byte lines).
        var (_, _, l2, _) = model.Query(0x8000_0006, 0);
        Assert.Equal(256u, l2 >> 16);
        Assert.Equal(64u, l2 & 0xFF);
        Assert.Equal(6u, (l2 >> 12) & 0xF); // 8-way
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void GuestReadsLeaf4SubleavesByEcx(Engine engine)
    {
        using var m = new TestMachine().LongMode();
        m.Load(a =>
        {
            a.mov(eax, 4);
            a.mov(ecx, 3);
            a.cpuid();
            a.mov(r12d, eax);
            a.mov(r13d, ecx);
            a.mov(eax, 4);
            a.mov(ecx, 4);
            a.cpuid();
            a.mov(r14d, eax);
            a.hlt();
        }).RunToHlt(engine);

        Assert.Equal(3UL, m.Reg(12) & 0x1F); // unified
        Assert.Equal(3UL, (m.Reg(12) >> 5) & 7); // level 3
        Assert.Equal(12287UL, m.Reg(13)); // sets - 1
        Assert.Equal(0UL, m.Reg(14) & 0x1F); // no fifth cache
    }
}
