namespace Emulator.Cpu.Tests.Fpu;

/// <summary>
/// Operands for the x87 oracle: the special encodings (zeros, denormals, pseudo-denormals,
/// unnormals, infinities, QNaNs, SNaNs, the indefinite), values at the single and double
/// boundaries, and random values over the whole exponent range, from a fixed seed.
/// </summary>
public sealed class X87Values
{
    private readonly Random _random;

    public X87Values(int seed)
    {
        _random = new Random(seed);
    }

    public static readonly (ulong Significand, ushort SignExponent)[] Specials =
    [
        (0, 0), (0, 0x8000),
        (0x8000_0000_0000_0000, 0x3FFF), (0x8000_0000_0000_0000, 0xBFFF),
        (0x0000_0000_0000_0001, 0), (0x7FFF_FFFF_FFFF_FFFF, 0x8000), // denormals
        (0x8000_0000_0000_0001, 0), // pseudo-denormal
        (0x4000_0000_0000_0000, 0x3FFF), // unnormal
        (0x8000_0000_0000_0000, 0x7FFF), (0x8000_0000_0000_0000, 0xFFFF), // infinities
        (0xC000_0000_0000_0000, 0xFFFF), (0xC000_0000_0000_1234, 0x7FFF), // QNaNs
        (0x8000_0000_0000_5678, 0x7FFF), (0xA000_0000_0000_0000, 0xFFFF), // SNaNs
        (0xFFFF_FFFF_FFFF_FFFF, 0x7FFE), (0x8000_0000_0000_0000, 0x0001), // max, min normal
        (0xFFFF_FFFF_FFFF_FFFF, 0x3FFE), (0xC90F_DAA2_2168_C235, 0x4000),
    ];

    /// <summary>One operand: a special, a boundary case for single/double, or random.</summary>
    public (ulong Significand, ushort SignExponent) Next()
    {
        int kind = _random.Next(10);
        ushort sign = (ushort)(_random.Next(2) << 15);
        ulong significand = RandomSignificand();
        switch (kind)
        {
            case 0:
                return Specials[_random.Next(Specials.Length)];
            case 1:
                {
                    // Around the single and double exponent limits, where stores overflow or denormalize.
                    int[] centres = [16383 + 127, 16383 - 126, 16383 - 149, 16383 + 1023, 16383 - 1022, 16383 - 1074, 1, 0x7FFE];
                    int e = centres[_random.Next(centres.Length)] + _random.Next(-3, 4);
                    return (significand | (1UL << 63), (ushort)(sign | Math.Clamp(e, 1, 0x7FFE)));
                }

            case 2:
                return (significand & ~(1UL << 63), sign); // denormal
            case 3:
                return (significand | (1UL << 63), (ushort)(sign | _random.Next(1, 0x7FFF)));
            default:
                return (significand | (1UL << 63), (ushort)(sign | (16383 + _random.Next(-70, 70))));
        }
    }

    /// <summary>Significands with the bit patterns rounding cares about: halfway points at 24, 53 and 64 bits, runs of ones.</summary>
    private ulong RandomSignificand()
    {
        ulong r = (ulong)_random.NextInt64() ^ ((ulong)_random.NextInt64() << 1);
        switch (_random.Next(6))
        {
            case 0:
                return r & ~((1UL << 40) - 1) | (1UL << 39); // halfway at single precision
            case 1:
                return r & ~((1UL << 11) - 1) | (1UL << 10); // halfway at double precision
            case 2:
                return r | ((1UL << _random.Next(1, 63)) - 1); // trailing ones
            case 3:
                return r & ~((1UL << _random.Next(1, 63)) - 1); // trailing zeros
            default:
                return r;
        }
    }

    /// <summary>An FCW: RC and PC at random, all exceptions masked or (one case in four) a random mask set.</summary>
    public ushort ControlWord(bool allowUnmasked)
    {
        int rc = _random.Next(4);
        int pc = new[] { 0, 2, 3 }[_random.Next(3)];
        int masks = allowUnmasked && _random.Next(4) == 0 ? _random.Next(64) : 0x3F;
        return (ushort)(0x40 | masks | (pc << 8) | (rc << 10));
    }

    public int Top() => _random.Next(8);

    public int Int(int max) => _random.Next(max);

    public byte[] Bytes(int count)
    {
        var b = new byte[count];
        _random.NextBytes(b);
        return b;
    }
}
