using System.Reflection;
using Emulator.Cpu;
using Emulator.Cpu.State;
using Emulator.Devices.Time;
using Emulator.Jit.Tiering;
using Emulator.Machine.Acpi;
using Emulator.Machine.Board;
using Emulator.Machine.Boot;
using Emulator.Machine.Config;
using Emulator.Machine.Debugging;
using Emulator.Machine.Diagnostics;

namespace Emulator.Machine;

/// <summary>
/// One VM: the board, a vCPU, the loaded guest, and the run loop that drives them. Guest actions
/// end here as an exit status: isa-debug-exit, the shutdown port, a halt nothing can wake, or a
/// triple fault with --no-reboot. Bad input surfaces as <see cref="ConfigException"/> before the
/// guest starts.
/// </summary>
public sealed class VirtualMachine : IMachineControl, IDisposable
{
    /// <summary>Instructions per run-loop slice: between slices outputs are flushed and requests looked at.</summary>
    public const long SliceInstructions = 200_000;

    public const string DemoRomResource = "demo.bin";

    private readonly MachineConfig _config;
    private readonly TextWriter _diagnostics;
    private readonly List<ByteSink> _sinks = [];
    private readonly ManualResetEventSlim _wake = new(false);
    private volatile bool _stopRequested;
    private volatile bool _resetRequested;
    private int _exitStatus;
    private readonly Tracer? _tracer;
    private readonly ApicInterruptSource _interrupts;
    private readonly DeadlineKicker? _kicker;
    private GuestSampler? _sampler;
    private volatile bool _idle;
    private long _idleTicks;

    /// <param name="config">What to build and boot.</param>
    /// <param name="stdout">Where "stdio" character devices write (the process's stdout for <c>emu</c>).</param>
    /// <param name="diagnostics">Where the emulator's own messages go (stderr for <c>emu</c>).</param>
    public VirtualMachine(MachineConfig config, Stream stdout, TextWriter diagnostics)
    {
        _config = config;
        Gate = new ExecutionGate(config.StartPaused);
        _diagnostics = diagnostics;
        // The clock first: the board's timers read it. Under icount it counts the CPU's retired
        // instructions (the CPU exists by the time anything reads the clock).
        Clock = config.IcountShift is { } shift ? new VirtualClock(() => Cpu!.RetiredNow, shift) : new VirtualClock();
        if (config.Accel == Accelerator.Jit)
        {
            // First: its thread starts warming up RyuJIT and the emitter (WarmUp) while the board is built.
            Jit = new JitCompiler(new JitOptions { Threshold = config.JitThreshold, RampStart = config.JitThresholdRamp ? MachineConfig.JitRampStart : 0, RampStep = MachineConfig.JitRampStep, Dump = HandlerProfile.DumpRequested ? HandlerProfile.WriteDump : null });
        }

        try
        {
            Board = new PcBoard(config, this, Clock);
        }
        catch
        {
            Jit?.Dispose();
            throw;
        }

        Cpu = new X86Cpu(Board.Memory, Board.Ports)
        {
            Log = message => _diagnostics.WriteLine($"emu: {message}"),
            InterruptObserver = (vector, kind, _) =>
            {
                if (kind == InterruptKind.External)
                {
                    InterruptCounts.External(vector);
                }
                else
                {
                    InterruptCounts.Software(vector);
                }
            },
            ExceptionObserver = (vector, _, _) => InterruptCounts.Exception(vector),
            Interrupts = _interrupts = new ApicInterruptSource(Board.Lapic, Board.Pic),
            MsrDevice = new ApicMsrs(Board.Lapic),
        };
        Cpu.Model = config.CpuModel;
        // The local APIC is wired: CPUID says so (APIC, TSC-deadline, x2APIC when asked for; the APIC
        // ID in EBX is 0). The hypervisor bit tells the guest it runs in a virtual machine, as every
        // VMM's CPUID does (Linux then reports a missing PMU as virtualization, not as broken hardware).
        Cpu.Cpuid.Leaf1Edx |= CpuidModel.EdxApic;
        Cpu.Cpuid.Leaf1Ecx |= CpuidModel.EcxTscDeadline | CpuidModel.EcxHypervisor | (config.X2Apic ? CpuidModel.EcxX2Apic : 0);
        Board.Lapic.Tsc = () => Cpu.TimeStampCounter() + Cpu.S.TscOffset;

        // An interrupt request wakes a halted vCPU sleeping in the run loop.
        Board.Pic.IntrChanged += OnIntrChanged;
        Board.Lapic.InterruptRequested += OnApicInterrupt;
        Jit?.Attach(Cpu);

        try
        {
            // The time-stamp counter runs at a nominal 1 GHz: one tick per virtual nanosecond.
            Cpu.TimeStampCounter = () => Clock.Nanoseconds;
            if (!Clock.Deterministic)
            {
                _kicker = new DeadlineKicker(Clock, Cpu.RequestStop);
            }

            if (config.Trace is { Categories: not TraceCategories.None } trace)
            {
                _tracer = new Tracer(trace, diagnostics);
                _tracer.Attach(Cpu, Board.Ports, Board.Memory);
            }

            var stdoutSink = new ByteSink(stdout, owns: false);
            _sinks.Add(stdoutSink);
            Board.Com1.Output = OpenSink(config.Serial, stdoutSink);
            if (Board.Debugcon is { } debugcon && config.Debugcon is { } target)
            {
                debugcon.Output = OpenSink(target, stdoutSink);
            }

            LoadGuest();
        }
        catch
        {
            // Bad input found while loading: release guest memory before the error reaches the user.
            Dispose();
            throw;
        }
    }

