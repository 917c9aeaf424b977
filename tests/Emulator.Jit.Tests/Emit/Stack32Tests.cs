using Emulator.Cpu;
using Emulator.Cpu.State;
using Emulator.TestKit;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.Tests.Emit;

/// <summary>
/// Translated 32-bit code runs PUSH, POP, CALL and RET inline for a 32-bit flat stack only
/// (Block.CompiledNeedsFlatStack). With a 16-bit stack segment (SS.B = 0) the stack pointer is SP:
/// every engine must address SS:SP and keep ESP's upper half (SDM Vol. 1 6.2.3).
/// </summary>
public class Stack32Tests
{
    [Theory]
    [MemberData(nameof(Engines.All), MemberType = typeof(Engines))]
    public void A16BitStackSegmentUsesSp(Engine engine)
    {
        using var m = new TestMachine().ProtectedMode32();
        m.Load(a =>
        {
            var sub = a.CreateLabel();
            a.push(eax);
            a.call(sub);
            a.pop(ebx);
            a.hlt();
            a.Label(ref sub);
            a.push(0x55);
            a.pop(ecx);
            a.ret();
        });
        m.S.Ss = X86Cpu.FromDescriptor(TestMachine.Data16, TestMachine.GdtEntries[TestMachine.Data16 / 8]);
        m.S.Gpr[CpuState.RSP] = 0x1234_0800;
        m.S.Gpr[CpuState.RAX] = 0xCAFE_F00D;

        // Run twice: the JIT compiles on the first entry, the second run enters the translations.
        for (int pass = 0; pass < 2; pass++)
        {
            m.S.Rip = TestMachine.CodeAddress;
            m.RunToHlt(engine);
            Assert.Equal(0x1234_0800UL, m.Reg(CpuState.RSP));
            Assert.Equal(0xCAFE_F00DUL, m.Reg(CpuState.RBX));
            Assert.Equal(0x55UL, m.Reg(CpuState.RCX));
            Assert.Equal(0xCAFE_F00DUL, m.Memory.Read(0x7FC, 4)); // SS:SP, not ESP
        }
    }
}
