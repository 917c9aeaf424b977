using Emulator.Cpu.State;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.Tests.Emit;

/// <summary>
/// Inline DIV and IDIV (BlockEmitter.Divide.cs): a division that raises #DE inside a compiled
/// loop delivers vector 0 with the division's own address pushed, on both engines. (The random
/// parity family, InlineParityTests.DivisionsMatchTheInterpreter, compares results and the stop,
/// but a test machine without an IDT turns every fault into the same triple fault.)
/// </summary>
public class DivideTests
{
    private const ulong HandlerAddress = 0x30000;

    [Theory]
    [InlineData(Engine.Interpreter, false)]
    [InlineData(Engine.Jit, false)]
    [InlineData(Engine.Interpreter, true)]
    [InlineData(Engine.Jit, true)]
    public void ADivideErrorInsideACompiledLoopIsDeliveredAtTheDivision(Engine engine, bool signed)
    {
        using var m = new TestMachine().ProtectedMode32();

        // Only vector 0 has a gate: any other fault would end in a triple fault. The handler
        // takes the pushed EIP into EBX.
        ulong gate = HandlerAddress & 0xFFFF | ((ulong)TestMachine.Code32 << 16) | (0x8EUL << 40) | ((HandlerAddress >> 16) << 48);
        m.Memory.Write(TestMachine.IdtAddress, 8, gate);
        m.S.Idtr = new TableRegister { Base = TestMachine.IdtAddress, Limit = 0x7FF };
        m.Load(a => { a.mov(ebx, __dword_ptr[esp]); a.hlt(); }, HandlerAddress);

        m.Load(a =>
        {
            var top = a.CreateLabel();
            a.mov(ecx, 100);
            a.xor(edi, edi);
            a.Label(ref top);
            a.mov(eax, 1_000_000);
            a.cdq();
            a.mov(esi, ecx);
            a.sub(esi, 50);
            if (signed)
            {
                a.idiv(esi);
            }
            else
            {
                a.div(esi);
            }

            a.add(edi, eax);
            a.dec(ecx);
            a.jnz(top);
            a.hlt();
        });

        // The division is the fifth instruction of the loop: mov ecx (5 bytes), xor (2), mov eax (5), cdq (1), mov esi (2), sub esi (3).
        ulong division = TestMachine.CodeAddress + 5 + 2 + 5 + 1 + 2 + 3;
        m.RunToHlt(engine);

        Assert.Equal(50UL, m.Reg(CpuState.RCX));
        Assert.Equal(division, m.Reg(CpuState.RBX));
        ulong expected = 0;
        for (int n = 100; n > 50; n--)
        {
            expected += 1_000_000UL / (ulong)(n - 50);
        }

        Assert.Equal(expected, m.Reg(CpuState.RDI));
        if (engine == Engine.Jit)
        {
            Assert.True(m.Cpu.CompiledInstructions > 100, $"the loop ran compiled ({m.Cpu.CompiledInstructions} instructions)");
        }
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void ADivideErrorBeforeTheLoopsFirstFlagWriterPushesTheFlagsOfTheLastIteration(Engine engine)
    {
        // The flags of "sub esi, 1" are still pending when the loop branches back (a translation
        // may carry them as a record, BlockEmitter.Carry.cs); the head's DIV, which writes no
        // flag, raises #DE in the 51st iteration: the EFLAGS image pushed must be the real one.
        using var m = new TestMachine().ProtectedMode32();
        ulong gate = HandlerAddress & 0xFFFF | ((ulong)TestMachine.Code32 << 16) | (0x8EUL << 40) | ((HandlerAddress >> 16) << 48);
        m.Memory.Write(TestMachine.IdtAddress, 8, gate);
        m.S.Idtr = new TableRegister { Base = TestMachine.IdtAddress, Limit = 0x7FF };
        m.Load(a => { a.mov(ebx, __dword_ptr[esp + 8]); a.hlt(); }, HandlerAddress);
        m.Load(a =>
        {
            var top = a.CreateLabel();
            a.mov(esi, 100);
            a.xor(edi, edi);
            a.Label(ref top);
            a.mov(eax, 1_000_000);
            a.mov(edx, 0);
            a.lea(ecx, __[esi - 50]);
            a.div(ecx);
            a.add(edi, eax);
            a.sub(esi, 1);
            a.jnz(top);
            a.hlt();
        });

        m.RunToHlt(engine);

        Assert.Equal(50UL, m.Reg(CpuState.RSI));

        // EFLAGS of "sub esi, 1" giving 50 (0b110010): every status flag clear; PF would be set
        // after 51, ZF and PF after the XOR before the loop. Bit 1 marks a real EFLAGS image.
        Assert.Equal(Flags.Reserved1, m.Reg(CpuState.RBX) & (Flags.Arith | Flags.Reserved1));
        if (engine == Engine.Jit)
        {
            Assert.True(m.Cpu.CompiledInstructions > 100, $"the loop ran compiled ({m.Cpu.CompiledInstructions} instructions)");
        }
    }
}
