using System.Globalization;
using System.Text;
using Emulator.Cpu.Diagnostics;
using Emulator.Cpu.State;

namespace Emulator.Machine.Debugging;

/// <summary>
/// The human monitor, after QEMU's HMP: <c>info registers|tlb|mem|mtree|irq</c>, <c>x</c> and
/// <c>xp</c> memory dumps, <c>stop</c>, <c>cont</c>, <c>step</c>, <c>system_reset</c>, <c>quit</c>.
/// Commands that look at state pause the vCPU for the moment they need it.
/// </summary>
public sealed class MonitorCommands
{
    private readonly VirtualMachine _vm;
    private readonly Debugger _debugger;

    public MonitorCommands(VirtualMachine vm, Debugger debugger)
    {
        _vm = vm;
        _debugger = debugger;
    }

    public const string Help = """
        info registers      CPU registers
        info tlb            virtual to physical mappings of the current page tables, a page a line
        info mem            mapped virtual ranges with their rights
        info mtree          the physical memory map and the I/O port map
        info irq            interrupts and exceptions delivered, by vector
        x /Nf ADDR          N units at guest-virtual ADDR; f: x (hex bytes), w (32-bit words), g (64-bit), i (instructions)
        xp /Nf ADDR         the same at guest-physical ADDR
        stop | cont | step  pause, resume, execute one instruction
        system_reset        reset the machine
        quit                stop the emulator
        """;

    /// <summary>Runs one command line and returns its output (ending in a newline when not empty).</summary>
    public string Execute(string line)
    {
        string[] words = line.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0)
        {
            return "";
        }

