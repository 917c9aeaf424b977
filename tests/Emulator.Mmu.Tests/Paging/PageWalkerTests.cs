using Emulator.Mmu.Paging;
using Emulator.Mmu.Physical;
using Xunit;
using static Emulator.Mmu.Tests.Paging.Pte;

namespace Emulator.Mmu.Tests.Paging;

/// <summary>Explicit cases for each paging mode, access rights and #PF error codes (SDM Vol. 3A chapter 4).</summary>
public sealed class PageWalkerTests : IDisposable
{
    private const PageFaultError Pf = PageFaultError.Present;
    private const PageFaultError Wr = PageFaultError.Write;
    private const PageFaultError Us = PageFaultError.User;
    private const PageFaultError Rsvd = PageFaultError.ReservedBit;
    private const PageFaultError Id = PageFaultError.InstructionFetch;

    private readonly GuestRam _ram = new(0x40_0000);
    private readonly PhysicalMemory _memory;

    public PageWalkerTests()
    {
        _memory = new PhysicalMemory(_ram);
        _memory.MapRam("ram", 0, 0, _ram.Size);
    }

    public void Dispose()
    {
        _memory.Dispose();
        _ram.Dispose();
    }

    private static PagingContext Ctx(PagingMode mode, ulong cr3, bool wp = true, bool nxe = true, bool pse = true, bool pge = true, bool smep = false, bool smap = false, bool ac = false)
        => new(mode, cr3, wp, nxe, pse, pge, smep, smap, ac);

    private bool Walk(in PagingContext ctx, ulong linear, AccessKind access, bool user, out Translation t, out PageFaultError error)
        => PageWalker.Walk(_memory, ctx, linear, access, user, out t, out error);

    private Translation Ok(in PagingContext ctx, ulong linear, AccessKind access = AccessKind.Read, bool user = false)
    {
        Assert.True(Walk(ctx, linear, access, user, out var t, out var error), $"unexpected #PF {error}");
        Assert.Equal(PageFaultError.None, error);
        return t;
    }

    private PageFaultError Fault(in PagingContext ctx, ulong linear, AccessKind access = AccessKind.Read, bool user = false)
    {
        Assert.False(Walk(ctx, linear, access, user, out _, out var error));
        return error;
    }

    private ulong Entry(ulong address, int size = 8) => _memory.Read(address, size);

    [Fact]
    public void NoPagingIsIdentity()
    {
        var t = Ok(Ctx(PagingMode.None, 0), 0x1234_5678, AccessKind.Write, user: true);
        Assert.Equal(0x1234_5678UL, t.PhysicalAddress);
        Assert.True(t.Writable);
    }

    // ---- 32-bit paging (SDM 4.3) ----

    [Fact]
    public void Legacy32FourKilobytePage()
    {
        var b = new PageTableBuilder(_memory, PagingMode.Legacy32);
        var at = b.Map(0x0040_1000, 0x0030_0000 | P | RW | US | G);
        var ctx = Ctx(PagingMode.Legacy32, b.Cr3);

        var t = Ok(ctx, 0x0040_1234);
        Assert.Equal(0x0030_0234UL, t.PhysicalAddress);
        Assert.True(t.Writable);
        Assert.True(t.User);
        Assert.False(t.NoExecute);
        Assert.True(t.Global);
        Assert.False(t.Dirty);

        // SDM 4.8: A in both entries on any access; D only in the PTE and only on a write.
        Assert.Equal(A, Entry(at[2], 4) & (A | D));
        Assert.Equal(A, Entry(at[1], 4) & (A | D));
        Assert.True(Ok(ctx, 0x0040_1FFF, AccessKind.Write).Dirty);
        Assert.Equal(A | D, Entry(at[1], 4) & (A | D));
        Assert.Equal(A, Entry(at[2], 4) & (A | D));
        Assert.True(Ok(ctx, 0x0040_1000).Dirty);

        Assert.False(Ok(ctx with { GlobalPages = false }, 0x0040_1000).Global);
    }

