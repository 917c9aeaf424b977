namespace Emulator.Mmu.Tests;

/// <summary>A bus device that logs every access and answers reads from a function of the offset.</summary>
public sealed class RecordingDevice : IBusDevice
{
    public RecordingDevice(string name = "recorder", Func<ulong, int, ulong>? read = null)
    {
        Name = name;
        ReadFunction = read ?? ((offset, size) => 0xA0 + offset);
    }

    public string Name { get; }

    public Func<ulong, int, ulong> ReadFunction { get; }

    public List<(ulong Offset, int Size, ulong Value, bool IsWrite)> Log { get; } = [];

    public ulong Read(ulong offset, int size)
    {
        ulong value = ReadFunction(offset, size);
        Log.Add((offset, size, value, false));
        return value;
    }

    public void Write(ulong offset, int size, ulong value) => Log.Add((offset, size, value, true));

    public void Reset() => Log.Clear();
}
