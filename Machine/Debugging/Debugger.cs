using Emulator.Cpu;
using Emulator.Cpu.State;
using Emulator.Mmu.Paging;

namespace Emulator.Machine.Debugging;

/// <summary>
/// The debugger core (DESIGN.md puts it in Machine): <see cref="IDebugTarget"/> over one VM.
/// Every call that looks at state first makes sure the vCPU is parked in the
/// <see cref="ExecutionGate"/>, so front ends may call it whenever they like.
/// </summary>
public sealed class Debugger : IDebugTarget
{
    private readonly VirtualMachine _vm;
    private readonly HashSet<(BreakpointKind Kind, ulong Address, int Length)> _inserted = [];

    public Debugger(VirtualMachine vm)
    {
        _vm = vm;
        Monitor = new MonitorCommands(vm, this);
    }

    public MonitorCommands Monitor { get; }

    private X86Cpu Cpu => _vm.Cpu;

    public int Bitness
    {
        get
        {
            EnsureStopped();
            return Cpu.S.Bitness;
        }
    }

    /// <summary>Parks the vCPU if it is running; returns the stop it reported.</summary>
    public DebugStop EnsureStopped()
    {
        if (_vm.Gate.Exit is { } exit)
        {
            return exit;
        }

        if (!_vm.Gate.IsPaused)
        {
            _vm.Pause();
        }

        return _vm.Gate.WaitUntilPaused();
    }

    public ulong GetRegister(DebugRegister register)
    {
        EnsureStopped();
        ref CpuState s = ref Cpu.S;
        return register switch
        {
            >= DebugRegister.Rax and <= DebugRegister.R15 => s.Gpr[GprIndex(register)],
            DebugRegister.Rip => s.Rip,
            DebugRegister.Rflags => s.Rflags,
            DebugRegister.Cs => s.Cs.Selector,
            DebugRegister.Ss => s.Ss.Selector,
            DebugRegister.Ds => s.Ds.Selector,
            DebugRegister.Es => s.Es.Selector,
            DebugRegister.Fs => s.Fs.Selector,
            DebugRegister.Gs => s.Gs.Selector,
            DebugRegister.FsBase => s.Fs.Base,
            DebugRegister.GsBase => s.Gs.Base,
            DebugRegister.KernelGsBase => s.KernelGsBase,
            DebugRegister.Cr0 => s.Cr0,
            DebugRegister.Cr2 => s.Cr2,
            DebugRegister.Cr3 => s.Cr3,
            DebugRegister.Cr4 => s.Cr4,
            DebugRegister.Cr8 => s.Cr8,
            DebugRegister.Efer => s.Efer,
            _ => 0,
        };
    }

    /// <summary>GDB's order (rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp) to the SDM's encoding order.</summary>
    private static int GprIndex(DebugRegister register) => register switch
    {
        DebugRegister.Rax => CpuState.RAX,
        DebugRegister.Rbx => CpuState.RBX,
        DebugRegister.Rcx => CpuState.RCX,
        DebugRegister.Rdx => CpuState.RDX,
        DebugRegister.Rsi => CpuState.RSI,
        DebugRegister.Rdi => CpuState.RDI,
        DebugRegister.Rbp => CpuState.RBP,
        DebugRegister.Rsp => CpuState.RSP,
        _ => 8 + (register - DebugRegister.R8),
    };

    public bool SetRegister(DebugRegister register, ulong value)
    {
        EnsureStopped();
        ref CpuState s = ref Cpu.S;
        switch (register)
        {
            case >= DebugRegister.Rax and <= DebugRegister.R15:
                s.Gpr[GprIndex(register)] = value;
                return true;
            case DebugRegister.Rip:
                if (s.Bitness == 64 && !X86Cpu.IsCanonical(value))
                {
                    return false;
                }

                s.Rip = s.Bitness == 64 ? value : value & 0xFFFFFFFF;
                return true;
            case DebugRegister.Rflags:
                s.Rflags = (value & 0x3F7FD5) | Flags.Reserved1;
                return true;
            case DebugRegister.Cs:
                return value == s.Cs.Selector;
            case DebugRegister.Ss or DebugRegister.Ds or DebugRegister.Es or DebugRegister.Fs or DebugRegister.Gs:
                {
                    var seg = register switch
                    {
                        DebugRegister.Ss => Seg.SS,
                        DebugRegister.Ds => Seg.DS,
                        DebugRegister.Es => Seg.ES,
                        DebugRegister.Fs => Seg.FS,
                        _ => Seg.GS,
                    };
                    if (value == s.Segment(seg).Selector)
                    {
                        return true;
                    }

                    // Load it as the guest would, descriptor checks included; a refusal changes nothing.
                    bool loaded = Cpu.LoadSegment(seg, (ushort)value);
                    Cpu.ClearFault();
                    return loaded;
                }

            case DebugRegister.FsBase:
                s.Fs.Base = value;
                return true;
            case DebugRegister.GsBase:
                s.Gs.Base = value;
                return true;
            case DebugRegister.KernelGsBase:
                s.KernelGsBase = value;
                return true;
            case DebugRegister.Cr2:
                s.Cr2 = value;
                return true;
            case DebugRegister.Cr0 or DebugRegister.Cr3 or DebugRegister.Cr4 or DebugRegister.Cr8 or DebugRegister.Efer:
                if (GetRegister(register) == value)
                {
                    return true;
                }

                // Control registers change what every translation means: drop cached ones.
                switch (register)
                {
                    case DebugRegister.Cr0: s.Cr0 = value; break;
                    case DebugRegister.Cr3: s.Cr3 = value; break;
                    case DebugRegister.Cr4: s.Cr4 = value; break;
                    case DebugRegister.Cr8: s.Cr8 = value & 0xF; break;
                    default: s.Efer = value; break;
                }

                // The PDPTE registers are reloaded from the (possibly new) CR3 at the next PAE walk.
                s.PdptesLoaded = 0;
                Cpu.Tlb.FlushAll();
                return true;
            default:
                return false;
        }
    }

