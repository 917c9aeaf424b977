using BenchmarkDotNet.Attributes;
using Emulator.Cpu.State;

namespace Emulator.Bench;

/// <summary>
/// The software TLB hit path (X86Cpu.ReadLinear/WriteLinear: page-cross check, TLB probe, host
/// access), a segmented read (plus the segment check), and a physical-map access, per access.
/// </summary>
public class MemoryBenchmarks
{
    private const int Accesses = 4096;
    private GuestLoop _loop = null!;

    [GlobalSetup]
    public void Setup()
    {
        _loop = new GuestLoop();
        _loop.Cpu.ReadLinear(GuestLoop.Buffer, 8, out _); // fill the TLB entry
        _loop.Cpu.WriteLinear(GuestLoop.Buffer, 8, 0); // and its write tag (the page is dirty now)
    }

    [GlobalCleanup]
    public void Cleanup() => _loop.Dispose();

    [Benchmark(OperationsPerInvoke = Accesses)]
    public ulong TlbHitRead()
    {
        ulong sum = 0;
        for (int k = 0; k < Accesses; k++)
        {
            _loop.Cpu.ReadLinear(GuestLoop.Buffer + (ulong)((k & 511) * 8), 8, out ulong v);
            sum += v;
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Accesses)]
    public void TlbHitWrite()
    {
        for (int k = 0; k < Accesses; k++)
        {
            _loop.Cpu.WriteLinear(GuestLoop.Buffer + (ulong)((k & 511) * 8), 8, (ulong)k);
        }
    }

    [Benchmark(OperationsPerInvoke = Accesses)]
    public ulong PhysicalRead()
    {
        ulong sum = 0;
        for (int k = 0; k < Accesses; k++)
        {
            sum += _loop.Memory.Read(GuestLoop.Buffer + (ulong)((k & 511) * 8), 8);
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Accesses)]
    public ulong SegmentedRead()
    {
        ulong sum = 0;
        for (int k = 0; k < Accesses; k++)
        {
            _loop.Cpu.Read(Seg.DS, GuestLoop.Buffer + (ulong)((k & 511) * 8), 8, out ulong v);
            sum += v;
        }

        return sum;
    }
}
