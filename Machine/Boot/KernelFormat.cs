namespace Emulator.Machine.Boot;

/// <summary>The kinds of kernel image --kernel accepts, told apart by their headers.</summary>
public enum KernelFormat
{
    Unknown,

    /// <summary>A Linux bzImage: boot flag 0xAA55 at 0x1FE and "HdrS" at 0x202 (boot.rst).</summary>
    BzImage,

    /// <summary>A Multiboot kernel: the header magic 0x1BADB002 with a valid checksum in the first 8 KiB.</summary>
    Multiboot,

    /// <summary>An ELF file without a Multiboot header (a vmlinux, say): not bootable here.</summary>
    Elf,
}

/// <summary>Detects a <see cref="KernelFormat"/> from the first bytes of an image.</summary>
public static class KernelImage
{
    public static KernelFormat Detect(ReadOnlySpan<byte> image)
    {
        if (LinuxLoader.IsBzImage(image))
        {
            return KernelFormat.BzImage;
        }

        if (MultibootLoader.IsMultiboot(image))
        {
            return KernelFormat.Multiboot;
        }

        return image.Length >= 4 && image[0] == 0x7F && image[1] == (byte)'E' && image[2] == (byte)'L' && image[3] == (byte)'F'
            ? KernelFormat.Elf
            : KernelFormat.Unknown;
    }
}
