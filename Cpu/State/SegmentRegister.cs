using System.Runtime.InteropServices;

namespace Emulator.Cpu.State;

/// <summary>
/// A segment register with its hidden descriptor cache (SDM Vol. 3A 3.4.3). <see cref="Attributes"/>
/// holds descriptor bits 40..55 shifted down: type (0..3), S (4), DPL (5..6), P (7), AVL (12),
/// L (13), D/B (14), G (15), the layout VMX and KVM use too.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct SegmentRegister
{
    public ulong Base;
    public uint Limit;
    public ushort Selector;
    public ushort Attributes;

    public const ushort AttrAccessed = 1 << 0;
    public const ushort AttrWritable = 1 << 1;
    public const ushort AttrExpandDown = 1 << 2; // data segments; the same bit is "conforming" in code segments
    public const ushort AttrConforming = 1 << 2;
    public const ushort AttrCode = 1 << 3;
    public const ushort AttrS = 1 << 4;
    public const ushort AttrPresent = 1 << 7;
    public const ushort AttrLong = 1 << 13;
    public const ushort AttrDefaultBig = 1 << 14;
    public const ushort AttrGranularity = 1 << 15;

    public readonly int Dpl => (Attributes >> 5) & 3;

    public readonly bool Present => (Attributes & AttrPresent) != 0;

    public readonly bool Long => (Attributes & AttrLong) != 0;

    public readonly bool DefaultBig => (Attributes & AttrDefaultBig) != 0;

    public readonly int Type => Attributes & 0xF;

    /// <summary>A real-mode segment: base = selector * 16, attributes of a present, writable data/code segment.</summary>
    public static SegmentRegister RealMode(ushort selector, bool code = false) => new()
    {
        Selector = selector,
        Base = (ulong)selector << 4,
        Limit = 0xFFFF,
        Attributes = (ushort)(AttrPresent | AttrS | AttrAccessed | AttrWritable | (code ? AttrCode : 0)),
    };
}
