using System.Buffers.Binary;

namespace Emulator.Machine.Tests.Boot;

/// <summary>
/// Builds a minimal bzImage for loader tests: a setup header laid out as boot.rst describes
/// (offsets 0x1F1-0x26B, protocol 2.15 by default) followed by the protected-mode "kernel", whose
/// first 0x200 bytes are the 32-bit entry and whose 64-bit entry is at +0x200.
/// </summary>
public sealed record FakeBzImage
{
    public int SetupSects { get; init; } = 4;
    public ushort Version { get; init; } = 0x020F;
    public byte LoadFlags { get; init; } = 0x01; // LOADED_HIGH
    public bool Relocatable { get; init; } = true;
    public uint KernelAlignment { get; init; } = 0x200000;
    public ushort XLoadFlags { get; init; } = 0x01; // XLF_KERNEL_64
    public uint CmdlineSize { get; init; } = 0x7FF;
    public uint InitrdAddrMax { get; init; } = 0x7FFFFFFF;
    public ulong PrefAddress { get; init; } = 0x200000;
    public uint InitSize { get; init; } = 0x100000;
    public byte[] Entry32 { get; init; } = [0xF4]; // hlt
    public byte[] Entry64 { get; init; } = [0xF4];

    public byte[] Build()
    {
        int setup = (SetupSects + 1) * 512;
        var kernel = new byte[0x200 + Entry64.Length];
        Entry32.CopyTo(kernel, 0);
        Entry64.CopyTo(kernel, 0x200);
        var image = new byte[setup + kernel.Length];
        var h = image.AsSpan();
        h[0x1F1] = (byte)SetupSects;
        BinaryPrimitives.WriteUInt32LittleEndian(h[0x1F4..], (uint)(kernel.Length + 15) / 16); // syssize
        BinaryPrimitives.WriteUInt16LittleEndian(h[0x1FE..], 0xAA55);
        h[0x200] = 0xEB; // jmp short over the header, to 0x26C
        h[0x201] = 0x6A;
        "HdrS"u8.CopyTo(h[0x202..]);
        BinaryPrimitives.WriteUInt16LittleEndian(h[0x206..], Version);
        h[0x211] = LoadFlags;
        BinaryPrimitives.WriteUInt32LittleEndian(h[0x214..], 0x100000); // code32_start
        BinaryPrimitives.WriteUInt32LittleEndian(h[0x22C..], InitrdAddrMax);
        BinaryPrimitives.WriteUInt32LittleEndian(h[0x230..], KernelAlignment);
        h[0x234] = (byte)(Relocatable ? 1 : 0);
        BinaryPrimitives.WriteUInt16LittleEndian(h[0x236..], XLoadFlags);
        BinaryPrimitives.WriteUInt32LittleEndian(h[0x238..], CmdlineSize);
        BinaryPrimitives.WriteUInt64LittleEndian(h[0x258..], PrefAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(h[0x260..], InitSize);
        kernel.CopyTo(image, setup);
        return image;
    }

    /// <summary>Writes the image to a temporary file and returns its path.</summary>
    public string Write()
    {
        string path = Path.Combine(Path.GetTempPath(), $"emu-bzimage-{Guid.NewGuid():N}");
        File.WriteAllBytes(path, Build());
        return path;
    }
}
