using Emulator.Cpu.Decode;
using Emulator.Jit.Emit;
using Emulator.Jit.Tiering;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Jit.Tests.Emit;

/// <summary>
/// Every machine has its own compiler thread, so emitters run at once in one process: the
/// listing of a block (which records each decision the emitter took, symbolic carries included)
/// must not depend on what another thread compiles meanwhile. A shared Iced
/// <see cref="InstructionInfoFactory"/> broke that: it hands out views of its own buffers.
/// </summary>
public class EmitterThreadsTests
{
    /// <summary>One-block loops whose heads read, write and load around the CMP's registers, so that the symbolic-carry scan looks at each instruction.</summary>
    private static List<Block> Loops()
    {
        var programs = new List<Action<Assembler, Label>>
        {
            (a, top) =>
            {
                a.movzx(ecx, __byte_ptr[edx + 0x1000]);
                a.add(edx, 1);
                a.xor(eax, ecx);
                a.cmp(edx, 0x100);
                a.jne(top);
            },
            (a, top) =>
            {
                a.mov(__dword_ptr[edi], eax);
                a.lea(ecx, __dword_ptr[ecx + 1]);
                a.mov(__dword_ptr[edi + 4], ecx);
                a.mov(ebx, __dword_ptr[esi]);
                a.mov(__dword_ptr[edi + 8], ebx);
                a.cmp(ecx, 100);
                a.jne(top);
            },
            (a, top) =>
            {
                a.mov(__dword_ptr[edi], eax);
                a.mov(ebx, __dword_ptr[esi]);
                a.mov(__dword_ptr[edi + 8], ebx);
                a.mov(edx, __dword_ptr[esi + 4]);
                a.cmp(ebx, edx);
                a.jb(top);
            },
        };

        var blocks = new List<Block>();
        foreach (var program in programs)
        {
            var a = new Assembler(32);
            var top = a.CreateLabel();
            a.Label(ref top);
            program(a, top);
            var stream = new MemoryStream();
            a.Assemble(new StreamCodeWriter(stream), WarmUp.Address);
            blocks.Add(Assert.Single(WarmUp.Decode(32, stream.ToArray())));
        }

        return blocks;
    }

    private static string Listing(Block block)
    {
        string listing = "";
        BlockEmitter.Emit(block, inline: true, l => listing = l, out _, out _, out _);
        return listing;
    }

    [Fact]
    public void ConcurrentEmittersWriteTheListingsOfOneAlone()
    {
        var blocks = Loops();
        var expected = blocks.Select(Listing).ToList();
        Assert.Contains(expected, l => l.Contains("symbolically", StringComparison.Ordinal));

        var mismatches = new System.Collections.Concurrent.ConcurrentBag<string>();
        var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            for (int n = 0; n < 1500; n++)
            {
                int i = (n + t) % blocks.Count;
                string listing = Listing(blocks[i]);
                if (listing != expected[i])
                {
                    mismatches.Add($"block {i}, thread {t}:\n{listing}\nexpected:\n{expected[i]}");
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.True(mismatches.IsEmpty, $"{mismatches.Count} listings differ, first: {mismatches.FirstOrDefault()}");
    }
}
