using Emulator.TestKit;
using Iced.Intel;

namespace Emulator.Machine.Tests;

/// <summary>
/// Builds small firmware images for tests: 16-bit code assembled with Iced at F000:F000 in a 4 KiB
/// ROM (linear 0xFFFFF000, aliased at 0xFF000), entered from the reset vector by a near jump.
/// </summary>
public static class RomBuilder
{
    public const ulong CodeOffset = 0xF000;

    public static string Write(Action<Assembler> program)
    {
        var asm = new Assembler(16);
        program(asm);
        byte[] bytes = asm.AssembleBytes(CodeOffset);
        var rom = new byte[4096];
        bytes.CopyTo(rom, 0);
        byte[] jump = [0xE9, 0x0D, 0xF0]; // jmp near 0xF000 from IP 0xFFF0 (next IP 0xFFF3)
        jump.CopyTo(rom, 4096 - 16);
        string path = Path.Combine(Path.GetTempPath(), $"emu-test-rom-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(path, rom);
        return path;
    }

    /// <summary>Writes "Shutdown" to the Bochs power-off port, then halts.</summary>
    public static void PowerOff(Assembler a)
    {
        a.mov(AssemblerRegisters.dx, 0x8900);
        foreach (char c in "Shutdown")
        {
            a.mov(AssemblerRegisters.al, (byte)c);
            a.@out(AssemblerRegisters.dx, AssemblerRegisters.al);
        }

        a.hlt();
    }
}
