using Emulator.Mmu.Paging;
using Emulator.Mmu.Physical;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Emulator.Mmu.Tests.Paging;

/// <summary>
/// PageWalker against <see cref="ReferenceWalker"/>: random page tables (every slot of a small RAM
/// is a random entry pointing mostly back into that RAM), random control bits, and a run of random
/// linear addresses and access kinds. Both walkers must agree on the outcome, the error code, the
/// translation and every accessed/dirty bit written back.
/// </summary>
public class PageWalkerPropertyTests
{
    private const int RamPages = 32;
    private const int WalksPerCase = 40;

    [Fact]
    public void Level4MatchesTheReferenceWalker() => Check(PagingMode.Level4);

    [Fact]
    public void Legacy32MatchesTheReferenceWalker() => Check(PagingMode.Legacy32);

    private static void Check(PagingMode mode)
    {
        var seeds = Arb.From(Gen.Choose(0, int.MaxValue - 1));
        Prop.ForAll(seeds, seed => RunCase(mode, seed))
            .Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }

    private static unsafe void RunCase(PagingMode mode, int seed)
    {
        var random = new Random(seed);
        byte[] reference = new byte[RamPages * 0x1000];
        for (int i = 0; i < reference.Length; i += 4)
        {
            if (mode == PagingMode.Level4)
            {
                if (i % 8 == 0)
                {
                    BitConverter.TryWriteBytes(reference.AsSpan(i), RandomEntry64(random));
                }
            }
            else
            {
                BitConverter.TryWriteBytes(reference.AsSpan(i), RandomEntry32(random));
            }
        }

        using var ram = new GuestRam((ulong)reference.Length);
        using var memory = new PhysicalMemory(ram);
        memory.MapRam("ram", 0, 0, ram.Size);
        reference.CopyTo(new Span<byte>(ram.Pointer, reference.Length));

        var ctx = new PagingContext(
            mode,
            ((ulong)random.Next(RamPages) << 12) | ((ulong)random.Next(2) << 3),
            WriteProtect: random.Next(2) == 0,
            NoExecute: random.Next(2) == 0,
            PageSizeExtensions: random.Next(4) != 0,
            GlobalPages: random.Next(2) == 0,
            Smep: random.Next(3) == 0,
            Smap: random.Next(3) == 0,
            AlignmentCheckFlag: random.Next(2) == 0);

        for (int walk = 0; walk < WalksPerCase; walk++)
        {
            ulong linear = (ulong)random.NextInt64() ^ ((ulong)random.Next() << 33);
            if (mode == PagingMode.Legacy32)
            {
                linear &= 0xFFFF_FFFF;
            }

            var kind = (AccessKind)random.Next(3);
            bool user = random.Next(2) == 0;
            string what = $"seed {seed} walk {walk}: {ctx} linear {linear:x} {kind} user={user}\n{Chain(reference, ctx, linear)}";

            var expected = ReferenceWalker.Walk(reference, ctx, linear, kind, user);
            bool ok = PageWalker.Walk(memory, ctx, linear, kind, user, out var t, out var error);
            Assert.True(expected.Ok == ok, $"{what}: reference ok={expected.Ok} error={expected.Error:x}, walker ok={ok} error={(uint)error:x}");
            Assert.True(expected.Error == (uint)error, $"{what}: error {(uint)error:x}, reference {expected.Error:x}");
            if (ok)
            {
                var actual = new ReferenceWalker.Result(true, t.PhysicalAddress, t.Writable, t.User, t.NoExecute, t.Global, t.Dirty, 0);
                Assert.True(expected == actual, $"{what}: walker {actual}, reference {expected}");
            }

            Assert.True(
                new ReadOnlySpan<byte>(ram.Pointer, reference.Length).SequenceEqual(reference),
                $"{what}: memory differs after the walk (accessed/dirty bits)");
        }
    }

    /// <summary>The entries on the walk's path, for failure messages.</summary>
    private static string Chain(byte[] memory, PagingContext ctx, ulong linear)
    {
        var lines = new System.Text.StringBuilder();
        bool wide = ctx.Mode == PagingMode.Level4;
        ulong table = ctx.Cr3 & (wide ? 0xFF_FFFF_F000UL : 0xFFFF_F000UL);
        for (int level = wide ? 4 : 2; level >= 1; level--)
        {
            ulong at = wide ? table + (((linear >> (12 + (9 * (level - 1)))) & 511) * 8) : table + (((linear >> (12 + (10 * (level - 1)))) & 1023) * 4);
            if (at + 8 > (ulong)memory.Length)
            {
                lines.Append($"  level {level} at {at:x}: outside RAM\n");
                break;
            }

            ulong entry = wide ? BitConverter.ToUInt64(memory, (int)at) : BitConverter.ToUInt32(memory, (int)at);
            lines.Append($"  level {level} at {at:x}: {entry:x16}\n");
            table = entry & (wide ? 0xFF_FFFF_F000UL : 0xFFFF_F000UL);
        }

        return lines.ToString();
    }

    /// <summary>A 4-level entry: mostly present, random rights, PS and XD, an address mostly inside RAM.</summary>
    private static ulong RandomEntry64(Random random)
    {
        ulong e = (ulong)random.Next(0x200); // P, R/W, U/S, PWT, PCD, A, D, PS, G
        if (random.Next(5) != 0)
        {
            e |= 1; // present more often than not
        }

        e |= random.Next(4) == 0 ? 1UL << 63 : 0;
        e |= random.Next(3) switch
        {
            0 or 1 => (ulong)random.Next(RamPages) << 12,
            _ => (ulong)random.NextInt64(1L << 40) & ~0x1F_FFFFUL, // a 2 MiB-aligned address anywhere
        };

        if (random.Next(10) == 0)
        {
            e |= 1UL << random.Next(12, 63); // sometimes a reserved or ignored high bit
        }

        return e;
    }

    /// <summary>A 32-bit entry, with PSE-36 address bits and the reserved bit 21 now and then.</summary>
    private static uint RandomEntry32(Random random)
    {
        uint e = (uint)random.Next(0x200);
        if (random.Next(5) != 0)
        {
            e |= 1;
        }

        e |= random.Next(3) switch
        {
            0 or 1 => (uint)random.Next(RamPages) << 12,
            _ => (uint)random.Next() << 1 & 0xFFFF_F000,
        };

        if (random.Next(8) == 0)
        {
            e ^= 1u << 21;
        }

        return e;
    }
}
