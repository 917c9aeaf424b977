using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Emulator.TestKit.SystemTables;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.SystemArchitecture;

/// <summary>
/// LAR, LSL, VERR, VERW and ARPL (SDM Vol. 3A 5.10; Vol. 2A LAR, LSL, ARPL; Vol. 2B VERR/VERW),
/// UMIP for the store-table instructions (SDM Vol. 3A 2.5) and the CPUID bits advertising them.
/// </summary>
public class PointerValidationTests
{
    private const ushort Probe = FirstFree;
    private const uint Untouched = 0xDEAD_BEEF;

    /// <summary>Each case runs one instruction with ECX preloaded with <see cref="Untouched"/>; BL = ZF afterwards.</summary>
    private static readonly Dictionary<string, (bool Ring3, ulong Descriptor, Action<Assembler> Body, bool Zf, uint Ecx)> s_cases = new()
    {
        // LAR: bits 23:20 and 15:8 of the descriptor's high doubleword (bits 19:16 are undefined: masked here).
        ["LAR of 32-bit code"] = (false, 0, Sel(TestMachine.Code32, a => a.lar(ecx, edx)), true, 0x00C0_9B00),
        ["LAR with a 16-bit destination"] = (false, 0, Sel(TestMachine.Code32, a => a.lar(cx, dx)), true, (Untouched & 0xFFFF_0000) | 0x9B00),
        ["LAR of the busy TSS"] = (false, 0, Sel(Tss, a => a.lar(ecx, edx)), true, 0x0000_8B00),
        ["LAR of a DPL-3 call gate"] = (false, CallGate(TestMachine.Code32, 0, 3), Sel(Probe, a => a.lar(ecx, edx)), true, 0x0000_EC00),
        ["LAR of the null selector"] = (false, 0, Sel(0, a => a.lar(ecx, edx)), false, Untouched),
        ["LAR past the GDT limit"] = (false, 0, Sel(0x400, a => a.lar(ecx, edx)), false, Untouched),
        ["LAR of an invalid system type"] = (false, SystemTables.System(0, 0, 0x8), Sel(Probe, a => a.lar(ecx, edx)), false, Untouched),
        ["LAR of a DPL-0 segment at CPL 3"] = (true, 0, Sel(TestMachine.Data | 3, a => a.lar(ecx, edx)), false, Untouched),
        ["LAR of a conforming DPL-0 segment at CPL 3"] = (true, Segment(0, 0xFFFFF, CodeConformingExecuteRead), Sel(Probe | 3, a => a.lar(ecx, edx)), true, 0x00C0_9F00),
        ["LAR with RPL above DPL"] = (false, 0, Sel(TestMachine.Data | 3, a => a.lar(ecx, edx)), false, Untouched),

        // LSL: the limit in bytes, scaled by G.
        ["LSL of 4 GiB code"] = (false, 0, Sel(TestMachine.Code32, a => a.lsl(ecx, edx)), true, 0xFFFF_FFFF),
        ["LSL of byte-granular data"] = (false, Segment(0, 0x1234, DataReadWrite, granular: false), Sel(Probe, a => a.lsl(ecx, edx)), true, 0x1234),
        ["LSL of 16-bit data"] = (false, 0, Sel(TestMachine.Data16, a => a.lsl(ecx, edx)), true, 0xFFFF),
        ["LSL of the TSS"] = (false, 0, Sel(Tss, a => a.lsl(ecx, edx)), true, 0x67),
        ["LSL of a call gate"] = (false, CallGate(TestMachine.Code32, 0, 3), Sel(Probe, a => a.lsl(ecx, edx)), false, Untouched),

        // VERR / VERW.
        ["VERR of readable code"] = (false, 0, Sel(TestMachine.Code32, a => a.verr(dx)), true, Untouched),
        ["VERR of execute-only code"] = (false, Segment(0, 0xFFFFF, CodeExecuteOnly), Sel(Probe, a => a.verr(dx)), false, Untouched),
        ["VERW of code"] = (false, 0, Sel(TestMachine.Code32, a => a.verw(dx)), false, Untouched),
        ["VERW of writable data"] = (false, 0, Sel(TestMachine.Data, a => a.verw(dx)), true, Untouched),
        ["VERW of read-only data"] = (false, Segment(0, 0xFFFFF, DataReadOnly), Sel(Probe, a => a.verw(dx)), false, Untouched),
        ["VERR of DPL-0 data at CPL 3"] = (true, 0, Sel(TestMachine.Data | 3, a => a.verr(dx)), false, Untouched),
        ["VERW of DPL-3 data at CPL 3"] = (true, 0, Sel(UserData | 3, a => a.verw(dx)), true, Untouched),
        ["VERR of a conforming DPL-0 code segment at CPL 3"] = (true, Segment(0, 0xFFFFF, CodeConformingExecuteRead), Sel(Probe | 3, a => a.verr(dx)), true, Untouched),
        ["VERR of the null selector"] = (false, 0, Sel(0, a => a.verr(dx)), false, Untouched),

        // ARPL: raises the destination's RPL to the source's.
        ["ARPL raises the RPL"] = (false, 0, a => { a.mov(ecx, 0x10); a.mov(edx, 0x33); a.arpl(cx, dx); }, true, 0x13),
        ["ARPL keeps a higher RPL"] = (false, 0, a => { a.mov(ecx, 0x13); a.mov(edx, 0x31); a.arpl(cx, dx); }, false, 0x13),
    };

