using Emulator.Mmu;

namespace Emulator.Devices.Post;

/// <summary>
/// Port 0x80, where firmware writes POST codes (and where old code writes to waste a microsecond).
/// The last code is kept and read back; <see cref="Observer"/> sees each one.
/// </summary>
public sealed class PostPort : IBusDevice
{
    public const ushort Port = 0x80;

    public string Name => "post";

    public byte LastCode { get; private set; }

    public Action<byte>? Observer { get; set; }

    public ulong Read(ulong offset, int size) => LastCode;

    public void Write(ulong offset, int size, ulong value)
    {
        LastCode = (byte)value;
        Observer?.Invoke(LastCode);
    }

    public void Reset() => LastCode = 0;
}
