using Emulator.Cpu.Decode;
using Emulator.Jit.Cache;
using Emulator.Jit.Emit;
using Iced.Intel;

namespace Emulator.Jit.Tiering;

/// <summary>
/// The compiler thread's first job, once per process: emit and compile a few synthetic blocks
/// that use every inline family, in both tiers and both 32- and 64-bit code. The emitter, Iced
/// and Reflection.Emit are themselves JIT-compiled by .NET on first use, which made the first
/// guest block cost about 20 ms and the next few one or two more each; done while the guest is
/// still interpreting its cold code, the first real hot blocks cost what later ones do. The
/// blocks are only compiled (called with a null CPU), never run. All get the quick tier; the
/// one-block loops and the last block of each call/return pair also the optimized one, as a hot
/// loop does at once (<see cref="JitCompiler.IsOneBlockLoop"/>). Each is looked up in the shared
/// translation cache first, as the compiler does. One loop carries its CMP's flags back
/// symbolically. Without the loops, the cache lookup and that loop, the first optimized guest
/// loop still spent about 1 ms in the emitter (12 methods jitted at Tier0) instead of 0.1 ms. The
/// code is given as bytes (GNU as, Intel syntax, in the comments): assembling it here would
/// JIT-compile Iced's assembler for nothing.
/// </summary>
internal static class WarmUp
{
    internal const ulong Address = 0x1000;

    // mov rax,[rsi+8]; mov [rdi+16],rax; mov ecx,[rsi+rbx*4]; movzx edx,byte [rsi];
    // movsx r8,word [rsi+2]; movsxd r9,dword [rsi+4]; lea r10,[rax+rcx*2+5]; add rax,rbx;
    // sub ecx,7; and dl,0xf; or r8,r9; xor r11d,r11d; cmp rax,rdx; test ecx,ecx; adc rax,rbx
    // (a handler call); inc rcx; dec edx; neg rax; not rbx; shl rax,3; sar rdx,1;
    // imul rax,rbx,5; add qword [rdi],1; push rax; pop rbx; jne (back to the first)
    private const string Loop64 = "488B4608488947108B0C9E0FB6164C0FBF46024C634E044C8D5448054801D883E90780E20F4D09C84531DB4839D085C94811D848FFC1FFCA48F7D848F7D348C1E00348D1FA486BC30548830701505B75AF";

    // push rbp; mov rbp,rsp; mov rdi,[rbp+16]; call (next) | mov rax,rdi; pop rbp; ret
    private const string CallRet64 = "554889E5488B7D10E8000000004889F85DC3";

    // As Loop64 in 32-bit code, without the REX registers and SAR.
    private const string Loop32 = "8B46088947100FB6160FBF0C5E8D6C480501D883E90780E20F31ED39D085C911D8414AF7D8F7D3C1E0036BC305830701505B75CC";

    // A loop whose CMP's flags are carried back symbolically (BlockEmitter.SymbolicCarry.cs):
    // movzx ecx,byte [edx+0x3aba20]; add edx,1; xor eax,ecx; imul eax,eax,0x1000193;
    // mov [ecx+0x3aba1f],dl; cmp edx,0x100000; jne (back to the first)
    private const string CarryLoop32 = "0FB68A20BA3A0083C20131C869C09301000188911FBA3A0081FA0000100075E0";

    // push ebp; mov ebp,esp; mov edi,[ebp+8]; call (next) | mov eax,edi; pop ebp; ret
    private const string CallRet32 = "5589E58B7D08E80000000089F85DC3";

    private static int s_done;

    /// <param name="cancelled">Polled between blocks: true ends the warm-up early (the compiler is being disposed).</param>
    public static void Run(JitStatistics statistics, bool inline = true, Func<bool>? cancelled = null)
    {
        if (Interlocked.Exchange(ref s_done, 1) != 0)
        {
            return;
        }

        double start = ThreadCpuClock.Milliseconds();
        try
        {
            foreach (var (block, optimize) in Plan())
            {
                if (cancelled?.Invoke() == true)
                {
                    return;
                }

                // The compiler looks every block up in the shared cache first.
                TranslationCache.TryGet(TranslationCache.KeyOf(block), out _);
                Compile(block, inline, optimize, dump: null);
            }
        }
        catch (Exception e) when (e is InvalidProgramException or NotSupportedException or InvalidOperationException or ArgumentException or MemberAccessException)
        {
            // A warm-up that fails costs the first real blocks time, nothing else; their own compile reports the bug.
        }

        statistics.WarmedUp(ThreadCpuClock.Milliseconds() - start);
    }

    /// <summary>The blocks the warm-up compiles, in order, each with its tier.</summary>
    internal static List<(Block Block, bool Optimize)> Plan()
    {
        var plan = new List<(Block, bool)>();
        foreach (var (bitness, code) in (ReadOnlySpan<(int, string)>)[(64, Loop64), (64, CallRet64), (32, Loop32), (32, CarryLoop32), (32, CallRet32)])
        {
            var blocks = Decode(bitness, Convert.FromHexString(code));
            plan.AddRange(blocks.Select(b => (b, false)));
            if (blocks.Count > 1 || JitCompiler.IsOneBlockLoop(blocks[0]))
            {
                plan.Add((blocks[^1], true));
            }
        }

        return plan;
    }

    internal static unsafe void Compile(Block block, bool inline, bool optimize, Action<string>? dump) =>
        BlockEmitter.Emit(block, inline, dump, out _, out _, out _, optimize)(null, null);

    /// <summary>Cuts <paramref name="code"/>, at <see cref="Address"/>, into blocks after each control transfer, as the block builder does.</summary>
    internal static List<Block> Decode(int bitness, byte[] code)
    {
        var decoder = Decoder.Create(bitness, new ByteArrayCodeReader(code), Address);
        var blocks = new List<Block>();
        var instructions = new List<Instruction>();
        while (decoder.IP < Address + (ulong)code.Length)
        {
            instructions.Add(decoder.Decode());
            if (instructions[^1].FlowControl != FlowControl.Next)
            {
                ulong ip = instructions[0].IP;
                blocks.Add(new Block(new BlockKey(ip, ip, ip, bitness), [.. instructions], [ip >> 12]));
                instructions.Clear();
            }
        }

        return blocks;
    }
}
