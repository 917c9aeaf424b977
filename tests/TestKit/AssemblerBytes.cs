using Iced.Intel;

namespace Emulator.TestKit;

/// <summary>Assembles an Iced <see cref="Assembler"/> program into bytes: the one CodeWriter the tests share.</summary>
public static class AssemblerBytes
{
    /// <summary>The machine code of <paramref name="asm"/>, assembled for instruction pointer <paramref name="ip"/>.</summary>
    public static byte[] AssembleBytes(this Assembler asm, ulong ip)
    {
        var writer = new ListWriter();
        asm.Assemble(writer, ip);
        return [.. writer.Bytes];
    }

    private sealed class ListWriter : CodeWriter
    {
        public List<byte> Bytes { get; } = [];

        public override void WriteByte(byte value) => Bytes.Add(value);
    }
}
