using Emulator.Cpu;
using Emulator.Cpu.State;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.Tests.Tiering;

/// <summary>
/// A debugger keeps working over compiled code: single steps and breakpoints fall back to the
/// interpreter, which checks each instruction, even when the block is compiled.
/// </summary>
public class DebuggingTests
{
    private static void Loop(Assembler a)
    {
        var loop = a.CreateLabel();
        var incLabel = a.CreateLabel();
        a.xor(eax, eax);
        a.mov(ecx, 50);
        a.Label(ref loop);
        a.add(eax, 3);
        a.Label(ref incLabel);
        a.inc(edx);
        a.dec(ecx);
        a.jnz(loop);
        a.hlt();
    }

    private static ulong AddressOf(TestMachine m, Mnemonic mnemonic)
    {
        var bytes = new byte[64];
        m.Memory.ReadBytes(TestMachine.CodeAddress, bytes);
        var decoder = Decoder.Create(64, bytes, TestMachine.CodeAddress);
        while (true)
        {
            var instruction = decoder.Decode();
            if (instruction.Mnemonic == mnemonic)
            {
                return instruction.IP;
            }
        }
    }

    [Fact]
    public void ABreakpointInsideACompiledBlockStopsThere()
    {
        using var m = new TestMachine().LongMode().Load(Loop);
        Assert.Equal(StopReason.Budget, m.Run(Engine.Jit, budget: 60));
        Assert.True(m.Cpu.CompiledInstructions > 0);

        // "inc edx" is the second instruction of the loop block.
        ulong inc = AddressOf(m, Mnemonic.Inc);
        m.Cpu.AddBreakpoint(inc);
        ulong edx = m.Reg(CpuState.RDX);
        Assert.Equal(StopReason.Breakpoint, m.Cpu.Run(1000));
        Assert.Equal(inc, m.S.Rip);

        // Continuing from the breakpoint runs exactly one more loop iteration up to it again.
        Assert.Equal(StopReason.Breakpoint, m.Cpu.Run(1000));
        Assert.Equal(inc, m.S.Rip);
        Assert.Equal(edx + 1, m.Reg(CpuState.RDX));
        m.Cpu.RemoveBreakpoint(inc);
        Assert.Equal(StopReason.Halted, m.Cpu.Run(10_000));
        Assert.Equal(0UL, m.Reg(CpuState.RCX));
    }

    [Fact]
    public void SingleSteppingACompiledBlockRetiresOneInstructionAtATime()
    {
        using var m = new TestMachine().LongMode().Load(Loop);
        Assert.Equal(StopReason.Budget, m.Run(Engine.Jit, budget: 60));
        for (int k = 0; k < 8; k++)
        {
            ulong before = m.S.InstructionsRetired;
            Assert.Equal(StopReason.Stepped, m.Cpu.Step());
            Assert.Equal(before + 1, m.S.InstructionsRetired);
        }
    }
}