        try
        {
            return (words[0], words.Length > 1 ? words[1] : "") switch
            {
                ("help" or "?", _) => Help + "\n",
                ("info", "registers" or "r") => WhileStopped(Registers),
                ("info", "tlb") => WhileStopped(() => PageTableDump.Pages(_vm.Cpu)),
                ("info", "mem") => WhileStopped(() => PageTableDump.Ranges(_vm.Cpu)),
                ("info", "mtree") => _vm.Board.DescribeMap(),
                ("info", "irq") => _vm.InterruptCounts.Describe(),
                ("x" or "xp", _) => WhileStopped(() => Examine(words, physical: words[0] == "xp")),
                ("stop", _) => Stop(),
                ("cont" or "c", _) => Continue(),
                ("step" or "s", _) => StepOne(),
                ("system_reset", _) => Reset(),
                ("quit" or "q", _) => Quit(),
                _ => $"unknown command: '{line.Trim()}' (try help)\n",
            };
        }
        catch (FormatException e)
        {
            return $"{e.Message}\n";
        }
    }

    /// <summary>Runs <paramref name="look"/> with the vCPU parked, resuming it afterwards if it was running.</summary>
    private string WhileStopped(Func<string> look)
    {
        bool wasRunning = !_vm.Gate.IsPaused && _vm.Gate.Exit is null;
        _debugger.EnsureStopped();
        try
        {
            return look();
        }
        finally
        {
            if (wasRunning)
            {
                _vm.Gate.Release();
            }
        }
    }

    private string Stop()
    {
        _debugger.EnsureStopped();
        return "";
    }

    private string Continue()
    {
        _debugger.EnsureStopped();
        _vm.Gate.Release();
        return "";
    }

    private string StepOne()
    {
        var stop = _debugger.Step();
        return stop.Kind == DebugStopKind.Exited ? $"guest exited with status {stop.ExitStatus}\n" : Registers();
    }

    private string Reset()
    {
        _vm.RequestReset();
        return "";
    }

    private string Quit()
    {
        _vm.Stop(0);
        return "";
    }

    private string Registers()
    {
        ref CpuState s = ref _vm.Cpu.S;
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"RAX={s.Gpr[0]:x16} RBX={s.Gpr[3]:x16} RCX={s.Gpr[1]:x16} RDX={s.Gpr[2]:x16}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"RSI={s.Gpr[6]:x16} RDI={s.Gpr[7]:x16} RBP={s.Gpr[5]:x16} RSP={s.Gpr[4]:x16}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"R8 ={s.Gpr[8]:x16} R9 ={s.Gpr[9]:x16} R10={s.Gpr[10]:x16} R11={s.Gpr[11]:x16}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"R12={s.Gpr[12]:x16} R13={s.Gpr[13]:x16} R14={s.Gpr[14]:x16} R15={s.Gpr[15]:x16}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"RIP={s.Rip:x16} RFL={s.Rflags:x8} CPL={s.Cpl} {ModeName(s)} HLT={s.Halted}");
        foreach (Seg seg in Enum.GetValues<Seg>())
        {
            ref SegmentRegister r = ref s.Segment(seg);
            sb.AppendLine(CultureInfo.InvariantCulture, $"{seg,-4}={r.Selector:x4} {r.Base:x16} {r.Limit:x8} {r.Attributes:x4}");
        }

        sb.AppendLine(CultureInfo.InvariantCulture, $"GDT=     {s.Gdtr.Base:x16} {s.Gdtr.Limit:x8}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"IDT=     {s.Idtr.Base:x16} {s.Idtr.Limit:x8}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"CR0={s.Cr0:x8} CR2={s.Cr2:x16} CR3={s.Cr3:x16} CR4={s.Cr4:x8}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"EFER={s.Efer:x16} CR8={s.Cr8:x} instructions={s.InstructionsRetired}");
        return sb.ToString();
    }

    public static string ModeName(in CpuState s) => !s.ProtectedMode ? "real" : (s.Rflags & Flags.VM) != 0 ? "vm86" : s.Bitness switch
    {
        64 => "long-64",
        32 when s.LongModeActive => "compat-32",
        16 when s.LongModeActive => "compat-16",
        32 => "prot-32",
        _ => "prot-16",
    };

    /// <summary>x /Nf ADDR and xp /Nf ADDR.</summary>
    private string Examine(string[] words, bool physical)
    {
        int count = 1;
        char format = 'x';
        string? addressText = null;
        foreach (string word in words.Skip(1))
        {
            if (word.StartsWith('/'))
            {
                string spec = word[1..];
                int digits = spec.TakeWhile(char.IsAsciiDigit).Count();
                count = digits > 0 ? int.Parse(spec[..digits], CultureInfo.InvariantCulture) : 1;
                format = digits < spec.Length ? spec[digits] : 'x';
            }
            else
            {
                addressText = word;
            }
        }

        if (addressText is null || !TryParseAddress(addressText, out ulong address))
        {
            throw new FormatException($"usage: {words[0]} /Nf ADDR (ADDR in hex with 0x, or decimal)");
        }

        int unit = format switch { 'w' => 4, 'g' => 8, 'h' => 2, 'i' => 1, _ => 1 };
        count = Math.Clamp(count, 1, 4096);
        var bytes = new byte[format == 'i' ? count * 15 : count * unit];
        int read = physical ? ReadPhysical(address, bytes) : _debugger.ReadMemory(address, bytes);
        if (read == 0)
        {
            return $"cannot access memory at 0x{address:x}\n";
        }

        if (format == 'i')
        {
            // Decode with the current code size; the IP Iced sees is the offset within CS, as RIP is.
            ulong csBase = _vm.Cpu.CodeLinear - _vm.Cpu.S.Rip;
            return new Disassembler().Listing(bytes, read, _vm.Cpu.S.Bitness, physical ? address : address - csBase, address, count);
        }

        var sb = new StringBuilder();
        for (int offset = 0; offset + unit <= read; offset += unit)
        {
            if (offset % 16 == 0)
            {
                sb.Append(CultureInfo.InvariantCulture, $"{address + (ulong)offset:x16}:");
            }

            ulong value = 0;
            for (int b = unit - 1; b >= 0; b--)
            {
                value = (value << 8) | bytes[offset + b];
            }

            sb.Append(' ').Append(value.ToString("x" + (unit * 2).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture));
            if (offset % 16 == 16 - unit || offset + unit + unit > read)
            {
                sb.AppendLine();
            }
        }

        return sb.ToString();
    }

    private int ReadPhysical(ulong address, Span<byte> buffer)
    {
        _vm.Cpu.Memory.ReadBytes(address, buffer);
        return buffer.Length;
    }

    public static bool TryParseAddress(string text, out ulong value) =>
        text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value)
            : ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}