    [Fact]
    public void Legacy32FourMegabytePageWithPse36()
    {
        var b = new PageTableBuilder(_memory, PagingMode.Legacy32);
        var at = b.Map(0x0080_0000, 0x00C0_0000 | P | RW | PS, leafLevel: 2);
        var ctx = Ctx(PagingMode.Legacy32, b.Cr3);
        Assert.Equal(0x00D2_3456UL, Ok(ctx, 0x0092_3456).PhysicalAddress);
        Ok(ctx, 0x0080_0000, AccessKind.Write);
        Assert.Equal(A | D, Entry(at[2], 4) & (A | D));

        // PSE-36: PDE bits 20:13 are physical address bits 39:32 (SDM table 4-4); bit 12 is PAT.
        _memory.Write(at[2], 4, 0x00C0_0000 | (0x85UL << 13) | (1UL << 12) | P | PS);
        Assert.Equal(0x85_00C0_0010UL, Ok(ctx, 0x0080_0010).PhysicalAddress);

        // Bit 21 is reserved with MAXPHYADDR 40.
        _memory.Write(at[2], 4, 0x00C0_0000 | (1UL << 21) | P | PS);
        Assert.Equal(Pf | Rsvd, Fault(ctx, 0x0080_0010));
    }

    [Fact]
    public void Legacy32IgnoresPsWithoutCr4Pse()
    {
        var b = new PageTableBuilder(_memory, PagingMode.Legacy32);
        ulong table = b.Allocate();
        _memory.Write(table + (5 * 4), 4, 0x0030_0000 | P | RW);
        var at = b.Map(0x0080_0000, table | P | RW | PS, leafLevel: 2);
        var ctx = Ctx(PagingMode.Legacy32, b.Cr3, pse: false);
        Assert.Equal(0x0030_0123UL, Ok(ctx, 0x0080_5123).PhysicalAddress);
        Assert.Equal(A, Entry(table + (5 * 4), 4) & A);
        Assert.Equal(A, Entry(at[2], 4) & A);
    }

    [Fact]
    public void Legacy32NotPresentFaultsWithoutP()
    {
        var b = new PageTableBuilder(_memory, PagingMode.Legacy32);
        b.Map(0x0040_0000, 0x0030_0000 | RW | US);
        var ctx = Ctx(PagingMode.Legacy32, b.Cr3);
        Assert.Equal(PageFaultError.None, Fault(ctx, 0x0040_0000));
        Assert.Equal(Wr | Us, Fault(ctx, 0x0040_0000, AccessKind.Write, user: true));
        Assert.Equal(Us, Fault(ctx, 0x0C00_0000, AccessKind.Read, user: true)); // PDE not present
        // I/D is 0 in 32-bit paging unless CR4.SMEP = 1 (SDM 4.7).
        Assert.Equal(PageFaultError.None, Fault(ctx, 0x0040_0000, AccessKind.Execute));
        Assert.Equal(Id, Fault(ctx with { Smep = true }, 0x0040_0000, AccessKind.Execute));
    }

    [Fact]
    public void Legacy32RightsCombineAcrossLevels()
    {
        var b = new PageTableBuilder(_memory, PagingMode.Legacy32);
        b.Map(0x0040_0000, 0x0030_0000 | P | RW | US, upper: P | US);
        b.Map(0x0080_0000, 0x0031_0000 | P | RW | US, upper: P | RW);
        var ctx = Ctx(PagingMode.Legacy32, b.Cr3);

        Assert.False(Ok(ctx, 0x0040_0000, user: true).Writable);
        Assert.Equal(Pf | Wr | Us, Fault(ctx, 0x0040_0000, AccessKind.Write, user: true));
        Assert.Equal(Pf | Wr, Fault(ctx, 0x0040_0000, AccessKind.Write));
        Ok(ctx with { WriteProtect = false }, 0x0040_0000, AccessKind.Write);

        Assert.False(Ok(ctx, 0x0080_0000).User);
        Assert.Equal(Pf | Us, Fault(ctx, 0x0080_0000, user: true));
        Assert.Equal(Pf | Us, Fault(ctx, 0x0080_0000, AccessKind.Execute, user: true));
    }

    // ---- PAE paging (SDM 4.4) ----

    [Fact]
    public void PaeFourKilobyteAndTwoMegabytePages()
    {
        var b = new PageTableBuilder(_memory, PagingMode.Pae);
        var small = b.Map(0xC020_1000, 0x0030_0000 | P | RW);
        var large = b.Map(0x4060_0000, 0x0020_0000 | P | RW | US | PS | (1UL << 12), leafLevel: 2);
        var ctx = Ctx(PagingMode.Pae, b.Cr3);

        Assert.Equal(0x0030_0ABCUL, Ok(ctx, 0xC020_1ABC, AccessKind.Write).PhysicalAddress);
        Assert.Equal(A | D, Entry(small[1]) & (A | D));
        Assert.Equal(A, Entry(small[2]) & (A | D));
        Assert.Equal(P, Entry(small[3]) & 0xFFF); // PDPTEs get no A bit

        Assert.Equal(0x002F_FFFFUL, Ok(ctx, 0x406F_FFFF).PhysicalAddress); // PAT (bit 12) is not an address bit
        Assert.Equal(A, Entry(large[2]) & (A | D));

        Assert.Equal(PageFaultError.None, Fault(ctx, 0x0000_0000)); // PDPTE 0 not present
    }