    public PcBoard Board { get; }

    public X86Cpu Cpu { get; }

    /// <summary>The translator, unless the machine runs on the interpreter alone.</summary>
    public JitCompiler? Jit { get; }

    private readonly Dictionary<StopReason, long> _stops = [];

    /// <summary>Feeds bytes typed at the host console into COM1.</summary>
    public void SendSerialInput(byte value) => Board.Com1.Receive(value);

    private Action<byte>? OpenSink(SerialTarget target, ByteSink stdoutSink)
    {
        switch (target.Kind)
        {
            case SerialTargetKind.Stdio:
                return stdoutSink.Write;
            case SerialTargetKind.File:
                try
                {
                    var sink = new ByteSink(new FileStream(target.Path!, FileMode.Create, FileAccess.Write, FileShare.Read), owns: true);
                    _sinks.Add(sink);
                    return sink.Write;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new ConfigException($"cannot open {target.Path} for writing: {e.Message}", e);
                }

            default:
                return null;
        }
    }

    private static byte[] ReadInput(string path, string what)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"cannot read {what} '{path}': {e.Message}", e);
        }
    }

    /// <summary>The demo ROM built into the emulator (roms/demo/demo.bin, embedded at build time).</summary>
    public static byte[] DemoRom()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(DemoRomResource)
            ?? throw new InvalidOperationException("the demo ROM is missing from the build");
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    private bool _firmwareMapped;

    /// <summary>Loads firmware or a kernel and sets the CPU's entry state (again after a reset).</summary>
    private void LoadGuest()
    {
        if (_config.KernelPath is { } kernelPath)
        {
            byte[] kernel = ReadInput(kernelPath, "kernel");
            // Without firmware, the loader plays its part: the ACPI, MP and SMBIOS tables go into the BIOS area.
            ulong lowRamEnd = Math.Min(_config.MemoryBytes, PcBoard.LowMemoryLimit);
            var acpi = AcpiTables.Install(Board.Memory, lowRamEnd);
            MpTable.Install(Board.Memory, CpuidModel.Signature, Cpu.Cpuid.Leaf1Edx);
            Smbios.Install(Board.Memory, CpuidModel.Signature, Cpu.Cpuid.Leaf1Edx);
            switch (KernelImage.Detect(kernel))
            {
                case KernelFormat.BzImage:
                    {
                        // Several initrds are concatenated, each padded to 4 bytes (the kernel unpacks cpio archives back to back).
                        var initrd = new List<byte>();
                        foreach (string path in _config.Initrds)
                        {
                            initrd.AddRange(ReadInput(path, "initrd"));
                            initrd.AddRange(new byte[(4 - (initrd.Count % 4)) % 4]);
                        }

                        LinuxLoader.Load(Board.Memory, ref Cpu.S, kernelPath, kernel, [.. initrd], _config.Append, lowRamEnd, acpi.RsdpAddress);
                        break;
                    }

                case KernelFormat.Multiboot:
                    {
                        var modules = _config.Initrds.Select(spec =>
                        {
                            string path = spec.Split(' ', 2)[0];
                            return new MultibootLoader.Module(path, spec, ReadInput(path, "module"));
                        }).ToList();
                        // QEMU passes the kernel's file name first, as GRUB does with its path.
                        string commandLine = _config.Append.Length > 0 ? $"{kernelPath} {_config.Append}" : kernelPath;
                        MultibootLoader.Load(Board.Memory, ref Cpu.S, kernelPath, kernel, commandLine, modules);
                        break;
                    }

                case KernelFormat.Elf:
                    throw new ConfigException($"{kernelPath} is an ELF file without a Multiboot header; for Linux, boot the bzImage (vmlinuz), not vmlinux");
                default:
                    throw new ConfigException($"{kernelPath} is neither a Linux bzImage nor a Multiboot kernel (no \"HdrS\" setup header, no Multiboot header in its first 8 KiB)");
            }

            Cpu.Tlb.FlushAll();
            return;
        }

        if (!_firmwareMapped)
        {
            byte[] rom = _config.BiosPath is { } bios ? ReadInput(bios, "firmware") : DemoRom();
            FirmwareLoader.Map(Board.Memory, rom, _config.BiosPath is null ? "built-in demo" : Path.GetFileName(_config.BiosPath));
            _firmwareMapped = true;
        }

        Cpu.Reset();
    }

    public void PowerOff()
    {
        Exit(0);
    }

    public void Exit(int status)
    {
        _exitStatus = status;
        _stopRequested = true;
        Cpu.RequestStop();
        _wake.Set();
        // A vCPU parked by a debugger must wake up to see the request.
        Gate.Release();
    }

    public void RequestReset()
    {
        _resetRequested = true;
        Cpu.RequestStop();
        _wake.Set();
    }

    /// <summary>Asks the run loop to end with <paramref name="status"/> (Ctrl-C, the monitor's quit). Thread-safe.</summary>
    public void Stop(int status) => Exit(status);

    /// <summary>The one clock of the machine: host time, or retired instructions under --icount.</summary>
    public VirtualClock Clock { get; }

    /// <summary>Interrupts and exceptions delivered, by vector (the monitor's info irq).</summary>
    public InterruptStatistics InterruptCounts { get; } = new();

    /// <summary>The hand-over point with a debugger or monitor; guests without one never pause.</summary>
    public ExecutionGate Gate { get; }

    /// <summary>Runs the guest until it ends; returns the process exit status.</summary>
    public int Run()
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        if (_config.GuestProfilePath is { } profile)
        {
            _sampler = new GuestSampler(Cpu, () => _idle, () => Clock.Nanoseconds, profile);
        }

        int status = RunLoop();
        _sampler?.Dispose();
        FlushOutputs();
        if (_config.Statistics)
        {
            WriteStatistics(_diagnostics, watch.Elapsed);
        }

        Gate.PublishExit(status);
        return status;
    }

    private int RunLoop()
    {
        long executed = 0;
        var mode = RunCommand.Continue;
        while (true)
        {
            if (_stopRequested)
            {
                return _exitStatus;
            }

            if (Gate.PauseRequested)
            {
                FlushOutputs();
                mode = Gate.WaitForCommand(DebugStop.Interrupted);
                continue;
            }

            if (_resetRequested)
            {
                // A reset the guest asked for (ACPI reset register, 0xCF9, the 8042's pulse, port 0x92).
                _resetRequested = false;
                if (_config.NoReboot)
                {
                    // QEMU's -no-reboot: the machine exits (status 0) instead of booting again.
                    _diagnostics.WriteLine("emu: guest requested a reset; stopping (--no-reboot)");
                    return 0;
                }

                ResetMachine();
            }

            long slice = SliceInstructions;
            if (_config.MaxInstructions > 0)
            {
                slice = Math.Min(slice, _config.MaxInstructions - executed);
                if (slice <= 0)
                {
                    _diagnostics.WriteLine($"emu: stopped after {executed} instructions (instruction limit)");
                    return 0;
                }
            }

            if (Clock.Deterministic && Clock.NextDeadline is { } deadline)
            {
                // Under icount, stop the slice at the next timer deadline so the event fires on time.
                ulong now = Clock.Nanoseconds;
                slice = Math.Clamp((long)((deadline > now ? deadline - now : 0) >> Clock.Shift) + 1, 1, slice);
            }

            if (mode == RunCommand.Continue)
            {
                // Host time: a kicker thread ends the slice when the next timer falls due.
                _kicker?.Arm(Clock.NextDeadline);
            }

            ulong before = Cpu.S.InstructionsRetired;
            StopReason reason = mode == RunCommand.Step ? Cpu.Step() : Cpu.Run(slice);
            executed += (long)(Cpu.S.InstructionsRetired - before);
            _stops[reason] = _stops.GetValueOrDefault(reason) + 1;
            Clock.RunDue(); // device timer events that fell due during the slice (PIT OUT0 edges, ...)
            FlushOutputs();
            switch (reason)
            {
                case StopReason.Stepped:
                    mode = Gate.WaitForCommand(DebugStop.Stepped);
                    break;
                case StopReason.Breakpoint:
                    mode = Gate.WaitForCommand(DebugStop.AtBreakpoint);
                    break;
                case StopReason.Watchpoint:
                    mode = Gate.WaitForCommand(new DebugStop(DebugStopKind.Watchpoint, Cpu.WatchHitAddress, Cpu.WatchHitKind == Mmu.Paging.AccessKind.Write ? BreakpointKind.WriteWatch : BreakpointKind.ReadWatch));
                    break;
                case StopReason.Halted when (Cpu.S.Rflags & Flags.IF) == 0:
                    _diagnostics.WriteLine($"emu: guest halted with interrupts disabled at {Cpu.S.Cs.Selector:x4}:{Cpu.S.Rip:x}; nothing can wake it, stopping");
                    return 1;
                case StopReason.Halted when Cpu.Interrupts is null:
                    _diagnostics.WriteLine($"emu: guest halted at {Cpu.S.Cs.Selector:x4}:{Cpu.S.Rip:x} and this board has no interrupt controller to wake it yet; stopping");
                    return 1;
                case StopReason.Halted when !_interrupts.CanInterrupt:
                    // Every IRQ is masked in the IMRs (and the local APIC is off) and the vCPU thread is the only one that can unmask.
                    _diagnostics.WriteLine($"emu: guest halted at {Cpu.S.Cs.Selector:x4}:{Cpu.S.Rip:x} with every IRQ masked in the interrupt controller; nothing can wake it, stopping");
                    return 1;
                case StopReason.Halted when Clock.Deterministic && Clock.NextDeadline is { } next:
                    // Under icount a halted CPU retires nothing: jump virtual time to the next timer event.
                    Clock.WarpTo(next);
                    Clock.RunDue();
                    break;
                case StopReason.Halted:
                    {
                        // Sleep until an interrupt line, a request or the next timer event wakes the machine
                        // (the run loop itself waits for the deadline: no kick needed meanwhile).
                        _kicker?.Arm(null);
                        var wait = TimeSpan.FromMilliseconds(50);
                        if (Clock.NextDeadline is { } due)
                        {
                            ulong now = Clock.Nanoseconds;
                            wait = TimeSpan.FromTicks(Math.Min(wait.Ticks, due > now ? (long)((due - now) / 100) : 0));
                        }

                        _idle = true;
                        long idleStart = System.Diagnostics.Stopwatch.GetTimestamp();
                        _wake.Wait(wait);
                        _idleTicks += System.Diagnostics.Stopwatch.GetTimestamp() - idleStart;
                        _idle = false;
                        _wake.Reset();
                        Clock.RunDue();
                        break;
                    }
                case StopReason.TripleFault when _config.NoReboot:
                    _diagnostics.WriteLine("emu: guest triple fault; stopping (--no-reboot)");
                    return 0;
                case StopReason.TripleFault:
                    _diagnostics.WriteLine("emu: guest triple fault; resetting the machine");
                    ResetMachine();
                    break;
            }
        }
    }

    /// <summary>From any thread: stop the vCPU at the next instruction boundary and park it in <see cref="Gate"/>.</summary>
    public void Pause()
    {
        Gate.RequestPause();
        Cpu.RequestStop();
        _wake.Set();
    }

    private void OnIntrChanged(bool raised)
    {
        if (raised)
        {
            Cpu.NotifyInterrupt();
            _wake.Set();
        }
    }

    private void OnApicInterrupt()
    {
        Cpu.NotifyInterrupt();
        _wake.Set();
    }

    private void ResetMachine()
    {
        Board.Reset();
        Cpu.Reset();
        LoadGuest();
    }

    private void FlushOutputs()
    {
        _tracer?.Flush();
        foreach (var sink in _sinks)
        {
            sink.Flush();
        }
    }

    /// <summary>The --stats report: what ran where, what the JIT compiled and what it cost, the TLB, and why the CPU stopped.</summary>
    public void WriteStatistics(TextWriter w, TimeSpan elapsed)
    {
        ulong retired = Cpu.S.InstructionsRetired;
        w.WriteLine($"emu: stats: {retired} instructions retired in {elapsed.TotalSeconds:F3} s ({retired / Math.Max(elapsed.TotalSeconds, 1e-9) / 1e6:F1} M/s)");
        w.WriteLine($"emu: stats: engine {_config.Accel}; {Cpu.CompiledInstructions} instructions ran compiled, {(long)retired - Cpu.CompiledInstructions} interpreted");
        w.WriteLine($"emu: stats: blocks built {Cpu.Blocks.BlocksBuilt}, invalidated {Cpu.Blocks.Invalidations}, chained entries {Cpu.ChainedEntries}");
        if (Jit is { } jit)
        {
            var s = jit.Statistics;
            var (total, median, p99) = s.CompileTimeSummary();
            w.WriteLine($"emu: stats: jit threshold {jit.Threshold} (at exit): blocks compiled {s.BlocksCompiled} ({s.InstructionsCompiled} instructions, {s.InstructionsInlined} inline), reused {s.BlocksReused}, failed {s.Failures}, dropped {s.Invalidated}");
            w.WriteLine($"emu: stats: compile time total {total:F1} ms, median {median:F3} ms, p99 {p99:F3} ms");
            var (cpuTotal, cpuMedian, cpuP99) = s.CompileCpuTimeSummary();
            w.WriteLine($"emu: stats: compile CPU time total {cpuTotal:F1} ms, median {cpuMedian:F3} ms, p99 {cpuP99:F3} ms");
            var (_, quickMedian, quickP99) = s.CompileCpuTimeSummary(optimized: false);
            var (_, optMedian, optP99) = s.CompileCpuTimeSummary(optimized: true);
            w.WriteLine($"emu: stats: compile CPU time by tier: quick median {quickMedian:F3} ms, p99 {quickP99:F3} ms; optimized median {optMedian:F3} ms, p99 {optP99:F3} ms ({s.BlocksPromoted} promoted from quick); warm-up {s.WarmUpCpuMilliseconds:F1} ms");
            w.WriteLine($"emu: stats: compiled block entries {Cpu.CompiledEntries} ({Cpu.TranslationsChained} from the translation before), left early {Cpu.CompiledEarlyExits}");
            w.WriteLine($"emu: stats: regions compiled {s.RegionsCompiled} ({s.RegionMembers} blocks reached, {s.RegionInstructions} instructions), dropped {s.RegionsDropped}; region entries {Cpu.RegionEntries}, branches between blocks inside regions {Cpu.RegionTransitions}");
            if (HandlerProfile.Enabled)
            {
                HandlerProfile.Report(w);
            }
        }

        long hits = Cpu.Tlb.Hits, misses = Cpu.Tlb.Misses;
        w.WriteLine($"emu: stats: TLB hits {hits}, misses (walks) {misses}, hit rate {(hits + misses == 0 ? 0 : 100.0 * hits / (hits + misses)):F2}%");
        w.WriteLine($"emu: stats: halted (idle, waiting for an interrupt) {(double)_idleTicks / System.Diagnostics.Stopwatch.Frequency:F3} s");
        w.WriteLine($"emu: stats: run-loop exits: {string.Join(", ", _stops.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}"))}");
        if (_kicker is { } kicker)
        {
            w.WriteLine($"emu: stats: slices ended by a timer deadline (kicker): {kicker.Kicks}");
        }
    }

    public void Dispose()
    {
        _kicker?.Dispose();
        _sampler?.Dispose();
        _tracer?.Dispose();
        Jit?.Dispose();
        foreach (var sink in _sinks)
        {
            sink.Dispose();
        }

        // Host threads (serial input) may still drive lines: stop them reaching the disposed event.
        Board.Pic.IntrChanged -= OnIntrChanged;
        Board.Lapic.InterruptRequested -= OnApicInterrupt;
        Cpu.Dispose();
        Board.Dispose();
        _wake.Dispose();
    }
}
