using System.Globalization;
using System.Text;
using Emulator.Cpu.Diagnostics;
using Emulator.Cpu.State;
using Emulator.Machine.Config;
using Emulator.Machine.Debugging;
using Emulator.Machine.Diagnostics;
using Xunit;

namespace Emulator.Machine.Tests.Boot;

/// <summary>
/// Boots Debian's kernel with the busybox initramfs of scripts/get-linux-guest on the interpreter,
/// waits for the marker /init prints, runs a few commands on the serial console and powers off.
/// On failure the serial log, the interrupt and unimplemented-instruction trace, the CPU state,
/// the last few hundred instructions executed (a ring tracer runs for the whole boot) and the next
/// few hundred go to .build/test-artifacts/linux-boot-*.log (run-tests names the file).
/// </summary>
[Trait("Category", "Guest")]
public class LinuxGuestBootTests
{
    public const string Marker = "EMU-LINUX-GUEST: init ready";

    /// <summary>How many of the last executed instructions a failure log shows.</summary>
    private const int RecentInstructions = 400;

    /// <summary>Minutes the whole boot-and-commands run may take (EMU_LINUX_BOOT_MINUTES overrides).</summary>
    private static TimeSpan Timeout => TimeSpan.FromMinutes(int.TryParse(Environment.GetEnvironmentVariable("EMU_LINUX_BOOT_MINUTES"), out int m) ? m : 30);

    [RequiresLinuxGuestFact]
    public void DebianKernelBootsRunsCommandsAndPowersOff()
    {
        var console = new ConsoleCapture();
        var diagnostics = new TailWriter(400);
        var config = new MachineConfig
        {
            KernelPath = Path.Combine(RequiresLinuxGuestFactAttribute.GuestDirectory, "vmlinuz"),
            Initrds = [Path.Combine(RequiresLinuxGuestFactAttribute.GuestDirectory, "initramfs.gz")],
            // No hpet=disable: the HPET is Linux's legacy clock event (timer 0 on IRQ 0) and its
            // reference for TSC calibration, as on QEMU.
            Append = "console=ttyS0 earlyprintk=serial,ttyS0,115200 panic=-1",
            MemoryBytes = 256UL << 20,
            NoReboot = true,
            Accel = Accelerator.Interpreter, // the CI boot runs on the interpreter
            Trace = new TraceOptions { Categories = TraceCategories.Int | TraceCategories.Unimp },
        };

        using var vm = new VirtualMachine(config, console, diagnostics);
        var recent = InstructionTracer.Ring(RecentInstructions);
        vm.Cpu.Tracer = recent;
        int status = -1;
        var runner = new Thread(() => status = vm.Run()) { IsBackground = true, Name = "linux guest vCPU" };
        var deadline = DateTime.UtcNow + Timeout;
        runner.Start();

        string? failure = null;
        void Type(string line)
        {
            foreach (byte b in Encoding.ASCII.GetBytes(line + "\n"))
            {
                vm.SendSerialInput(b);
            }
        }

        bool Await(string text) => console.WaitFor(text, deadline, runner);

        if (!Await(Marker))
        {
            failure = $"no marker line '{Marker}'";
        }
        else
        {
            Type("uname -m");
            if (!Await("\nx86_64"))
            {
                failure = "uname -m did not print x86_64";
            }

            Type("cat /proc/cpuinfo");
            if (failure is null && !(Await("vendor_id") && Await(" sse4_2 ") && Await(" popcnt ")))
            {
                failure = "/proc/cpuinfo did not show vendor_id and our flags (sse4_2, popcnt)";
            }

            Type("i=0; s=0; while [ $i -lt 2000 ]; do s=$((s + i * 3)); i=$((i + 1)); done; echo \"sum=$s\"");
            if (failure is null && !Await("sum=5997000"))
            {
                failure = "the shell arithmetic loop did not print sum=5997000";
            }

            Type("poweroff -f");
            if (failure is null && !runner.Join(Remaining(deadline)))
            {
                failure = "poweroff -f did not end the machine";
            }
        }

        if (failure is null && status != 0)
        {
            failure = $"the machine ended with status {status}, not 0 (power off)";
        }

        if (failure is not null)
        {
            string log = KeepFailureLog(vm, runner, console, diagnostics, recent, failure);
            Assert.Fail($"{failure}; boot log in {log}\n--- last serial output ---\n{console.Tail(3000)}");
        }
    }

    /// <summary>
    /// <c>reboot -f</c> resets the machine (Linux writes the FADT's reset register, 0xCF9) and the
    /// kernel boots again to the marker; then <c>poweroff -f</c> ends it with status 0. A second
    /// boot doubles the time, so this runs in wide runs only (EMU_LINUX_REBOOT=1), on the JIT.
    /// </summary>
    [RequiresLinuxGuestFact(WideRunVariable = "EMU_LINUX_REBOOT")]
    public void RebootFBootsTheKernelAgain()
    {
        var console = new ConsoleCapture();
        var diagnostics = new TailWriter(400);
        var config = new MachineConfig
        {
            KernelPath = Path.Combine(RequiresLinuxGuestFactAttribute.GuestDirectory, "vmlinuz"),
            Initrds = [Path.Combine(RequiresLinuxGuestFactAttribute.GuestDirectory, "initramfs.gz")],
            Append = "console=ttyS0 panic=-1",
            MemoryBytes = 256UL << 20,
        };

        using var vm = new VirtualMachine(config, console, diagnostics);
        int status = -1;
        var runner = new Thread(() => status = vm.Run()) { IsBackground = true, Name = "linux guest vCPU" };
        var deadline = DateTime.UtcNow + Timeout;
        runner.Start();
        void Type(string line)
        {
            foreach (byte b in Encoding.ASCII.GetBytes(line + "\n"))
            {
                vm.SendSerialInput(b);
            }
        }

        try
        {
            Assert.True(console.WaitFor(Marker, deadline, runner), "first boot: no marker");
            Type("reboot -f");
            Assert.True(console.WaitFor("Linux version", deadline, runner), "no second boot after reboot -f");
            Assert.True(console.WaitFor(Marker, deadline, runner), "second boot: no marker");
            Type("poweroff -f");
            Assert.True(runner.Join(Remaining(deadline)), "poweroff -f did not end the machine");
            Assert.Equal(0, status);
        }
        finally
        {
            vm.Stop(1);
            runner.Join(TimeSpan.FromSeconds(30));
        }
    }

