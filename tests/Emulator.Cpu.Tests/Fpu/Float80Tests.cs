using Emulator.Cpu.Fpu;
using Xunit;

namespace Emulator.Cpu.Tests.Fpu;

/// <summary>
/// Unit tests of the software extended arithmetic. The property tests use the host's IEEE double
/// arithmetic as the reference: with precision control at 53 bits and results in the double
/// range, an x87 operation must round exactly as double arithmetic does (SDM Vol. 1 8.1.5.2). The
/// directed modes are checked through the exact residual (a fused multiply-add or the two-sum
/// error term), which tells on which side of the rounded result the exact value lies.
/// </summary>
public class Float80Tests
{
    private const int Cases = 20_000;

    private static double RandomDouble(Random random)
    {
        double m = 1 + random.NextDouble();
        if (random.Next(4) == 0)
        {
            // Few significant bits, so that exact results and halfway cases come up.
            m = 1 + (random.Next(1 << 12) / 4096.0);
        }

        return (random.Next(2) == 0 ? -1 : 1) * Math.ScaleB(m, random.Next(-300, 300));
    }

    /// <summary>The correctly rounded result in <paramref name="mode"/> from the nearest result and the sign of the exact residual.</summary>
    private static double Directed(double nearest, int residualSign, RoundingMode mode)
    {
        if (residualSign == 0)
        {
            return nearest;
        }

        return mode switch
        {
            RoundingMode.Nearest => nearest,
            RoundingMode.Down => residualSign < 0 ? Math.BitDecrement(nearest) : nearest,
            RoundingMode.Up => residualSign > 0 ? Math.BitIncrement(nearest) : nearest,
            _ => (residualSign < 0) == (nearest > 0) ? (nearest > 0 ? Math.BitDecrement(nearest) : Math.BitIncrement(nearest)) : nearest,
        };
    }

    private static double Run(Func<FpuContext, Float80, Float80, (Float80, FpuContext)> op, double a, double b, RoundingMode mode, out FpuExceptions raised)
    {
        var ctx = new FpuContext(mode, precision: 53);
        Float80 x = Float80Convert.FromDouble(ref ctx, BitConverter.DoubleToUInt64Bits(a));
        Float80 y = Float80Convert.FromDouble(ref ctx, BitConverter.DoubleToUInt64Bits(b));
        (Float80 r, ctx) = op(ctx, x, y);
        raised = ctx.Raised;
        var store = new FpuContext(mode);
        Assert.True(Float80Convert.ToDouble(ref store, r, out ulong bits));
        Assert.Equal(FpuExceptions.None, store.Raised); // already a double: the store is exact
        return BitConverter.UInt64BitsToDouble(bits);
    }

    public static TheoryData<RoundingMode> Modes => new(Enum.GetValues<RoundingMode>());

