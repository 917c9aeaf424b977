namespace Emulator.Machine;

/// <summary>
/// A buffered byte stream for guest console output (serial, debug console). Flushed at each line
/// end and whenever the run loop pauses, so prompts without a newline still appear promptly.
/// </summary>
public sealed class ByteSink : IDisposable
{
    private readonly Stream _stream;
    private readonly bool _owns;
    private readonly object _lock = new();
    private readonly byte[] _buffer = new byte[4096];
    private int _count;

    public ByteSink(Stream stream, bool owns)
    {
        _stream = stream;
        _owns = owns;
    }

    public void Write(byte value)
    {
        lock (_lock)
        {
            _buffer[_count++] = value;
            if (value == (byte)'\n' || _count == _buffer.Length)
            {
                FlushLocked();
            }
        }
    }

    public void Flush()
    {
        lock (_lock)
        {
            FlushLocked();
        }
    }

    private void FlushLocked()
    {
        if (_count > 0)
        {
            try
            {
                _stream.Write(_buffer, 0, _count);
                _stream.Flush();
            }
            catch (IOException)
            {
                // The reader went away (a closed pipe): guest output is dropped, the guest runs on.
            }

            _count = 0;
        }
    }

    public void Dispose()
    {
        Flush();
        if (_owns)
        {
            _stream.Dispose();
        }
    }
}
