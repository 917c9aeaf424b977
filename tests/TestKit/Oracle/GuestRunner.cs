using Emulator.Cpu;
using Emulator.Cpu.State;

namespace Emulator.TestKit.Oracle;

/// <summary>
/// Runs cases on our CPU, interpreter or JIT, in a <see cref="TestMachine"/> in 64-bit mode with
/// the guest wrapper of <see cref="OracleLayout"/> and an IDT whose 32 exception gates lead to its
/// capture stubs. CR0.NE is set so x87 errors are #MF as on the host (Linux runs with NE), and
/// CR4.OSFXSR, OSXMMEXCPT and (with <c>ymm</c>) OSXSAVE with XCR0 = x87|SSE|AVX, as Linux sets them.
/// </summary>
public sealed class GuestRunner : IDisposable
{
    /// <summary>The vector reported when the guest did not reach the wrapper's HLT within its budget.</summary>
    public const ulong NoHalt = 0xBAD;

    private readonly TestMachine _machine;
    private readonly Engine _engine;

    public GuestRunner(Engine engine, bool ymm)
    {
        _engine = engine;
        _machine = new TestMachine().LongMode();
        MapLikeTheHost(_machine);

        ref CpuState s = ref _machine.S;
        s.Cr0 = (s.Cr0 | ControlBits.Cr0NE | ControlBits.Cr0MP) & ~(ControlBits.Cr0TS | ControlBits.Cr0EM);
        s.Cr4 |= ControlBits.Cr4OSFXSR | ControlBits.Cr4OSXMMEXCPT | (ymm ? ControlBits.Cr4OSXSAVE : 0);
        s.Vector.Xcr0 = ymm ? 7UL : 1UL;
        _machine.LoadBytes(OracleLayout.WrapperPage(host: false, ymm), OracleLayout.Wrapper);
        for (int v = 0; v < 32; v++)
        {
            ulong handler = OracleLayout.Stubs + (ulong)(v * OracleLayout.StubStride);
            ulong low = (handler & 0xFFFF) | ((ulong)TestMachine.Code64 << 16) | (0x8EUL << 40) | ((handler >> 16 & 0xFFFF) << 48);
            _machine.Memory.Write(TestMachine.IdtAddress + (ulong)(16 * v), 8, low);
            _machine.Memory.Write(TestMachine.IdtAddress + (ulong)(16 * v) + 8, 8, handler >> 32);
        }

        s.Idtr = new TableRegister { Base = TestMachine.IdtAddress, Limit = (32 * 16) - 1 };
    }

    public TestMachine Machine => _machine;

    /// <summary>
    /// The host runner maps four 4 KiB pages (oracle-runner.c): the body and the wrapper
    /// read-write-execute, the state block and the data read-write and not executable; the rest of
    /// the low 2 MiB is unmapped, so an access that strays from the data page (BT with a negative
    /// bit offset, say) faults there. The guest's first 2 MiB get the same map through a page
    /// table of 4 KiB pages instead of the test machine's 2 MiB page, plus the GDT and IDT pages the
    /// guest's own exception delivery reads.
    /// </summary>
    private static void MapLikeTheHost(TestMachine m)
    {
        const ulong pageTable = TestMachine.PageTableAddress + 0x3000; // after the PML4, PDPT and PD
        const ulong present = 1, writable = 2, noExecute = 1UL << 63;
        for (ulong k = 0; k < 512; k++)
        {
            m.Memory.Write(pageTable + (k * 8), 8, 0);
        }

        void Map(ulong address, ulong flags) => m.Memory.Write(pageTable + ((address >> 12) * 8), 8, address | present | flags);
        Map(OracleLayout.Body, writable);
        Map(OracleLayout.Wrapper, writable);
        Map(OracleLayout.Block, writable | noExecute);
        Map(OracleLayout.Data, writable | noExecute);
        Map(TestMachine.GdtAddress, writable | noExecute);
        Map(TestMachine.IdtAddress, writable | noExecute);
        m.Memory.Write(TestMachine.PageTableAddress + 0x2000, 8, pageTable | present | writable); // PD[0]
        m.Cpu.Tlb.FlushAll();
    }

    /// <summary>Runs one case; <paramref name="state"/> is updated in place.</summary>
    public void Run(OracleState state, byte[] body)
    {
        var m = _machine;
        state.CodeLength = body.Length;
        m.Memory.WriteBytes(OracleLayout.Block, state.Block);
        m.Memory.WriteBytes(OracleLayout.Data, state.Data);
        m.Memory.WriteBytes(OracleLayout.Body, body);
        m.Log.Clear();
        ref CpuState s = ref m.S;
        s.Rip = OracleLayout.Prologue;
        s.Rflags = Flags.Reserved1;
        s.Halted = 0;
        var reason = m.Run(_engine, 20_000);
        m.Memory.ReadBytes(OracleLayout.Block, state.Block);
        m.Memory.ReadBytes(OracleLayout.Data, state.Data);
        if (reason != StopReason.Halted || s.Rip < OracleLayout.Wrapper || s.Rip > OracleLayout.Wrapper + 0x1000)
        {
            state.Vector = NoHalt;
            state.Rip = s.Rip;
        }
    }

    /// <summary>What the CPU logged during the last case (unimplemented instructions, internal errors).</summary>
    public IReadOnlyList<string> Log => _machine.Log;

    public void Dispose() => _machine.Dispose();
}
