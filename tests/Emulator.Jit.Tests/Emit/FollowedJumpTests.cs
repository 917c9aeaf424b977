using Emulator.Cpu.Decode;
using Emulator.Cpu.State;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.Tests.Emit;

/// <summary>
/// A block goes on through a direct JMP forward within its first page (Cpu/Decode/BlockCache):
/// one block then holds code from both sides of the jump. Flags, registers, retired counts,
/// self-modifying code and the CS limit must behave as if the jump had ended the block.
/// </summary>
public class FollowedJumpTests
{
    private const ulong Target = TestMachine.CodeAddress + 0x40;

    [Theory]
    [InlineData(32)]
    [InlineData(64)]
    public void FlagsAndRegistersFlowThroughAFollowedJump(int bitness)
    {
        void Program(Assembler a)
        {
            var l1 = a.CreateLabel();
            var l2 = a.CreateLabel();
            var taken = a.CreateLabel();
            a.mov(eax, 1);
            a.jmp(l1);
            a.int3();
            a.int3();
            a.Label(ref l1);
            a.add(eax, 2);
            a.cmp(eax, 3);
            a.jmp(l2);
            a.hlt();
            a.Label(ref l2);
            a.je(taken);
            a.hlt();
            a.Label(ref taken);
            a.mov(ebx, 7);
            a.hlt();
        }

        var gpr = new ulong[16];
        gpr[CpuState.RSP] = TestMachine.StackTop;
        var outcome = EngineParity.AssertSame("followed jumps", bitness, Program, gpr, 0);
        Assert.Equal(7UL, outcome.Gpr[CpuState.RBX]);
        Assert.Equal(3UL, outcome.Gpr[CpuState.RAX]);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void CodePatchedAtAFollowedTargetIsRebuilt(Engine engine)
    {
        using var m = new TestMachine().ProtectedMode32();
        var blocks = new List<Block>();
        m.Cpu.BlockObserver = blocks.Add;
        m.Load(a =>
        {
            a.inc(edx);
            a.jmp(Target);
        });
        m.Load(
            a =>
            {
                var done = a.CreateLabel();
                a.mov(ecx, 5); // B9 imm32: the immediate is at Target + 1
                a.cmp(edx, 2);
                a.je(done);
                a.mov(__byte_ptr[Target + 1], 9);
                a.jmp(TestMachine.CodeAddress);
                a.Label(ref done);
                a.hlt();
            },
            Target);

        m.S.Gpr[CpuState.RDX] = 0; // the pass counter (reset leaves the CPU signature there)
        m.RunToHlt(engine);

        Assert.Equal(2UL, m.Reg(CpuState.RDX));
        Assert.Equal(9UL, m.Reg(CpuState.RCX));
        Assert.Contains(blocks, b => b.Instructions.Length > 2 && b.Instructions[1].Mnemonic == Mnemonic.Jmp);
    }

    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void AFollowedJumpPastTheCsLimitFaultsAtTheJump(Engine engine)
    {
        using var m = new TestMachine().ProtectedMode32();
        m.Load(a =>
        {
            a.mov(eax, 1);
            a.jmp(Target);
        });
        m.Load(a => { a.mov(ebx, 2); a.hlt(); }, Target);

        // CS limit below the target: the JMP raises #GP(0); with no IDT that is a triple fault.
        m.S.Cs.Limit = (uint)(Target - 1);
        Assert.Equal(Cpu.StopReason.TripleFault, m.Run(engine));
        Assert.Equal(1UL, m.Reg(CpuState.RAX));
        Assert.Equal(0UL, m.Reg(CpuState.RBX));
    }
}