    [Theory]
    [MemberData(nameof(Modes))]
    public void AddAndSubtractRoundLikeDoubles(RoundingMode mode)
    {
        var random = new Random(1 + (int)mode);
        for (int n = 0; n < Cases; n++)
        {
            double a = RandomDouble(random), b = random.Next(3) == 0 ? -a * (1 + Math.ScaleB(random.Next(100), -52)) : RandomDouble(random);
            double s = a + b;
            // Two-sum: the exact error of the nearest sum.
            double bv = s - a, err = (a - (s - bv)) + (b - bv);
            double expected = Directed(s, Math.Sign(err), mode);
            if (expected == 0)
            {
                expected = mode == RoundingMode.Down ? -0.0 : 0.0;
            }

            double got = Run(static (c, x, y) => (Float80Math.Add(ref c, x, y), c), a, b, mode, out var raised);
            Assert.True(BitConverter.DoubleToUInt64Bits(expected) == BitConverter.DoubleToUInt64Bits(got), $"{a:R} + {b:R} in {mode}: expected {expected:R}, got {got:R}");
            Assert.Equal(err != 0, (raised & FpuExceptions.Precision) != 0);
        }
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void MultiplyDivideAndSqrtRoundLikeDoubles(RoundingMode mode)
    {
        var random = new Random(10 + (int)mode);
        for (int n = 0; n < Cases; n++)
        {
            double a = RandomDouble(random), b = RandomDouble(random);
            double p = a * b;
            double expectedP = Directed(p, Math.Sign(Math.FusedMultiplyAdd(a, b, -p)), mode);
            double gotP = Run(static (c, x, y) => (Float80Math.Multiply(ref c, x, y), c), a, b, mode, out _);
            Assert.True(expectedP == gotP, $"{a:R} * {b:R} in {mode}: expected {expectedP:R}, got {gotP:R}");

            double q = a / b;
            // a - q b has the sign of (a/b - q) * b.
            double residual = Math.FusedMultiplyAdd(-q, b, a);
            double expectedQ = Directed(q, Math.Sign(residual) * Math.Sign(b), mode);
            double gotQ = Run(static (c, x, y) => (Float80Math.Divide(ref c, x, y), c), a, b, mode, out _);
            Assert.True(expectedQ == gotQ, $"{a:R} / {b:R} in {mode}: expected {expectedQ:R}, got {gotQ:R}");

            double r = Math.Abs(a);
            double s = Math.Sqrt(r);
            double expectedS = Directed(s, Math.Sign(Math.FusedMultiplyAdd(-s, s, r)), mode);
            double gotS = Run(static (c, x, _) => (Float80Math.Sqrt(ref c, x), c), r, 0, mode, out _);
            Assert.True(expectedS == gotS, $"sqrt {r:R} in {mode}: expected {expectedS:R}, got {gotS:R}");
        }
    }

    [Fact]
    public void NaNsPropagateAsTable4_7Says()
    {
        var ctx = new FpuContext(RoundingMode.Nearest);
        var qSmall = new Float80(0xC000_0000_0000_0001, 0x7FFF);
        var qLarge = new Float80(0xC000_0000_0000_0002, 0xFFFF);
        var sLarge = new Float80(0x8000_0000_0000_0009, 0x7FFF);
        Assert.Equal(qLarge, Float80Math.Add(ref ctx, qSmall, qLarge)); // two QNaNs: the larger significand
        Assert.Equal(FpuExceptions.None, ctx.Raised);
        Assert.Equal(qSmall, Float80Math.Add(ref ctx, sLarge, qSmall)); // SNaN and QNaN: the QNaN
        Assert.Equal(FpuExceptions.Invalid, ctx.Raised);
        Assert.Equal(sLarge.Quiet(), Float80Math.Multiply(ref ctx, sLarge, Float80.One)); // SNaN alone: quieted
        Assert.Equal(Float80.Indefinite, Float80Math.Subtract(ref ctx, Float80.PositiveInfinity, Float80.PositiveInfinity));
        Assert.Equal(Float80.Indefinite, Float80Math.Add(ref ctx, new Float80(0x4000_0000_0000_0000, 0x3FFF), Float80.One)); // unnormal
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(1L)]
    [InlineData(-1L)]
    [InlineData(long.MinValue)]
    [InlineData(long.MaxValue)]
    [InlineData(999_999_999_999_999_999L)]
    [InlineData(-123_456_789_012_345_678L)]
    public void IntegersAndBcdRoundTrip(long value)
    {
        var ctx = new FpuContext(RoundingMode.Nearest);
        Float80 x = Float80Convert.FromInt64(value);
        Assert.True(Float80Convert.ToInteger(ref ctx, x, 64, truncate: false, out long back));
        Assert.Equal(value, back);
        if (Math.Abs((decimal)value) <= 999_999_999_999_999_999m)
        {
            Assert.True(Float80Convert.ToBcd(ref ctx, x, out ulong low, out ushort high));
            Assert.Equal(x, Float80Convert.FromBcd(low, high));
            Assert.Equal(value.ToString("D18", System.Globalization.CultureInfo.InvariantCulture).TrimStart('-'), ((ulong)(high & 0xFF)).ToString("X2", System.Globalization.CultureInfo.InvariantCulture) + low.ToString("X16", System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.Equal(FpuExceptions.None, ctx.Raised);
    }

    [Fact]
    public void OutOfRangeIntegerStoreIsTheIndefinite()
    {
        var ctx = new FpuContext(RoundingMode.Nearest);
        Float80 big = Float80Convert.FromInt64(40000);
        Assert.True(Float80Convert.ToInteger(ref ctx, big, 16, truncate: false, out long v));
        Assert.Equal(short.MinValue, v);
        Assert.Equal(FpuExceptions.Invalid, ctx.Raised);
    }
}
