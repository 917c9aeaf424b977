using BenchmarkDotNet.Attributes;
using Emulator.Cpu.Decode;
using Iced.Intel;

namespace Emulator.Bench;

/// <summary>
/// Decode rate, per instruction: Iced decoding the guest loop's 13 instructions, and the block
/// cache building the loop's block from guest memory (translation, decode, the block's records),
/// which is what the interpreter pays for a block it has not seen.
/// </summary>
public class DecodeBenchmarks
{
    /// <summary>Instructions in <see cref="GuestLoop"/>'s default program after its set-up (the loop body and HLT).</summary>
    public const int LoopInstructions = 13;

    private byte[] _code = [];
    private ulong _start;
    private GuestLoop _loop = null!;

    [GlobalSetup]
    public void Setup()
    {
        _loop = new GuestLoop();
        _code = new byte[96];
        _loop.Memory.ReadBytes(GuestLoop.Code, _code);

        // The loop starts after the three set-up instructions.
        var decoder = Decoder.Create(64, new ByteArrayCodeReader(_code), GuestLoop.Code);
        for (int k = 0; k < 3; k++)
        {
            decoder.Decode(out _);
        }

        _start = decoder.IP;
        var block = _loop.Cpu.Blocks.Get(_start, _start, 64) ?? throw new InvalidOperationException("no block");
        if (block.Instructions.Length != LoopInstructions - 1)
        {
            throw new InvalidOperationException($"the loop block has {block.Instructions.Length} instructions");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _loop.Dispose();

    [Benchmark(OperationsPerInvoke = LoopInstructions)]
    public ulong DecodeInstruction()
    {
        var decoder = Decoder.Create(64, new ByteArrayCodeReader(_code, (int)(_start - GuestLoop.Code), _code.Length - (int)(_start - GuestLoop.Code)), _start);
        ulong sum = 0;
        for (int k = 0; k < LoopInstructions; k++)
        {
            decoder.Decode(out var instruction);
            sum += (ulong)instruction.Code;
        }

        return sum;
    }

    /// <summary>Builds the loop's block (12 instructions, ending at the JNE) from guest memory; reported per instruction.</summary>
    [Benchmark(OperationsPerInvoke = LoopInstructions - 1)]
    public Block? BuildBlock()
    {
        _loop.Cpu.Blocks.Clear();
        return _loop.Cpu.Blocks.Get(_start, _start, 64);
    }
}