    public int ReadMemory(ulong address, Span<byte> buffer)
    {
        EnsureStopped();
        int done = 0;
        while (done < buffer.Length)
        {
            ulong linear = address + (ulong)done;
            if (!Cpu.TranslateForDebugger(linear, out ulong physical))
            {
                break;
            }

            int chunk = (int)Math.Min(0x1000 - (linear & 0xFFF), (ulong)(buffer.Length - done));
            Cpu.Memory.ReadBytes(physical, buffer.Slice(done, chunk));
            done += chunk;
        }

        return done;
    }

    public int WriteMemory(ulong address, ReadOnlySpan<byte> data)
    {
        EnsureStopped();
        int done = 0;
        while (done < data.Length)
        {
            ulong linear = address + (ulong)done;
            if (!Cpu.TranslateForDebugger(linear, out ulong physical))
            {
                break;
            }

            int chunk = (int)Math.Min(0x1000 - (linear & 0xFFF), (ulong)(data.Length - done));
            // Through the physical map, so writes to code pages drop the blocks decoded from them.
            Cpu.Memory.WriteBytes(physical, data.Slice(done, chunk));
            done += chunk;
        }

        return done;
    }

    public bool InsertBreakpoint(BreakpointKind kind, ulong address, int length)
    {
        EnsureStopped();
        if (length <= 0 || length > 8 && kind is not (BreakpointKind.Software or BreakpointKind.Hardware))
        {
            return false;
        }

        if (!_inserted.Add((kind, address, length)))
        {
            return true;
        }

        switch (kind)
        {
            case BreakpointKind.Software:
            case BreakpointKind.Hardware:
                Cpu.AddBreakpoint(address);
                break;
            default:
                Cpu.AddWatchpoint(address, (ulong)length, kind == BreakpointKind.ReadWatch ? AccessKind.Read : AccessKind.Write, any: kind == BreakpointKind.AccessWatch);
                break;
        }

        return true;
    }

    public bool RemoveBreakpoint(BreakpointKind kind, ulong address, int length)
    {
        EnsureStopped();
        if (!_inserted.Remove((kind, address, length)))
        {
            return false;
        }

        switch (kind)
        {
            case BreakpointKind.Software:
            case BreakpointKind.Hardware:
                // Software and hardware breakpoints share the CPU's set; keep it while either remains.
                if (!_inserted.Contains((BreakpointKind.Software, address, length)) && !_inserted.Contains((BreakpointKind.Hardware, address, length)))
                {
                    Cpu.RemoveBreakpoint(address);
                }

                return true;
            default:
                return Cpu.RemoveWatchpoint(address, (ulong)length, kind == BreakpointKind.ReadWatch ? AccessKind.Read : AccessKind.Write, any: kind == BreakpointKind.AccessWatch);
        }
    }

    public DebugStop Continue()
    {
        EnsureStopped();
        return _vm.Gate.Resume(RunCommand.Continue);
    }

    public DebugStop Step()
    {
        EnsureStopped();
        return _vm.Gate.Resume(RunCommand.Step);
    }

    public void Interrupt() => _vm.Pause();

    /// <summary>Lets the guest run on without waiting for it (GDB's detach).</summary>
    public void Detach()
    {
        foreach (var (kind, address, length) in _inserted.ToList())
        {
            RemoveBreakpoint(kind, address, length);
        }

        _vm.Gate.Release();
    }

    string IDebugTarget.Monitor(string command) => Monitor.Execute(command);
}