    /// <summary>Loads the selector into EDX, then runs the instruction.</summary>
    private static Action<Assembler> Sel(int selector, Action<Assembler> instruction) => a =>
    {
        a.mov(edx, selector);
        instruction(a);
    };

    public static TheoryData<Engine, string> Cases
    {
        get
        {
            var data = new TheoryData<Engine, string>();
            foreach (var engine in Enum.GetValues<Engine>())
            {
                foreach (string name in s_cases.Keys)
                {
                    data.Add(engine, name);
                }
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void PointerValidation(Engine engine, string name)
    {
        var (ring3, descriptor, body, zf, expected) = s_cases[name];
        using var m = new TestMachine().ProtectedMode32();
        ProtectedModeIdt.Install(m);
        InstallRing3(m);
        SetGdt(m, Probe, descriptor);
        m.Load(a =>
        {
            a.mov(ecx, Untouched);
            a.stc(); // ZF is set or cleared, never left: start from ZF = the opposite of the expectation
            a.mov(ebx, zf ? 0 : 1);
            a.cmp(ebx, 1);
            body(a);
            a.setz(bl);
            a.hlt();
        });
        if (ring3)
        {
            EnterRing3(m);
        }

        m.RunToHlt(engine);
        Assert.Equal(zf ? 1UL : 0UL, m.Reg(CpuState.RBX) & 0xFF);
        uint result = (uint)m.Reg(CpuState.RCX);
        Assert.Equal(expected, name.StartsWith("LAR", StringComparison.Ordinal) && !name.Contains("16-bit", StringComparison.Ordinal) && zf ? result & 0xFFF0_FFFF : result);
    }

    [Theory]
    [InlineData(Engine.Interpreter, "LAR")]
    [InlineData(Engine.Interpreter, "VERR")]
    [InlineData(Engine.Interpreter, "ARPL")]
    public void PointerValidationIsUndefinedInRealMode(Engine engine, string mnemonic)
    {
        // SDM Vol. 2A/2B, "Real-Address Mode Exceptions": #UD.
        using var m = new TestMachine().RealMode();
        m.Memory.Write(Vector.UD * 4, 4, 0x0000_3000);
        m.Load(a => a.hlt(), 0x3000);
        m.Load(a =>
        {
            switch (mnemonic)
            {
                case "LAR": a.lar(cx, dx); break;
                case "VERR": a.verr(dx); break;
                default: a.arpl(cx, dx); break;
            }

            a.hlt();
        }).RunToHlt(engine);
        Assert.Equal(0x3001UL, m.S.Rip);
    }

    [Theory]
    [InlineData(Engine.Interpreter, "SGDT", true, true)]
    [InlineData(Engine.Interpreter, "SIDT", true, true)]
    [InlineData(Engine.Interpreter, "SLDT", true, true)]
    [InlineData(Engine.Interpreter, "STR", true, true)]
    [InlineData(Engine.Interpreter, "SMSW", true, true)]
    [InlineData(Engine.Interpreter, "SGDT", false, false)]
    [InlineData(Engine.Interpreter, "STR", false, false)]
    public void UmipStopsStoresOfSystemRegistersAboveCplZero(Engine engine, string mnemonic, bool umip, bool faults)
    {
        // SDM Vol. 3A 2.5 (CR4.UMIP): SGDT, SIDT, SLDT, SMSW and STR at CPL > 0 are #GP(0).
        using var m = new TestMachine().ProtectedMode32();
        ProtectedModeIdt.Install(m);
        InstallRing3(m);
        if (umip)
        {
            m.S.Cr4 |= ControlBits.Cr4UMIP;
        }

        m.Load(a =>
        {
            switch (mnemonic)
            {
                case "SGDT": a.sgdt(__dword_ptr[TestMachine.DataAddress]); break;
                case "SIDT": a.sidt(__dword_ptr[TestMachine.DataAddress]); break;
                case "SLDT": a.sldt(cx); break;
                case "STR": a.str(cx); break;
                default: a.smsw(cx); break;
            }

            a.mov(edx, 0x77);
            a.hlt();
        });
        EnterRing3(m);
        m.S.Gpr[CpuState.RDX] = 0;
        m.RunToHlt(engine);
        Assert.Equal((uint)Vector.GP, ProtectedModeIdt.RecordedVector(m));
        Assert.Equal(faults ? (uint)TestMachine.CodeAddress : 0u, faults ? ProtectedModeIdt.FaultEip(m) : 0u);
        Assert.Equal(faults ? 0UL : 0x77UL, m.Reg(CpuState.RDX));
        if (!faults && mnemonic == "STR")
        {
            Assert.Equal((ulong)Tss, m.Reg(CpuState.RCX) & 0xFFFF);
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void UmipAllowsStoresAtCplZero(Engine engine)
    {
        using var m = new TestMachine().ProtectedMode32();
        m.S.Cr4 |= ControlBits.Cr4UMIP;
        m.Load(a =>
        {
            a.sgdt(__dword_ptr[TestMachine.DataAddress]);
            a.hlt();
        }).RunToHlt(engine);
        Assert.Equal(TestMachine.GdtAddress, m.Memory.Read(TestMachine.DataAddress + 2, 4));
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void CpuidAdvertisesSepSyscallAndUmip(Engine engine)
    {
        // SDM Vol. 2A CPUID: leaf 1 EDX bit 11 (SEP), leaf 80000001h EDX bit 11 (SYSCALL), leaf 7 ECX bit 2 (UMIP).
        using var m = new TestMachine().LongMode();
        m.Load(a =>
        {
            a.mov(eax, 1);
            a.cpuid();
            a.mov(r8d, edx);
            a.mov(eax, 0x8000_0001);
            a.cpuid();
            a.mov(r9d, edx);
            a.mov(eax, 7);
            a.xor(ecx, ecx);
            a.cpuid();
            a.mov(r10d, ecx);
            a.hlt();
        }).RunToHlt(engine);
        Assert.NotEqual(0UL, m.Reg(8) & (1 << 11));
        Assert.NotEqual(0UL, m.Reg(9) & (1 << 11));
        Assert.NotEqual(0UL, m.Reg(10) & (1 << 2));
    }
}
