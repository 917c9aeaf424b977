using System.Runtime.InteropServices;

namespace Emulator.Mmu.Physical;

/// <summary>
/// Guest RAM: one native, page-aligned, zeroed allocation per VM, so that the KVM engine can map
/// the very same memory into a hardware guest and generated code can address it by pointer.
/// On Linux it is an anonymous private mapping: the kernel supplies zeroed pages on first touch,
/// so a 4 GiB guest costs only the memory it uses.
/// </summary>
public sealed unsafe partial class GuestRam : IDisposable
{
    public const ulong PageSize = 4096;

    private byte* _base;
    private readonly bool _mapped;

    public GuestRam(ulong size)
    {
        if (size == 0 || size % PageSize != 0)
        {
            throw new ArgumentException($"guest RAM size must be a non-zero multiple of 4 KiB (got {size})", nameof(size));
        }

        Size = size;
        if (OperatingSystem.IsLinux())
        {
            // SAFETY: a fresh private anonymous mapping of exactly size bytes, unmapped once in Dispose;
            // every access through Pointer is bounds-checked by PhysicalMemory against Size.
            void* p = Mmap(null, (nuint)size, ProtRead | ProtWrite, MapPrivate | MapAnonymous | MapNoReserve, -1, 0);
            if (p == (void*)-1)
            {
                throw new OutOfMemoryException($"cannot reserve {size >> 20} MiB of guest RAM: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
            }

            _base = (byte*)p;
            _mapped = true;
        }
        else
        {
            // SAFETY: as above, with an aligned heap block zeroed here and freed in Dispose.
            _base = (byte*)NativeMemory.AlignedAlloc((nuint)size, (nuint)PageSize);
            NativeMemory.Clear(_base, (nuint)size);
        }
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
            if (_mapped)
            {
                _ = Munmap(_base, (nuint)Size);
            }
            else
            {
                NativeMemory.AlignedFree(_base);
            }

            _base = null;
        }
    }

    private const int ProtRead = 1, ProtWrite = 2, MapPrivate = 2, MapAnonymous = 0x20, MapNoReserve = 0x4000;

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial void* Mmap(void* address, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "munmap")]
    private static partial int Munmap(void* address, nuint length);
}
