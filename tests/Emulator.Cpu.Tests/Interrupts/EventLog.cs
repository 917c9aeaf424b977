using Emulator.Cpu.Tests.Exceptions;
using Emulator.TestKit;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Interrupts;

/// <summary>
/// Long-mode test scaffolding for debug and interrupt tests. <see cref="Install"/> puts the
/// recording exception stubs of <see cref="LongModeIdt"/> in place (R8 = vector, R9 = pushed RIP,
/// R10 = error code, then HLT) and can replace chosen vectors with a logging handler that returns:
/// it appends (pushed RIP, pushed RFLAGS, DR6) to a log at <see cref="LogAddress"/>, counts in R12,
/// resets DR6 and IRETQs, so a program can take several events and carry on.
/// </summary>
public static class EventLog
{
    public const ulong LogAddress = 0x50000;
    public const ulong LoggingHandlerBase = 0x38000;

    /// <summary>Installs the IDT (limit for 256 vectors) and a logging handler on each of <paramref name="loggedVectors"/>.</summary>
    public static void Install(TestMachine m, params int[] loggedVectors)
    {
        LongModeIdt.Install(m);
        m.S.Idtr.Limit = (256 * 16) - 1;
        foreach (int vector in loggedVectors)
        {
            ulong handler = LoggingHandlerBase + (ulong)(vector * 0x80);
            m.Load(
                a =>
                {
                    a.push(rax);
                    a.mov(rax, __qword_ptr[rsp + 8]);
                    a.mov(__qword_ptr[r15], rax);
                    a.mov(rax, __qword_ptr[rsp + 24]);
                    a.mov(__qword_ptr[r15 + 8], rax);
                    a.mov(rax, dr6);
                    a.mov(__qword_ptr[r15 + 16], rax);
                    a.xor(eax, eax);
                    a.mov(dr6, rax);
                    a.add(r15, 24);
                    a.inc(r12);
                    a.pop(rax);
                    a.iretq();
                },
                handler);
            LongModeIdt.SetGate(m, vector, handler);
        }

        m.S.Gpr[15] = LogAddress;
        m.S.Gpr[12] = 0;
    }

    /// <summary>The number of logged events (R12).</summary>
    public static int Count(TestMachine m) => (int)m.Reg(12);

    public static (ulong Rip, ulong Rflags, ulong Dr6) Entry(TestMachine m, int index)
    {
        ulong at = LogAddress + (ulong)(24 * index);
        return (m.Memory.Read(at, 8), m.Memory.Read(at + 8, 8), m.Memory.Read(at + 16, 8));
    }

    /// <summary>
    /// Assembles straight-line parts one after another from the code address and returns where
    /// each part starts, so a test can name the instruction boundaries it expects.
    /// </summary>
    public static ulong[] LoadParts(TestMachine m, params Action<Assembler>[] parts)
    {
        var starts = new ulong[parts.Length + 1];
        ulong address = TestMachine.CodeAddress;
        for (int k = 0; k < parts.Length; k++)
        {
            starts[k] = address;
            var asm = new Assembler(m.Bitness);
            parts[k](asm);
            byte[] bytes = asm.AssembleBytes(m.Bitness == 16 ? address & 0xFFFF : address);
            m.Memory.WriteBytes(address, bytes);
            address += (ulong)bytes.Length;
        }

        starts[parts.Length] = address;
        return starts;
    }

    /// <summary>Sets EFLAGS.TF through the stack: PUSHFQ; OR [RSP], 100h; POPFQ.</summary>
    public static void SetTrapFlag(Assembler a)
    {
        a.pushfq();
        a.or(__qword_ptr[rsp], 0x100);
        a.popfq();
    }
}