    [Fact]
    public void PaeExecuteDisable()
    {
        var b = new PageTableBuilder(_memory, PagingMode.Pae);
        var at = b.Map(0x0040_0000, 0x0030_0000 | P | RW | US | XD);
        var ctx = Ctx(PagingMode.Pae, b.Cr3);

        Assert.True(Ok(ctx, 0x0040_0000).NoExecute);
        Assert.Equal(Pf | Id, Fault(ctx, 0x0040_0000, AccessKind.Execute));
        Assert.Equal(Pf | Us | Id, Fault(ctx, 0x0040_0000, AccessKind.Execute, user: true));

        // With EFER.NXE = 0 bit 63 is reserved (SDM 4.4.2), and I/D stays 0.
        var noNx = ctx with { NoExecute = false };
        Assert.Equal(Pf | Rsvd, Fault(noNx, 0x0040_0000));
        Assert.Equal(Pf | Rsvd, Fault(noNx, 0x0040_0000, AccessKind.Execute));
        _memory.Write(at[1], 8, 0x0030_0000 | P | RW | US);
        Assert.Equal(PageFaultError.None, Fault(noNx, 0x7000_0000, AccessKind.Execute));
        Assert.False(Ok(noNx, 0x0040_0000, AccessKind.Execute).NoExecute);
    }

    // ---- 4-level paging (SDM 4.5) ----

    [Fact]
    public void Level4FourKilobytePageSetsAccessedEverywhereAndDirtyInThePte()
    {
        var b = new PageTableBuilder(_memory, PagingMode.Level4);
        const ulong Linear = 0xFFFF_8000_1234_5000;
        var at = b.Map(Linear, 0x0030_0000 | P | RW | PCD);
        var ctx = Ctx(PagingMode.Level4, b.Cr3);

        var t = Ok(ctx, Linear + 0x678);
        Assert.Equal(0x0030_0678UL, t.PhysicalAddress);
        Assert.False(t.Dirty);
        for (int level = 1; level <= 4; level++)
        {
            Assert.Equal(A, Entry(at[level]) & (A | D));
        }

        Assert.True(Ok(ctx, Linear, AccessKind.Write).Dirty);
        Assert.Equal(0x0030_0000 | P | RW | PCD | A | D, Entry(at[1]));
        for (int level = 2; level <= 4; level++)
        {
            Assert.Equal(A, Entry(at[level]) & (A | D));
        }
    }

    [Fact]
    public void Level4TwoMegabytePage()
    {
        var b = new PageTableBuilder(_memory, PagingMode.Level4);
        var at = b.Map(0x7F_C020_0000, 0x12_3440_0000 | P | RW | PS | G | (1UL << 12), leafLevel: 2);
        var ctx = Ctx(PagingMode.Level4, b.Cr3);
        var t = Ok(ctx, 0x7F_C02F_EDCB, AccessKind.Write);
        Assert.Equal(0x12_344F_EDCBUL, t.PhysicalAddress);
        Assert.True(t.Global);
        Assert.Equal(A | D, Entry(at[2]) & (A | D));
        Assert.Equal(A, Entry(at[3]) & (A | D));

        // Bits 20:13 of a 2 MiB PDE are reserved (table 4-18).
        _memory.Write(at[2], 8, 0x12_3440_0000 | P | PS | (1UL << 13));
        Assert.Equal(Pf | Rsvd, Fault(ctx, 0x7F_C020_0000));
    }

    [Fact]
    public void Level4OneGigabytePage()
    {
        var b = new PageTableBuilder(_memory, PagingMode.Level4);
        var at = b.Map(0x40_0000_0000, 0xC0_4000_0000 | P | RW | US | PS, leafLevel: 3);
        var ctx = Ctx(PagingMode.Level4, b.Cr3);
        Assert.Equal(0xC0_7654_3210UL, Ok(ctx, 0x40_3654_3210, AccessKind.Write, user: true).PhysicalAddress);
        Assert.Equal(A | D, Entry(at[3]) & (A | D));
        Assert.Equal(A, Entry(at[4]) & (A | D));

        // Bits 29:13 of a 1 GiB PDPTE are reserved (table 4-16).
        _memory.Write(at[3], 8, 0xC0_4000_0000 | P | PS | (1UL << 29));
        Assert.Equal(Pf | Rsvd | Us, Fault(ctx, 0x40_0000_0000, user: true));
    }

