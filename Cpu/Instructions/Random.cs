using System.Security.Cryptography;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// RDRAND and RDSEED (SDM Vol. 2B): a random value from the host's cryptographic generator, CF = 1
/// (a value is always available), OF, SF, ZF, AF and PF cleared.
/// </summary>
public static class Random
{
    public static void Rdrand(X86Cpu c, in Instruction i)
    {
        Span<byte> bytes = stackalloc byte[8];
        RandomNumberGenerator.Fill(bytes);
        c.SetReg(i.Op0Register, BitConverter.ToUInt64(bytes));
        c.S.Rflags = (c.S.Rflags & ~Flags.Arith) | Flags.CF;
    }
}
