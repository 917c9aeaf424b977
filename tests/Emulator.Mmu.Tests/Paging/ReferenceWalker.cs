using System.Buffers.Binary;
using Emulator.Mmu.Paging;

namespace Emulator.Mmu.Tests.Paging;

/// <summary>
/// An independent page walker for the property test, written from SDM Vol. 3A chapter 4 without
/// looking at <see cref="PageWalker"/>: it collects the chain of entries first, then judges reserved
/// bits (4.3 table 4-4..4-6, 4.5 tables 4-14..4-20), then rights (4.6.1), then sets A and D (4.8).
/// Memory is a byte array at physical 0; anything beyond reads as all ones and ignores writes.
/// MAXPHYADDR is 40, 1 GiB pages are supported.
/// </summary>
public static class ReferenceWalker
{
    private const int MaxPhysicalBits = 40;

    public readonly record struct Result(bool Ok, ulong Physical, bool Writable, bool User, bool NoExecute, bool Global, bool Dirty, uint Error);

    private readonly record struct Step(ulong Address, ulong Value, bool Leaf, int Level);

    public static Result Walk(byte[] memory, PagingContext c, ulong linear, AccessKind kind, bool user)
    {
        bool fetch = kind == AccessKind.Execute;
        bool write = kind == AccessKind.Write;
        bool wide = c.Mode == PagingMode.Level4;
        uint baseError = (write ? 2u : 0) | (user ? 4u : 0) | (fetch && (c.Smep || (wide && c.NoExecute)) ? 16u : 0);

        var steps = new List<Step>();
        ulong physical = 0;
        if (c.Mode == PagingMode.Legacy32)
        {
            ulong pdeAt = (c.Cr3 & 0xFFFF_F000) | (((linear >> 22) & 0x3FF) << 2);
            ulong pde = Load(memory, pdeAt, 4);
            if (!Bit(pde, 0))
            {
                return Fail(baseError);
            }

            if (c.PageSizeExtensions && Bit(pde, 7))
            {
                if (Bit(pde, 21))
                {
                    return Fail(baseError | 1 | 8);
                }

                steps.Add(new Step(pdeAt, pde, true, 2));
                physical = (((pde >> 13) & 0xFF) << 32) | (pde & 0xFFC0_0000) | (linear & 0x3F_FFFF);
            }
            else
            {
                steps.Add(new Step(pdeAt, pde, false, 2));
                ulong pteAt = (pde & 0xFFFF_F000) | (((linear >> 12) & 0x3FF) << 2);
                ulong pte = Load(memory, pteAt, 4);
                if (!Bit(pte, 0))
                {
                    return Fail(baseError);
                }

                steps.Add(new Step(pteAt, pte, true, 1));
                physical = (pte & 0xFFFF_F000) | (linear & 0xFFF);
            }
        }
        else
        {
            ulong addressBits = ((1UL << MaxPhysicalBits) - 1) & ~0xFFFUL;
            ulong next = c.Cr3 & addressBits;
            for (int level = 4; level >= 1; level--)
            {
                int shift = level switch { 4 => 39, 3 => 30, 2 => 21, _ => 12 };
                ulong at = next | (((linear >> shift) & 511) << 3);
                ulong e = Load(memory, at, 8);
                if (!Bit(e, 0))
                {
                    return Fail(baseError);
                }

                bool ps = Bit(e, 7);
                bool reserved = (e & 0x000F_FF00_0000_0000) != 0 || (!c.NoExecute && Bit(e, 63));
                reserved |= level == 4 && ps;
                reserved |= level == 3 && ps && (e & 0x3FFF_E000) != 0;
                reserved |= level == 2 && ps && (e & 0x001F_E000) != 0;
                if (reserved)
                {
                    return Fail(baseError | 1 | 8);
                }

                bool leaf = level == 1 || (ps && level < 4);
                steps.Add(new Step(at, e, leaf, level));
                if (leaf)
                {
                    ulong pageMask = (1UL << shift) - 1;
                    physical = (e & addressBits & ~pageMask) | (linear & pageMask);
                    break;
                }

                next = e & addressBits;
            }
        }

        bool writable = steps.TrueForAll(s => Bit(s.Value, 1));
        bool userPage = steps.TrueForAll(s => Bit(s.Value, 2));
        bool noExecute = wide && c.NoExecute && steps.Exists(s => Bit(s.Value, 63));
        Step final = steps[^1];

        bool allowed;
        if (user)
        {
            allowed = userPage && (kind switch
            {
                AccessKind.Write => writable,
                AccessKind.Execute => !noExecute,
                _ => true,
            });
        }
        else if (fetch)
        {
            allowed = !noExecute && !(userPage && c.Smep);
        }
        else if (userPage && c.Smap && !c.AlignmentCheckFlag)
        {
            allowed = false;
        }
        else
        {
            allowed = !write || writable || !c.WriteProtect;
        }

        if (!allowed)
        {
            return Fail(baseError | 1);
        }

        foreach (var s in steps)
        {
            ulong updated = s.Value | (1UL << 5) | (s.Leaf && write ? 1UL << 6 : 0);
            Store(memory, s.Address, c.Mode == PagingMode.Legacy32 ? 4 : 8, updated);
        }

        bool dirty = Bit(final.Value, 6) || write;
        return new Result(true, physical, writable, userPage, noExecute, c.GlobalPages && Bit(final.Value, 8), dirty, 0);
    }

    private static Result Fail(uint error) => new(false, 0, false, false, false, false, false, error);

    private static bool Bit(ulong value, int bit) => ((value >> bit) & 1) != 0;

    private static ulong Load(byte[] memory, ulong address, int size)
    {
        if (address + (ulong)size > (ulong)memory.Length)
        {
            return size == 4 ? 0xFFFF_FFFFUL : ulong.MaxValue;
        }

        return size == 4
            ? BinaryPrimitives.ReadUInt32LittleEndian(memory.AsSpan((int)address))
            : BinaryPrimitives.ReadUInt64LittleEndian(memory.AsSpan((int)address));
    }

    private static void Store(byte[] memory, ulong address, int size, ulong value)
    {
        if (address + (ulong)size > (ulong)memory.Length)
        {
            return;
        }

        if (size == 4)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(memory.AsSpan((int)address), (uint)value);
        }
        else
        {
            BinaryPrimitives.WriteUInt64LittleEndian(memory.AsSpan((int)address), value);
        }
    }
}