    [Fact]
    public void Level4ReservedBits()
    {
        var b = new PageTableBuilder(_memory, PagingMode.Level4);
        var at = b.Map(0x1000, 0x0030_0000 | P | RW);
        var ctx = Ctx(PagingMode.Level4, b.Cr3);

        // PS is reserved in a PML4E.
        ulong pml4e = Entry(at[4]);
        _memory.Write(at[4], 8, pml4e | PS);
        Assert.Equal(Pf | Rsvd, Fault(ctx, 0x1000));
        _memory.Write(at[4], 8, pml4e);

        // Bits MAXPHYADDR..51 are reserved at every level; RSVD comes with P and the access bits.
        foreach (int level in new[] { 1, 2, 3, 4 })
        {
            ulong entry = Entry(at[level]);
            _memory.Write(at[level], 8, entry | (1UL << 45));
            Assert.Equal(Pf | Rsvd | Wr | Us, Fault(ctx, 0x1000, AccessKind.Write, user: true));
            Assert.Equal(Pf | Rsvd | Id, Fault(ctx, 0x1000, AccessKind.Execute));
            _memory.Write(at[level], 8, entry);
        }

        // Bit 51 reserved, bits 52..62 ignored.
        _memory.Write(at[1], 8, 0x0030_0000 | P | (1UL << 51));
        Assert.Equal(Pf | Rsvd, Fault(ctx, 0x1000));
        _memory.Write(at[1], 8, 0x0030_0000 | P | (0x7FFUL << 52));
        Assert.Equal(0x0030_0000UL, Ok(ctx, 0x1000).PhysicalAddress);

        // A reserved bit in a non-present entry does not matter.
        _memory.Write(at[1], 8, 0x0030_0000 | (1UL << 45));
        Assert.Equal(PageFaultError.None, Fault(ctx, 0x1000));
    }

    [Fact]
    public void Level4NotPresentAtEachLevel()
    {
        var b = new PageTableBuilder(_memory, PagingMode.Level4);
        var at = b.Map(0x1000, 0x0030_0000 | P | RW | US);
        var ctx = Ctx(PagingMode.Level4, b.Cr3);
        foreach (int level in new[] { 1, 2, 3, 4 })
        {
            ulong entry = Entry(at[level]);
            _memory.Write(at[level], 8, entry & ~P);
            Assert.Equal(Wr | Us, Fault(ctx, 0x1000, AccessKind.Write, user: true));
            Assert.Equal(Id, Fault(ctx, 0x1000, AccessKind.Execute));
            Assert.Equal(0UL, Entry(at[1]) & D);
            _memory.Write(at[level], 8, entry);
        }
    }

    [Theory]
    // access, user, page writable, page user, WP, expected error (None = allowed); SDM 4.6.1.
    [InlineData(AccessKind.Read, false, false, false, true, PageFaultError.None)]
    [InlineData(AccessKind.Write, false, false, false, true, Pf | Wr)]
    [InlineData(AccessKind.Write, false, false, false, false, PageFaultError.None)]
    [InlineData(AccessKind.Write, false, false, true, true, Pf | Wr)]
    [InlineData(AccessKind.Write, false, false, true, false, PageFaultError.None)]
    [InlineData(AccessKind.Write, false, true, false, true, PageFaultError.None)]
    [InlineData(AccessKind.Read, true, true, false, false, Pf | Us)]
    [InlineData(AccessKind.Write, true, true, false, false, Pf | Wr | Us)]
    [InlineData(AccessKind.Write, true, false, true, false, Pf | Wr | Us)]
    [InlineData(AccessKind.Write, true, true, true, true, PageFaultError.None)]
    [InlineData(AccessKind.Read, true, false, true, true, PageFaultError.None)]
    [InlineData(AccessKind.Execute, true, false, true, true, PageFaultError.None)]
    [InlineData(AccessKind.Execute, true, true, false, true, Pf | Us | Id)]
    [InlineData(AccessKind.Execute, false, false, true, true, PageFaultError.None)]
    public void UserSupervisorAndReadWriteWithCr0Wp(AccessKind access, bool user, bool writable, bool userPage, bool wp, PageFaultError expected)
    {
        var b = new PageTableBuilder(_memory, PagingMode.Level4);
        var at = b.Map(0x5000, 0x0030_0000 | P | (writable ? RW : 0) | (userPage ? US : 0));
        var ctx = Ctx(PagingMode.Level4, b.Cr3, wp: wp);
        bool ok = Walk(ctx, 0x5000, access, user, out var t, out var error);
        Assert.Equal(expected, error);
        Assert.Equal(expected == PageFaultError.None, ok);
        if (ok)
        {
            Assert.Equal(writable, t.Writable);
            Assert.Equal(userPage, t.User);
        }
        else
        {
            Assert.Equal(0UL, Entry(at[1]) & D); // a faulting write dirties nothing
        }
    }

