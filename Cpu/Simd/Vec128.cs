namespace Emulator.Cpu.Simd;

/// <summary>A 128-bit XMM value as two little-endian quadwords, with lane accessors for the float formats.</summary>
public struct Vec128
{
    public ulong Lo;
    public ulong Hi;

    public Vec128(ulong lo, ulong hi)
    {
        Lo = lo;
        Hi = hi;
    }

    /// <summary>Doubleword lane <paramref name="k"/> (0-3).</summary>
    public readonly uint GetDword(int k) => (uint)((k < 2 ? Lo : Hi) >> (32 * (k & 1)));

    public void SetDword(int k, uint value)
    {
        int shift = 32 * (k & 1);
        ulong mask = 0xFFFF_FFFFUL << shift;
        if (k < 2)
        {
            Lo = (Lo & ~mask) | ((ulong)value << shift);
        }
        else
        {
            Hi = (Hi & ~mask) | ((ulong)value << shift);
        }
    }

    /// <summary>Quadword lane <paramref name="k"/> (0-1).</summary>
    public readonly ulong GetQword(int k) => k == 0 ? Lo : Hi;

    public void SetQword(int k, ulong value)
    {
        if (k == 0)
        {
            Lo = value;
        }
        else
        {
            Hi = value;
        }
    }

    /// <summary>Lane <paramref name="k"/> of a format: dwords for singles, qwords for doubles.</summary>
    public readonly ulong GetLane(FloatFormat f, int k) => f.Width == 32 ? GetDword(k) : GetQword(k);

    public void SetLane(FloatFormat f, int k, ulong value)
    {
        if (f.Width == 32)
        {
            SetDword(k, (uint)value);
        }
        else
        {
            SetQword(k, value);
        }
    }
}
