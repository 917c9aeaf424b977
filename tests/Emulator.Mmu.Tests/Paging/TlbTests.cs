using Emulator.Mmu.Paging;
using Xunit;

namespace Emulator.Mmu.Tests.Paging;

public sealed unsafe class TlbTests : IDisposable
{
    private readonly byte* _pageA = (byte*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(0x1000, 0x1000);
    private readonly byte* _pageB = (byte*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(0x1000, 0x1000);
    private readonly Tlb _tlb = new();

    public void Dispose()
    {
        System.Runtime.InteropServices.NativeMemory.AlignedFree(_pageA);
        System.Runtime.InteropServices.NativeMemory.AlignedFree(_pageB);
    }

    private void FillAll(ulong linear, bool user, byte* host, bool global = false)
        => _tlb.Fill(linear, user, host, host, allowRead: true, allowWrite: true, allowExec: true, global);

    [Fact]
    public void EmptyTlbMissesEverything()
    {
        foreach (ulong linear in new ulong[] { 0, 1, 0x1000, 0xFFFF_F000 })
        {
            Assert.True(_tlb.Lookup(linear, AccessKind.Read, false) == null);
            Assert.True(_tlb.Lookup(linear, AccessKind.Write, true) == null);
            Assert.True(_tlb.Lookup(linear, AccessKind.Execute, false) == null);
        }
    }

    [Fact]
    public void HitsReturnTheFilledHostPagePlusTheOffset()
    {
        FillAll(0x7000_3000, user: false, _pageA);
        Assert.True(_tlb.Lookup(0x7000_3000, AccessKind.Read, false) == _pageA);
        Assert.True(_tlb.Lookup(0x7000_3ABC, AccessKind.Write, false) == _pageA + 0xABC);
        Assert.True(_tlb.Lookup(0x7000_3FFF, AccessKind.Execute, false) == _pageA + 0xFFF);

        // Other privilege set, other page with the same index, neighbour page: all miss.
        Assert.True(_tlb.Lookup(0x7000_3000, AccessKind.Read, true) == null);
        Assert.True(_tlb.Lookup(Alias(0x7000_3000), AccessKind.Read, false) == null);
        Assert.True(_tlb.Lookup(0x7000_4000, AccessKind.Read, false) == null);
    }

    [Fact]
    public void TagsFollowTheRightsGiven()
    {
        _tlb.Fill(0x1000, false, _pageA, _pageA, allowRead: true, allowWrite: false, allowExec: false, global: false);
        Assert.True(_tlb.Lookup(0x1000, AccessKind.Read, false) == _pageA);
        Assert.True(_tlb.Lookup(0x1000, AccessKind.Write, false) == null);
        Assert.True(_tlb.Lookup(0x1000, AccessKind.Execute, false) == null);

        // A write tag needs the same host page for reads and writes.
        _tlb.Fill(0x2000, false, _pageA, null, allowRead: true, allowWrite: true, allowExec: true, global: false);
        Assert.True(_tlb.Lookup(0x2000, AccessKind.Write, false) == null);
        Assert.True(_tlb.Lookup(0x2000, AccessKind.Execute, false) == _pageA);

        // No host page (MMIO): nothing is cached.
        _tlb.Fill(0x3000, false, null, null, allowRead: true, allowWrite: true, allowExec: true, global: false);
        Assert.True(_tlb.Lookup(0x3000, AccessKind.Read, false) == null);
    }

    /// <summary>The next page above <paramref name="linear"/> that shares its entry.</summary>
    private static ulong Alias(ulong linear)
    {
        ulong alias = linear + 0x1000;
        while (Tlb.IndexOf(alias) != Tlb.IndexOf(linear))
        {
            alias += 0x1000;
        }

        return alias;
    }

    [Fact]
    public void PagesAMegabyteApartUseDifferentEntries()
    {
        // A copy between two arrays 1 MiB apart must not evict its source page on every store.
        Assert.NotEqual(Tlb.IndexOf(0x40_0000), Tlb.IndexOf(0x50_0000));
        FillAll(0x40_0000, false, _pageA);
        FillAll(0x50_0000, false, _pageB);
        Assert.True(_tlb.Lookup(0x40_0010, AccessKind.Read, false) == _pageA + 0x10);
        Assert.True(_tlb.Lookup(0x50_0010, AccessKind.Write, false) == _pageB + 0x10);
    }

    [Fact]
    public void TheSortBenchmarksStackAndArrayPagesUseDifferentEntries()
    {
        // roms/bench's quicksort keeps its locals on the stack (pages 0x10f and 0x110) while it
        // scans an 800 KB array (pages 0x4ab-0x56f): with 1,024 entries pages 0x50b and 0x514
        // shared the stack's entries, 35,000 walks a run.
        foreach (ulong stack in new ulong[] { 0x10_F000, 0x11_0000 })
        {
            for (ulong page = 0x4A_B000; page <= 0x56_F000; page += 0x1000)
            {
                Assert.NotEqual(Tlb.IndexOf(stack), Tlb.IndexOf(page));
            }
        }
    }

    [Fact]
    public void FillingAnotherPageAtTheSameIndexEvictsTheOldOne()
    {
        FillAll(0x1000, false, _pageA);
        ulong alias = Alias(0x1000);
        Assert.Equal(Tlb.IndexOf(0x1000), Tlb.IndexOf(alias));
        _tlb.Fill(alias, false, _pageB, _pageB, allowRead: true, allowWrite: false, allowExec: false, global: false);
        Assert.True(_tlb.Lookup(alias, AccessKind.Read, false) == _pageB);
        Assert.True(_tlb.Lookup(0x1000, AccessKind.Read, false) == null);
        Assert.True(_tlb.Lookup(0x1000, AccessKind.Write, false) == null);
        Assert.True(_tlb.Lookup(0x1000, AccessKind.Execute, false) == null);
    }

    [Fact]
    public void FlushNonGlobalKeepsGlobalEntries()
    {
        FillAll(0x1000, false, _pageA, global: true);
        FillAll(0x2000, false, _pageB);
        FillAll(0x3000, true, _pageB, global: true);
        _tlb.FlushNonGlobal();
        Assert.True(_tlb.Lookup(0x1000, AccessKind.Write, false) == _pageA);
        Assert.True(_tlb.Lookup(0x2000, AccessKind.Read, false) == null);
        Assert.True(_tlb.Lookup(0x3000, AccessKind.Execute, true) == _pageB);

        _tlb.FlushAll();
        Assert.True(_tlb.Lookup(0x1000, AccessKind.Read, false) == null);
        Assert.True(_tlb.Lookup(0x3000, AccessKind.Read, true) == null);
    }

    [Fact]
    public void FlushNonGlobalDropsEveryNonGlobalEntryWhateverItsHistory()
    {
        // FlushNonGlobal visits only the entries filled since the last flush: an entry refilled
        // after an INVLPG, one refilled as global, one refilled after a flush, and more fills than
        // its list holds (every entry of both sets, twice) must all come out right.
        FillAll(0x1000, false, _pageA);
        _tlb.FlushPage(0x1000);
        FillAll(0x1000, false, _pageA);
        FillAll(0x2000, false, _pageB);
        FillAll(0x2000, false, _pageB, global: true);
        _tlb.FlushNonGlobal();
        Assert.True(_tlb.Lookup(0x1000, AccessKind.Read, false) == null);
        Assert.True(_tlb.Lookup(0x2000, AccessKind.Read, false) == _pageB);

        FillAll(0x1000, false, _pageA);
        FillAll(0x2000, false, _pageA);
        _tlb.FlushNonGlobal();
        Assert.True(_tlb.Lookup(0x1000, AccessKind.Read, false) == null);
        Assert.True(_tlb.Lookup(0x2000, AccessKind.Read, false) == null);

        for (int pass = 0; pass < 2; pass++)
        {
            for (ulong page = 0; page < Tlb.Entries; page++)
            {
                FillAll(0x4000_0000 + (page << 12), false, _pageA);
                FillAll(0x4000_0000 + (page << 12), true, _pageB);
            }
        }

        FillAll(0x9000_0000, false, _pageB, global: true);
        _tlb.FlushNonGlobal();
        for (ulong page = 0; page < Tlb.Entries; page++)
        {
            Assert.True(_tlb.Lookup(0x4000_0000 + (page << 12), AccessKind.Read, false) == null);
            Assert.True(_tlb.Lookup(0x4000_0000 + (page << 12), AccessKind.Read, true) == null);
        }

        Assert.True(_tlb.Lookup(0x9000_0000, AccessKind.Read, false) == _pageB);

        // INVLPG then refill, more times than the list holds: the flush falls back to a full scan.
        FillAll(0x7000, true, _pageA);
        for (int k = 0; k < (2 * Tlb.Entries) + 1; k++)
        {
            _tlb.FlushPage(0x1000);
            FillAll(0x1000, false, _pageA);
        }

        _tlb.FlushNonGlobal();
        Assert.True(_tlb.Lookup(0x1000, AccessKind.Read, false) == null);
        Assert.True(_tlb.Lookup(0x7000, AccessKind.Read, true) == null);
        Assert.True(_tlb.Lookup(0x9000_0000, AccessKind.Read, false) == _pageB);
    }

    [Fact]
    public void FlushPageDropsBothPrivilegeSetsEvenWhenGlobal()
    {
        FillAll(0x5000, false, _pageA, global: true);
        FillAll(0x5000, true, _pageA, global: true);
        FillAll(0x6000, false, _pageB);
        _tlb.FlushPage(0x5ABC);
        Assert.True(_tlb.Lookup(0x5000, AccessKind.Read, false) == null);
        Assert.True(_tlb.Lookup(0x5000, AccessKind.Read, true) == null);
        Assert.True(_tlb.Lookup(0x5000, AccessKind.Execute, true) == null);
        Assert.True(_tlb.Lookup(0x6000, AccessKind.Read, false) == _pageB);
    }

    [Fact]
    public void FlushWritesKeepsReadAndExecuteTags()
    {
        FillAll(0x1000, false, _pageA);
        FillAll(0x2000, true, _pageB);
        _tlb.FlushWrites();
        Assert.True(_tlb.Lookup(0x1000, AccessKind.Write, false) == null);
        Assert.True(_tlb.Lookup(0x2000, AccessKind.Write, true) == null);
        Assert.True(_tlb.Lookup(0x1000, AccessKind.Read, false) == _pageA);
        Assert.True(_tlb.Lookup(0x2000, AccessKind.Execute, true) == _pageB);
    }

    [Fact]
    public void FlushWritesOfAHostPageDropsItsWriteTagsUnderEveryAlias()
    {
        // Page A mapped at two linear addresses and in the user set, page B elsewhere: only A's
        // write tags go, reads and fetches of A and everything of B stay.
        FillAll(0x1000, false, _pageA);
        FillAll(0x7000_5000, false, _pageA);
        FillAll(0x1000, true, _pageA);
        FillAll(0x2000, false, _pageB);
        _tlb.FlushWrites(_pageA);
        Assert.True(_tlb.Lookup(0x1000, AccessKind.Write, false) == null);
        Assert.True(_tlb.Lookup(0x7000_5008, AccessKind.Write, false) == null);
        Assert.True(_tlb.Lookup(0x1000, AccessKind.Write, true) == null);
        Assert.True(_tlb.Lookup(0x1000, AccessKind.Read, false) == _pageA);
        Assert.True(_tlb.Lookup(0x7000_5000, AccessKind.Execute, false) == _pageA);
        Assert.True(_tlb.Lookup(0x2000, AccessKind.Write, false) == _pageB);
    }

    [Fact]
    public void RefillingTheSamePageReplacesItsRights()
    {
        // A fresh walk is the truth: a refill with fewer rights must not keep an older write tag.
        FillAll(0x1000, false, _pageA);
        _tlb.Fill(0x1000, false, _pageA, null, allowRead: true, allowWrite: false, allowExec: true, global: false);
        Assert.True(_tlb.Lookup(0x1000, AccessKind.Write, false) == null);
        Assert.True(_tlb.Lookup(0x1000, AccessKind.Read, false) == _pageA);

        _tlb.Fill(0x1000, false, _pageB, _pageB, allowRead: true, allowWrite: true, allowExec: false, global: false);
        Assert.True(_tlb.Lookup(0x1000, AccessKind.Execute, false) == null);
        Assert.True(_tlb.Lookup(0x1000, AccessKind.Write, false) == _pageB);
    }
}
