using System.Globalization;
using Emulator.Cpu;
using Emulator.Cpu.Diagnostics;
using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.Mmu.Physical;
using Emulator.Mmu.Ports;

namespace Emulator.Machine.Diagnostics;

/// <summary>
/// Connects the categories of <see cref="TraceOptions"/> to the CPU's and buses' observers and
/// writes one line per event to the trace file (or stderr). Lines start with the category.
/// </summary>
public sealed class Tracer : IDisposable
{
    private readonly TextWriter _writer;
    private readonly bool _ownsWriter;
    private readonly TraceOptions _options;
    private readonly InstructionTracer _ranges;
    private readonly object _lock = new();

    public Tracer(TraceOptions options, TextWriter stderr)
    {
        _options = options;
        if (options.File is { } path)
        {
            try
            {
                _writer = new StreamWriter(path, append: false) { AutoFlush = false };
                _ownsWriter = true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new Config.ConfigException($"cannot open trace file {path}: {e.Message}", e);
            }
        }
        else
        {
            _writer = stderr;
        }

        _ranges = new InstructionTracer(Write, options.Syntax, options.Ranges);
    }

    public bool Has(TraceCategories category) => (_options.Categories & category) != 0;

    public void Write(string line)
    {
        lock (_lock)
        {
            _writer.WriteLine(line);
        }
    }

    /// <summary>Sets the observers for the chosen categories, chaining any observer already there.</summary>
    public void Attach(X86Cpu cpu, IoPortSpace ports, PhysicalMemory memory)
    {
        if (Has(TraceCategories.Exec))
        {
            cpu.Tracer = _ranges;
        }

        if (Has(TraceCategories.Cpu))
        {
            cpu.BlockObserver = block =>
            {
                if (_ranges.Covers(block.Key.Linear))
                {
                    Write(CpuLine(cpu));
                }
            };
        }

        if (Has(TraceCategories.Int) || Has(TraceCategories.Pf))
        {
            var previousException = cpu.ExceptionObserver;
            cpu.ExceptionObserver = (vector, error, rip) =>
            {
                previousException?.Invoke(vector, error, rip);
                if (Has(TraceCategories.Int) || vector == Vector.PF)
                {
                    string cr2 = vector == Vector.PF ? string.Create(CultureInfo.InvariantCulture, $" cr2={cpu.S.Cr2:x}") : "";
                    Write(string.Create(CultureInfo.InvariantCulture, $"{(vector == Vector.PF ? "pf" : "int")}: exception {Vector.Name(vector)} (0x{vector:x2}) error=0x{error:x} at {cpu.S.Cs.Selector:x4}:{rip:x} rsp={cpu.S.Gpr[CpuState.RSP]:x}{cr2}"));
                }
            };
        }

        if (Has(TraceCategories.Int))
        {
            var previousInterrupt = cpu.InterruptObserver;
            cpu.InterruptObserver = (vector, kind, rip) =>
            {
                previousInterrupt?.Invoke(vector, kind, rip);
                Write(string.Create(CultureInfo.InvariantCulture, $"int: {kind.ToString().ToLowerInvariant()} interrupt 0x{vector:x2} at {cpu.S.Cs.Selector:x4}:{rip:x} rsp={cpu.S.Gpr[CpuState.RSP]:x}"));
            };
        }

        if (Has(TraceCategories.Ioport))
        {
            ports.Observer = (port, size, value, write) =>
            {
                string device = ports.Lookup(port)?.Device.Name ?? "unmapped";
                Write(string.Create(CultureInfo.InvariantCulture, $"ioport: {(write ? "out" : "in ")} 0x{port:x4} size {size} value 0x{value:x} ({device})"));
            };
        }

        if (Has(TraceCategories.Mmio))
        {
            memory.MmioObserver = (address, size, value, write, region) =>
                Write(string.Create(CultureInfo.InvariantCulture, $"mmio: {(write ? "write" : "read ")} 0x{address:x} size {size} value 0x{value:x} ({region.Name} +0x{address - region.Base:x})"));
        }

        if (Has(TraceCategories.Unimp))
        {
            var previousLog = cpu.Log;
            cpu.Log = message =>
            {
                previousLog?.Invoke(message);
                if (message.StartsWith("unimplemented", StringComparison.Ordinal))
                {
                    Write("unimp: " + message);
                }
            };
        }
    }

    private static string CpuLine(X86Cpu cpu)
    {
        ref CpuState s = ref cpu.S;
        return string.Create(CultureInfo.InvariantCulture, $"cpu: rip={s.Rip:x} cs={s.Cs.Selector:x4} rfl={s.Rflags:x} rax={s.Gpr[0]:x} rbx={s.Gpr[3]:x} rcx={s.Gpr[1]:x} rdx={s.Gpr[2]:x} rsi={s.Gpr[6]:x} rdi={s.Gpr[7]:x} rbp={s.Gpr[5]:x} rsp={s.Gpr[4]:x} cr0={s.Cr0:x} cr3={s.Cr3:x} {MonitorModeName(s)}");
    }

    private static string MonitorModeName(in CpuState s) => Debugging.MonitorCommands.ModeName(s);

    public void Flush()
    {
        lock (_lock)
        {
            _writer.Flush();
        }
    }

    public void Dispose()
    {
        Flush();
        if (_ownsWriter)
        {
            _writer.Dispose();
        }
    }
}
