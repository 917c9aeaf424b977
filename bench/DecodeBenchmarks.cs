using BenchmarkDotNet.Attributes;
using Iced.Intel;

namespace Emulator.Bench;

/// <summary>Decode rate: Iced decoding the guest loop's bytes, per instruction.</summary>
public class DecodeBenchmarks
{
    private byte[] _code = [];
    private int _count;

    [GlobalSetup]
    public void Setup()
    {
        using var loop = new GuestLoop();
        _code = new byte[64];
        loop.Memory.ReadBytes(GuestLoop.Code, _code);
        var decoder = Decoder.Create(64, new ByteArrayCodeReader(_code), GuestLoop.Code);
        while (decoder.IP < GuestLoop.Code + (ulong)_code.Length - 15)
        {
            decoder.Decode(out _);
            _count++;
        }
    }

    [Benchmark]
    public ulong DecodeBlock()
    {
        var decoder = Decoder.Create(64, new ByteArrayCodeReader(_code), GuestLoop.Code);
        ulong sum = 0;
        for (int k = 0; k < _count; k++)
        {
            decoder.Decode(out var instruction);
            sum += (ulong)instruction.Code;
        }

        return sum;
    }
}
