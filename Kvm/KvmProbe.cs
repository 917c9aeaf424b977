using System.Runtime.InteropServices;

namespace Emulator.Kvm;

/// <summary>
/// Tells whether <c>/dev/kvm</c> can be used: opens it and asks KVM_GET_API_VERSION (Linux
/// Documentation/virt/kvm/api.rst 4.1; the stable API is version 12). The hardware-accelerated
/// engine itself arrives with its own issue; until then <c>emu</c> reports what it found.
/// </summary>
public static partial class KvmProbe
{
    public const string DevicePath = "/dev/kvm";

    /// <summary>_IO(KVMIO, 0x00) with KVMIO = 0xAE.</summary>
    private const nuint KvmGetApiVersion = 0xAE00;
    private const int ORdWr = 2;
    private const int OCloexec = 0x80000;

    /// <summary>The KVM API version, or null when /dev/kvm cannot be opened (with the reason).</summary>
    public static int? ApiVersion(out string reason)
    {
        if (!OperatingSystem.IsLinux())
        {
            reason = "KVM exists only on Linux hosts";
            return null;
        }

        int fd = Open(DevicePath, ORdWr | OCloexec);
        if (fd < 0)
        {
            reason = $"cannot open {DevicePath}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}";
            return null;
        }

        try
        {
            int version = Ioctl(fd, KvmGetApiVersion, 0);
            reason = version < 0 ? $"KVM_GET_API_VERSION failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}" : "";
            return version < 0 ? null : version;
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, nuint request, nint argument);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
