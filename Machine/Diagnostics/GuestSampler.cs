using System.Globalization;
using Emulator.Cpu;

namespace Emulator.Machine.Diagnostics;

/// <summary>
/// A statistical guest profiler: a host thread reads the vCPU's RIP about once a millisecond and
/// records where it was, or that the vCPU was idle (halted in the run loop: RIP 0). At exit the
/// samples go to a text file, one "virtual-nanoseconds address" line each (the virtual clock is the
/// guest's TSC, so Linux's printk times line up), to be matched against the guest's symbols (Linux:
/// /proc/kallsyms of a boot with nokaslr). RIP is read without synchronisation: a
/// compiled block updates it at its exits, so a sample names the block being run, which is what a
/// profile of where guest time goes needs. One last sample is taken at exit, so a run shorter than
/// the period still leaves a line. Enabled by <c>--profile-guest PATH</c>.
/// </summary>
internal sealed class GuestSampler : IDisposable
{
    private readonly X86Cpu _cpu;
    private readonly Func<bool> _idle;
    private readonly string _path;
    private readonly Thread _thread;
    private readonly Func<ulong> _now;
    private readonly List<(ulong Time, ulong Rip)> _samples = [];
    private volatile bool _stop;

    public GuestSampler(X86Cpu cpu, Func<bool> idle, Func<ulong> now, string path)
    {
        _cpu = cpu;
        _now = now;
        _idle = idle;
        _path = path;
        _thread = new Thread(Loop) { IsBackground = true, Name = "emu guest sampler" };
        _thread.Start();
    }

    private void Loop()
    {
        while (!_stop)
        {
            Thread.Sleep(1);
            // An idle sample is recorded with RIP 0 (no guest code runs at address 0 while halted).
            _samples.Add((_now(), _idle() ? 0 : _cpu.S.Rip));
        }
    }

    public void Dispose()
    {
        if (_stop)
        {
            return;
        }

        _stop = true;
        _thread.Join();
        _samples.Add((_now(), _idle() ? 0 : _cpu.S.Rip));
        using var w = new StreamWriter(_path);
        foreach (var (time, rip) in _samples)
        {
            w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{time} {rip:x16}"));
        }
    }
}