    private static TimeSpan Remaining(DateTime deadline)
    {
        var left = deadline - DateTime.UtcNow;
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    /// <summary>Writes everything known about a failed boot to a file and stops the machine.</summary>
    private static string KeepFailureLog(VirtualMachine vm, Thread runner, ConsoleCapture console, TailWriter diagnostics, InstructionTracer recent, string failure)
    {
        var instructions = new List<string>();
        IReadOnlyList<string> last = [];
        if (!runner.IsAlive)
        {
            last = recent.RecentLines();
        }
        else
        {
            // Still running (stuck, or looping in a panic): pause it, keep how it got here, and trace where it goes.
            vm.Pause();
            vm.Gate.WaitUntilPaused();
            last = recent.RecentLines();
            vm.Cpu.Tracer = new InstructionTracer(line => instructions.Add(line), DisassemblySyntax.Intel, []);
            for (int k = 0; k < 300 && vm.Gate.Exit is null; k++)
            {
                vm.Gate.Resume(RunCommand.Step);
            }

            vm.Cpu.Tracer = null;
            vm.Stop(1);
            runner.Join(TimeSpan.FromSeconds(30));
        }

        ref CpuState s = ref vm.Cpu.S;
        string dir = Path.Combine(RepoPaths.Root, ".build", "test-artifacts");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, $"linux-boot-{DateTime.UtcNow:yyyyMMdd-HHmmss}.log");
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"failure: {failure}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"instructions retired: {s.InstructionsRetired}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"cpu: rip={s.Rip:x} cs={s.Cs.Selector:x4} rflags={s.Rflags:x} rax={s.Gpr[0]:x} rcx={s.Gpr[1]:x} rdx={s.Gpr[2]:x} rbx={s.Gpr[3]:x} rsp={s.Gpr[4]:x} rbp={s.Gpr[5]:x} rsi={s.Gpr[6]:x} rdi={s.Gpr[7]:x} cr0={s.Cr0:x} cr2={s.Cr2:x} cr3={s.Cr3:x} cr4={s.Cr4:x} efer={s.Efer:x}");
        sb.AppendLine("--- serial console ---").AppendLine(console.Text);
        sb.AppendLine("--- emulator diagnostics and int/unimp trace (last lines) ---").AppendLine(diagnostics.Text);
        sb.AppendLine(CultureInfo.InvariantCulture, $"--- last {last.Count} instructions executed before the failure was seen ---");
        foreach (string line in last)
        {
            sb.AppendLine(line);
        }

        sb.AppendLine(CultureInfo.InvariantCulture, $"--- next {instructions.Count} instructions after the failure was seen ---");
        foreach (string line in instructions)
        {
            sb.AppendLine(line);
        }

        File.WriteAllText(path, sb.ToString());
        return path;
    }

    /// <summary>The guest's serial output, readable while the vCPU thread writes it.</summary>
    private sealed class ConsoleCapture : Stream
    {
        private readonly StringBuilder _text = new();
        private readonly object _lock = new();
        private int _searchFrom;

        public string Text
        {
            get
            {
                lock (_lock)
                {
                    return _text.ToString();
                }
            }
        }

        public string Tail(int chars)
        {
            string text = Text;
            return text.Length <= chars ? text : text[^chars..];
        }

        /// <summary>Waits for <paramref name="text"/> after the previous match; false at the deadline or when the machine stopped.</summary>
        public bool WaitFor(string text, DateTime deadline, Thread runner)
        {
            lock (_lock)
            {
                while (true)
                {
                    int at = _text.ToString().IndexOf(text, _searchFrom, StringComparison.Ordinal);
                    if (at >= 0)
                    {
                        _searchFrom = at + text.Length;
                        return true;
                    }

                    var left = deadline - DateTime.UtcNow;
                    if (left <= TimeSpan.Zero || !runner.IsAlive)
                    {
                        return false;
                    }

                    Monitor.Wait(_lock, left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
                }
            }
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            lock (_lock)
            {
                _text.Append(Encoding.Latin1.GetString(buffer, offset, count));
                Monitor.PulseAll(_lock);
            }
        }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }

    /// <summary>Keeps the last lines written (the trace of a whole boot would not fit in memory).</summary>
    private sealed class TailWriter(int lines) : TextWriter
    {
        private readonly Queue<string> _lines = new();
        private readonly StringBuilder _current = new();
        private readonly object _lock = new();

        public override Encoding Encoding => Encoding.UTF8;

        public string Text
        {
            get
            {
                lock (_lock)
                {
                    return string.Join('\n', _lines) + "\n" + _current;
                }
            }
        }

        public override void Write(char value)
        {
            lock (_lock)
            {
                if (value == '\n')
                {
                    _lines.Enqueue(_current.ToString());
                    _current.Clear();
                    if (_lines.Count > lines)
                    {
                        _lines.Dequeue();
                    }
                }
                else
                {
                    _current.Append(value);
                }
            }
        }
    }
}