    [Fact]
    public void NoExecuteInANonLeafEntryAppliesToThePage()
    {
        var b = new PageTableBuilder(_memory, PagingMode.Level4);
        b.Map(0x20_0000, 0x0030_0000 | P | RW | US, upperByLevel: [0, 0, All | XD, All, All]);
        var ctx = Ctx(PagingMode.Level4, b.Cr3);
        Assert.True(Ok(ctx, 0x20_0000, user: true).NoExecute);
        Assert.Equal(Pf | Us | Id, Fault(ctx, 0x20_0000, AccessKind.Execute, user: true));
        Ok(ctx, 0x20_0000, AccessKind.Write, user: true);
    }

    [Fact]
    public void Smep()
    {
        var b = new PageTableBuilder(_memory, PagingMode.Level4);
        b.Map(0x1000, 0x0030_0000 | P | RW | US);
        b.Map(0x2000, 0x0031_0000 | P | RW);
        var ctx = Ctx(PagingMode.Level4, b.Cr3, smep: true);

        // SDM 4.6.1: supervisor fetches from user pages fault with CR4.SMEP = 1.
        Assert.Equal(Pf | Id, Fault(ctx, 0x1000, AccessKind.Execute));
        Ok(ctx, 0x2000, AccessKind.Execute);
        Ok(ctx, 0x1000, AccessKind.Execute, user: true);
        Ok(ctx, 0x1000, AccessKind.Read);
        Ok(ctx, 0x1000, AccessKind.Write);
        Ok(ctx with { Smep = false }, 0x1000, AccessKind.Execute);

        // I/D is reported with SMEP even when EFER.NXE = 0 (SDM 4.7).
        Assert.Equal(Pf | Id, Fault(ctx with { NoExecute = false }, 0x1000, AccessKind.Execute));
    }

    [Fact]
    public void Smap()
    {
        var b = new PageTableBuilder(_memory, PagingMode.Level4);
        b.Map(0x1000, 0x0030_0000 | P | RW | US);
        b.Map(0x2000, 0x0031_0000 | P | US);
        b.Map(0x3000, 0x0032_0000 | P | RW);
        var ctx = Ctx(PagingMode.Level4, b.Cr3, smap: true);

        // SDM 4.6.1: supervisor data accesses to user pages fault with SMAP unless EFLAGS.AC = 1.
        Assert.Equal(Pf, Fault(ctx, 0x1000));
        Assert.Equal(Pf | Wr, Fault(ctx, 0x1000, AccessKind.Write));
        Ok(ctx, 0x1000, AccessKind.Execute); // fetches are SMEP's business
        Ok(ctx, 0x3000, AccessKind.Write);
        Ok(ctx, 0x1000, AccessKind.Read, user: true);

        var ac = ctx with { AlignmentCheckFlag = true };
        Ok(ac, 0x1000);
        Ok(ac, 0x1000, AccessKind.Write);
        Assert.Equal(Pf | Wr, Fault(ac, 0x2000, AccessKind.Write)); // read-only user page, CR0.WP = 1
        Ok(ac with { WriteProtect = false }, 0x2000, AccessKind.Write);
    }

    [Fact]
    public void AccessedAndDirtyUpdatesTouchOnlyThoseBits()
    {
        var b = new PageTableBuilder(_memory, PagingMode.Level4);
        ulong leaf = 0x0030_0000 | P | RW | PWT | PCD | G | XD | (0x7FUL << 52) | (0x9UL << 9);
        var at = b.Map(0x1000, leaf);
        Ok(Ctx(PagingMode.Level4, b.Cr3), 0x1000, AccessKind.Write);
        Assert.Equal(leaf | A | D, Entry(at[1]));
    }
}
