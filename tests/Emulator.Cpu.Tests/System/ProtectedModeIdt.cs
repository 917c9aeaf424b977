using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Emulator.TestKit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.SystemArchitecture;

/// <summary>
/// A 32-bit IDT for protection tests (SDM Vol. 3A 6.11, figure 6-2: 8-byte interrupt gates to the
/// ring-0 32-bit code segment). Each exception stub records what the CPU pushed and halts:
/// EDI = vector, ESI = error code (or all ones), EBP = pushed EIP, EAX = pushed CS.
/// </summary>
public static class ProtectedModeIdt
{
    public const ulong HandlerBase = 0x30000;
    public const int HandlerStride = 0x40;
    public const uint NoErrorCode = uint.MaxValue;

    public static ulong Handler(int vector) => HandlerBase + (ulong)(vector * HandlerStride);

    /// <summary>Writes the IDT and its stubs for the 32 exception vectors and loads IDTR.</summary>
    public static void Install(TestMachine m)
    {
        for (int v = 0; v < 32; v++)
        {
            int vector = v;
            m.Load(
                a =>
                {
                    a.mov(edi, vector);
                    if (Vector.HasErrorCode(vector))
                    {
                        a.mov(esi, __dword_ptr[esp]);
                        a.mov(ebp, __dword_ptr[esp + 4]);
                        a.mov(eax, __dword_ptr[esp + 8]);
                    }
                    else
                    {
                        a.mov(esi, -1);
                        a.mov(ebp, __dword_ptr[esp]);
                        a.mov(eax, __dword_ptr[esp + 4]);
                    }

                    a.hlt();
                },
                Handler(vector));
            ulong handler = Handler(vector);
            ulong gate = (handler & 0xFFFF) | ((ulong)TestMachine.Code32 << 16) | (0x8EUL << 40) | ((handler >> 16) << 48);
            m.Memory.Write(TestMachine.IdtAddress + (ulong)(vector * 8), 8, gate);
        }

        m.S.Idtr = new TableRegister { Base = TestMachine.IdtAddress, Limit = (32 * 8) - 1 };
    }

    public static uint RecordedVector(TestMachine m) => (uint)m.Reg(CpuState.RDI);

    public static uint ErrorCode(TestMachine m) => (uint)m.Reg(CpuState.RSI);

    public static uint FaultEip(TestMachine m) => (uint)m.Reg(CpuState.RBP);

    public static uint FaultCs(TestMachine m) => (uint)m.Reg(CpuState.RAX) & 0xFFFF;
}
