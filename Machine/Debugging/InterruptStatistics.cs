using System.Globalization;
using System.Text;

namespace Emulator.Machine.Debugging;

/// <summary>Counts interrupts and exceptions delivered, by vector, for the monitor's <c>info irq</c>.</summary>
public sealed class InterruptStatistics
{
    private readonly long[] _external = new long[256];
    private readonly long[] _software = new long[256];
    private readonly long[] _exceptions = new long[32];

    public void External(int vector) => Interlocked.Increment(ref _external[vector & 0xFF]);

    public void Software(int vector) => Interlocked.Increment(ref _software[vector & 0xFF]);

    public void Exception(int vector) => Interlocked.Increment(ref _exceptions[vector & 0x1F]);

    public long ExceptionCount(int vector) => Interlocked.Read(ref _exceptions[vector & 0x1F]);

    public string Describe()
    {
        var sb = new StringBuilder();
        sb.AppendLine("vector   exceptions   external   software");
        for (int v = 0; v < 256; v++)
        {
            long e = v < 32 ? Interlocked.Read(ref _exceptions[v]) : 0;
            long x = Interlocked.Read(ref _external[v]);
            long s = Interlocked.Read(ref _software[v]);
            if (e + x + s > 0)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"0x{v:x2}   {e,10}   {x,8}   {s,8}");
            }
        }

        return sb.ToString();
    }
}
