using Emulator.Machine.Config;
using Emulator.Mmu.Physical;

namespace Emulator.Machine.Boot;

/// <summary>
/// Maps a firmware image as a PC does: the whole image ends at 4 GiB (the reset vector FFFFFFF0 is
/// its last 16 bytes) and its last 128 KiB also appear below 1 MiB, ending at 0x100000, where
/// real-mode code runs (QEMU's isa-bios alias does the same).
/// </summary>
public static class FirmwareLoader
{
    public const int MaxSize = 16 << 20;
    public const int LowAliasSize = 128 << 10;

    public static void Map(PhysicalMemory memory, ReadOnlySpan<byte> image, string name)
    {
        if (image.Length == 0)
        {
            throw new ConfigException($"firmware image {name} is empty");
        }

        if (image.Length > MaxSize || image.Length % 0x1000 != 0)
        {
            throw new ConfigException($"firmware image {name} must be a multiple of 4 KiB and at most 16 MiB (it is {image.Length} bytes)");
        }

        memory.MapRom($"bios ({name})", 0x1_0000_0000UL - (ulong)image.Length, image);
        int low = Math.Min(image.Length, LowAliasSize);
        memory.MapRom("isa-bios", 0x100000UL - (ulong)low, image[^low..]);
    }
}
