using Emulator.Cpu.Decode;
using Emulator.Cpu.State;
using Emulator.Mmu.Paging;
using Emulator.Mmu.Physical;
using Emulator.Mmu.Ports;

namespace Emulator.Cpu;

/// <summary>
/// One virtual x86-64 processor: its state, its view of memory (segmentation, paging and the
/// software TLB), and the tier-0 interpreter. Split by concern over several files
/// (X86Cpu.Memory.cs, X86Cpu.Operands.cs, X86Cpu.Exceptions.cs, X86Cpu.Segments.cs,
/// X86Cpu.Run.cs); instruction semantics live in Instructions/.
/// </summary>
public sealed unsafe partial class X86Cpu : IDisposable
{
    private readonly CpuStateBlock _stateBlock = new();
    private readonly HashSet<Iced.Intel.Code> _reportedUnimplemented = [];
    private volatile bool _stopRequested;

    public X86Cpu(PhysicalMemory memory, IoPortSpace ports)
    {
        _state = _stateBlock.Pointer;
        Memory = memory;
        Ports = ports;
        Blocks = new BlockCache(this);
        Memory.CodeModified += Blocks.InvalidateRange;
        Memory.A20Changed += OnA20Changed;
        Reset();
    }

    /// <summary>
    /// The A20 gate changed (a device write, on this CPU's thread): cached translations hold gated
    /// physical addresses, so drop them, and leave the block so the next fetch translates again.
    /// </summary>
    private void OnA20Changed()
    {
        Tlb.FlushAll();
        EndBlock();
    }

    // The state block's pointer, kept here so that every state access is one load from this
    // object (the interpreter makes several per guest instruction); null after Dispose.
    private CpuState* _state;

    /// <summary>The architectural state, in native memory.</summary>
    public ref CpuState S => ref *_state;

    public CpuState* StatePointer => _state;

    public PhysicalMemory Memory { get; }

    public IoPortSpace Ports { get; }

    public Tlb Tlb { get; } = new();

    public BlockCache Blocks { get; }

    /// <summary>External interrupts come from here; null means the INTR pin is never asserted.</summary>
    public IInterruptSource? Interrupts { get; set; }

    /// <summary>Device-owned MSRs (the local APIC's); null means only the CPU's own MSRs exist.</summary>
    public IMsrDevice? MsrDevice { get; set; }

    /// <summary>Receives one line per notable event (unimplemented instructions, triple faults).</summary>
    public Action<string>? Log { get; set; }

    /// <summary>The CPUID model this CPU reports.</summary>
    public CpuidModel Cpuid { get; } = new();

    /// <summary>The CPU model (<c>--cpu</c>): sets the CPUID bits it decides and drops decoded blocks, which the feature gate shaped.</summary>
    public CpuModel Model
    {
        get => Cpuid.Model;
        set
        {
            Cpuid.Apply(value);
            Blocks.Clear();
        }
    }

    /// <summary>The machine-check banks (reported by CPUID.1:EDX.MCA).</summary>
    public MachineCheck MachineCheck { get; } = new();

    /// <summary>Time source for RDTSC, in ticks of the nominal TSC frequency. Defaults to host time.</summary>
    public Func<ulong> TimeStampCounter { get; set; } = CpuidModel.HostTsc;

    public void Reset()
    {
        S.Reset();
        MachineCheck.Reset();
        Tlb.FlushAll();
        Blocks.Clear();
        ClearFault();
    }

    /// <summary>Asks a running <see cref="Run"/> to return at the next instruction boundary. Thread-safe.</summary>
    public void RequestStop()
    {
        _stopRequested = true;
        NotifyInterrupt();
    }

    /// <summary>The paging mode the control registers select (SDM Vol. 3A 4.1.1).</summary>
    public PagingMode PagingMode
    {
        get
        {
            ref CpuState s = ref S;
            if ((s.Cr0 & ControlBits.Cr0PG) == 0)
            {
                return PagingMode.None;
            }

            if ((s.Cr4 & ControlBits.Cr4PAE) == 0)
            {
                return PagingMode.Legacy32;
            }

            return (s.Efer & ControlBits.EferLMA) != 0 ? PagingMode.Level4 : PagingMode.Pae;
        }
    }

    public PagingContext PagingContext
    {
        get
        {
            ref CpuState s = ref S;
            return new PagingContext(
                PagingMode,
                s.Cr3,
                WriteProtect: (s.Cr0 & ControlBits.Cr0WP) != 0,
                NoExecute: (s.Efer & ControlBits.EferNXE) != 0,
                PageSizeExtensions: (s.Cr4 & ControlBits.Cr4PSE) != 0,
                GlobalPages: (s.Cr4 & ControlBits.Cr4PGE) != 0,
                Smep: (s.Cr4 & ControlBits.Cr4SMEP) != 0,
                Smap: (s.Cr4 & ControlBits.Cr4SMAP) != 0,
                AlignmentCheckFlag: (s.Rflags & Flags.AC) != 0,
                Pdptes: PagingMode == PagingMode.Pae ? CurrentPdptes() : null);
        }
    }

    /// <summary>The PDPTE registers, loaded from CR3 first if nothing has loaded them (SDM Vol. 3A 4.4.1).</summary>
    private PdpteRegisters CurrentPdptes()
    {
        ref CpuState s = ref S;
        if (s.PdptesLoaded == 0)
        {
            s.Pdpte = ReadPdptes(s.Cr3);
            s.PdptesLoaded = 1;
        }

        return s.Pdpte;
    }

    /// <summary>The four PDPTEs of the table at CR3[31:5] (SDM Vol. 3A 4.4.1, table 4-7).</summary>
    public PdpteRegisters ReadPdptes(ulong cr3)
    {
        var pdptes = default(PdpteRegisters);
        ulong table = cr3 & 0xFFFF_FFE0;
        for (int k = 0; k < 4; k++)
        {
            pdptes[k] = Memory.Read(table + (ulong)(8 * k), 8);
        }

        return pdptes;
    }

    /// <summary>
    /// Loads the PDPTE registers from the table at <paramref name="cr3"/>, as MOV to CR0, CR3 or CR4
    /// does under PAE paging. A present PDPTE with a reserved bit set makes the instruction #GP(0)
    /// with no effect (SDM Vol. 3A 4.4.1): then this returns false, changes nothing, and the caller
    /// raises the fault.
    /// </summary>
    public bool TryLoadPdptes(ulong cr3)
    {
        var pdptes = ReadPdptes(cr3);
        for (int k = 0; k < 4; k++)
        {
            if (PageWalker.IsPdpteReserved(pdptes[k]))
            {
                return false;
            }
        }

        S.Pdpte = pdptes;
        S.PdptesLoaded = 1;
        return true;
    }

    internal void ReportUnimplemented(in Iced.Intel.Instruction instruction)
    {
        if (_reportedUnimplemented.Add(instruction.Code))
        {
            Log?.Invoke($"unimplemented instruction {instruction.Code} ({instruction}) at {S.Cs.Base + S.Rip:x}: raising #UD");
        }
    }

    public void Dispose()
    {
        Memory.CodeModified -= Blocks.InvalidateRange;
        Memory.A20Changed -= OnA20Changed;
        _state = null;
        _stateBlock.Dispose();
    }
}
