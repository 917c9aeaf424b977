using System.Runtime.InteropServices;

namespace Emulator.Mmu.Physical;

/// <summary>
/// Guest RAM: one native, page-aligned, zeroed allocation per VM, so that the KVM engine can map
/// the very same memory into a hardware guest and generated code can address it by pointer.
/// </summary>
public sealed unsafe class GuestRam : IDisposable
{
    public const ulong PageSize = 4096;

    private byte* _base;

    public GuestRam(ulong size)
    {
        if (size == 0 || size % PageSize != 0)
        {
            throw new ArgumentException($"guest RAM size must be a non-zero multiple of 4 KiB (got {size})", nameof(size));
        }

        Size = size;
        // SAFETY: the block is owned by this object, freed once in Dispose, and every access
        // through Pointer is bounds-checked by PhysicalMemory against Size.
        _base = (byte*)NativeMemory.AlignedAlloc((nuint)size, (nuint)PageSize);
        NativeMemory.Clear(_base, (nuint)size);
    }

    public ulong Size { get; }

    /// <summary>The host address of guest RAM offset 0. Valid until Dispose.</summary>
    public byte* Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(_base == null, this);
            return _base;
        }
    }

    public Span<byte> AsSpan(ulong offset, int length)
    {
        if (offset > Size || (ulong)length > Size - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"RAM range {offset:x}+{length:x} outside {Size:x}");
        }

        // SAFETY: range checked against Size just above.
        return new Span<byte>(Pointer + offset, length);
    }

    public void Dispose()
    {
        if (_base != null)
        {
            NativeMemory.AlignedFree(_base);
            _base = null;
        }
    }
}
