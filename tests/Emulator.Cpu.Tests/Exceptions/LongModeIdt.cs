using Emulator.Cpu.Exceptions;
using Emulator.TestKit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Exceptions;

/// <summary>
/// A 64-bit IDT for exception tests (SDM Vol. 3A 6.14.1, figure 6-8: 16-byte interrupt gates).
/// Each of the 32 exception vectors gets a stub that records what the CPU pushed and halts:
/// R8 = vector, R9 = pushed RIP, R10 = error code (or all ones), R11 = CR2.
/// </summary>
public static class LongModeIdt
{
    public const ulong HandlerBase = 0x30000;
    public const int HandlerStride = 0x40;
    public const ulong NoErrorCode = ulong.MaxValue;

    public static ulong Handler(int vector) => HandlerBase + (ulong)(vector * HandlerStride);

    /// <summary>Writes the IDT, its stubs and loads IDTR (limit covers 32 vectors).</summary>
    public static void Install(TestMachine m)
    {
        for (int v = 0; v < 32; v++)
        {
            int vector = v;
            m.Load(
                a =>
                {
                    a.mov(r8, vector);
                    if (Vector.HasErrorCode(vector))
                    {
                        a.mov(r10, __qword_ptr[rsp]);
                        a.mov(r9, __qword_ptr[rsp + 8]);
                    }
                    else
                    {
                        a.mov(r10, -1);
                        a.mov(r9, __qword_ptr[rsp]);
                    }

                    a.mov(r11, cr2);
                    a.hlt();
                },
                Handler(vector));
            SetGate(m, vector, Handler(vector));
        }

        m.S.Idtr = new Emulator.Cpu.State.TableRegister { Base = TestMachine.IdtAddress, Limit = (32 * 16) - 1 };
    }

    /// <summary>A present 64-bit interrupt gate (type 0Eh, DPL 0) to <paramref name="handler"/> in the 64-bit code segment.</summary>
    public static void SetGate(TestMachine m, int vector, ulong handler, bool present = true)
    {
        ulong low = (handler & 0xFFFF) | ((ulong)TestMachine.Code64 << 16) | ((present ? 0x8EUL : 0x0EUL) << 40) | (((handler >> 16) & 0xFFFF) << 48);
        ulong entry = TestMachine.IdtAddress + (ulong)(vector * 16);
        m.Memory.Write(entry, 8, low);
        m.Memory.Write(entry + 8, 8, handler >> 32);
    }
}
