using System.Runtime.InteropServices;

namespace Emulator.Jit.Tiering;

/// <summary>
/// CPU time of the calling thread (Linux CLOCK_THREAD_CPUTIME_ID). Compile times measured with a
/// wall clock include the time the compiler thread waited for a core, which on a loaded host is
/// most of it; this clock counts only the work.
/// </summary>
public static partial class ThreadCpuClock
{
    private const int ClockThreadCpuTimeId = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out Timespec time);

    /// <summary>The thread's CPU time in milliseconds, or NaN where the clock is not available.</summary>
    public static double Milliseconds()
    {
        if (!OperatingSystem.IsLinux() || ClockGetTime(ClockThreadCpuTimeId, out var t) != 0)
        {
            return double.NaN;
        }

        return (t.Seconds * 1e3) + (t.Nanoseconds / 1e6);
    }
}
