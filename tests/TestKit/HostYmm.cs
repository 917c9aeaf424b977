using System.Runtime.InteropServices;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.TestKit;

/// <summary>
/// The host CPU as the oracle for AVX floating-point code, unmasked MXCSR exceptions included:
/// YMM0-15, MXCSR and 64 bytes at [R15] go in and come out. While the body runs, a SIGFPE and
/// SIGILL handler (machine code in the same page) is installed: a fault inside the body (#XM,
/// which Linux delivers as SIGFPE, or #UD as SIGILL) resumes after it with the state the CPU
/// left, so a test sees what the hardware keeps when an instruction faults (destination, MXCSR
/// flags). A signal anywhere else goes on to the handler that was installed before (the
/// runtime's), and those handlers are put back afterwards. Only for bodies that use no general register but R15 and cannot fault
/// any other way.
/// </summary>
public static unsafe partial class HostYmm
{
    public const int DataBytes = 64;

    private const int YmmBytes = 512, MxcsrSlot = 512, DataPointerSlot = 520, FaultedSlot = 528, OldHandlerSlot = 536, OldIllegalSlot = 544, BlockBytes = 576;
    private const int Page = 8192;

    /// <summary>ucontext_t.uc_mcontext.gregs[REG_RIP] on x86-64 Linux (glibc sys/ucontext.h: 40 bytes of header, RIP is register 16).</summary>
    private const int UcontextRip = 40 + (16 * 8);

    public const int SigIll = 4, SigFpe = 8;
    private const int SaSigInfo = 4;

    /// <summary>
    /// Held while a native run has its own SIGFPE/SIGILL handler installed. Every oracle that swaps
    /// process-wide signal handlers (this one and <see cref="HostSimdTrap"/>) takes this one lock:
    /// with a lock each, two test classes running in parallel restored each other's handlers and a
    /// trap then reached .NET's handler or a freed page (a test-host abort seen once).
    /// </summary>
    internal static readonly Lock SignalLock = new();

    /// <summary>
    /// Runs <paramref name="body"/> natively with YMM0-15 from <paramref name="ymm"/> (32 bytes
    /// each), <paramref name="mxcsr"/> and <paramref name="data"/> at [R15]; all are updated in
    /// place. Returns the signal the body took and was skipped after (<see cref="SigFpe"/>,
    /// <see cref="SigIll"/>), or 0.
    /// </summary>
    public static int Execute(Action<Assembler> body, Span<byte> ymm, ref uint mxcsr, Span<byte> data)
    {
        if (ymm.Length != YmmBytes || data.Length != DataBytes)
        {
            throw new ArgumentException("512 bytes of YMM registers and 64 data bytes");
        }

        // SAFETY: the block and buffer are aligned native allocations of the sizes used below,
        // freed in finally; the code page is fresh, written, made executable, run under the lock
        // and unmapped in finally after the previous SIGFPE action is restored.
        byte* block = (byte*)NativeMemory.AlignedAlloc(BlockBytes, 64);
        byte* buffer = (byte*)NativeMemory.AlignedAlloc(DataBytes, 64);
        void* page = Mmap(null, Page, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        try
        {
            if (page == (void*)-1)
            {
                throw new InvalidOperationException("mmap failed");
            }

            var a = new Assembler(64);
            Label bodyStart = a.CreateLabel(), after = a.CreateLabel(), handler = a.CreateLabel(), chain = a.CreateLabel();
            a.push(rbx);
            a.push(r15);
            a.sub(rsp, 8);
            a.stmxcsr(__dword_ptr[rsp]);
            a.mov(rbx, rdi);
            for (int k = 0; k < 16; k++)
            {
                a.AddInstruction(Instruction.Create(Code.VEX_Vmovdqu_ymm_ymmm256, Register.YMM0 + k, new MemoryOperand(Register.RBX, 32 * k)));
            }

            a.ldmxcsr(__dword_ptr[rbx + MxcsrSlot]);
            a.mov(r15, __qword_ptr[rbx + DataPointerSlot]);
            a.Label(ref bodyStart);
            a.nop();
            body(a);
            a.Label(ref after);
            a.stmxcsr(__dword_ptr[rbx + MxcsrSlot]);
            for (int k = 0; k < 16; k++)
            {
                a.AddInstruction(Instruction.Create(Code.VEX_Vmovdqu_ymmm256_ymm, new MemoryOperand(Register.RBX, 32 * k), Register.YMM0 + k));
            }

            a.ldmxcsr(__dword_ptr[rsp]);
            a.vzeroupper();
            a.add(rsp, 8);
            a.pop(r15);
            a.pop(rbx);
            a.ret();

            // The signal handler (RDI = signal, RSI = siginfo, RDX = ucontext): a fault between
            // bodyStart and after resumes at after and its signal is recorded; anything else is
            // chained to the previous handler of that signal.
            a.Label(ref handler);
            a.mov(rax, __qword_ptr[rdx + UcontextRip]);
            a.lea(rcx, __[bodyStart]);
            a.cmp(rax, rcx);
            a.jb(chain);
            a.lea(rcx, __[after]);
            a.cmp(rax, rcx);
            a.jae(chain);
            a.mov(__qword_ptr[rdx + UcontextRip], rcx);
            a.mov(rax, (ulong)(block + FaultedSlot));
            a.mov(__qword_ptr[rax], rdi);
            a.ret();
            a.Label(ref chain);
            a.mov(rax, (ulong)(block + OldHandlerSlot));
            a.mov(rcx, (ulong)(block + OldIllegalSlot));
            a.cmp(edi, SigIll);
            a.cmove(rax, rcx);
            a.jmp(__qword_ptr[rax]);

            using var stream = new MemoryStream();
            var result = a.Assemble(new StreamCodeWriter(stream), (ulong)page, BlockEncoderOptions.ReturnNewInstructionOffsets);
            byte[] code = stream.ToArray();
            if (code.Length > Page)
            {
                throw new ArgumentException("native body is too long", nameof(body));
            }

            code.CopyTo(new Span<byte>(page, Page));
            if (Mprotect(page, Page, ProtRead | ProtExec) != 0)
            {
                throw new InvalidOperationException("mprotect failed");
            }

            ymm.CopyTo(new Span<byte>(block, YmmBytes));
            *(uint*)(block + MxcsrSlot) = mxcsr;
            *(ulong*)(block + DataPointerSlot) = (ulong)buffer;
            *(ulong*)(block + FaultedSlot) = 0;
            data.CopyTo(new Span<byte>(buffer, DataBytes));

            var action = default(SigAction);
            action.Handler = (nint)result.GetLabelRIP(handler);
            action.Flags = SaSigInfo;
            SigAction previous, previousIllegal;
            lock (SignalLock)
            {
                if (SigActionCall(SigFpe, &action, &previous) != 0)
                {
                    throw new InvalidOperationException("sigaction failed");
                }

                try
                {
                    if (SigActionCall(SigIll, &action, &previousIllegal) != 0)
                    {
                        throw new InvalidOperationException("sigaction failed");
                    }

                    *(nint*)(block + OldHandlerSlot) = previous.Handler;
                    *(nint*)(block + OldIllegalSlot) = previousIllegal.Handler;
                    try
                    {
                        ((delegate* unmanaged<byte*, void>)page)(block);
                    }
                    finally
                    {
                        _ = SigActionCall(SigIll, &previousIllegal, null);
                    }
                }
                finally
                {
                    _ = SigActionCall(SigFpe, &previous, null);
                }
            }

            new Span<byte>(block, YmmBytes).CopyTo(ymm);
            mxcsr = *(uint*)(block + MxcsrSlot);
            new Span<byte>(buffer, DataBytes).CopyTo(data);
            return (int)*(ulong*)(block + FaultedSlot);
        }
        finally
        {
            if (page != (void*)-1)
            {
                _ = Munmap(page, Page);
            }

            NativeMemory.AlignedFree(block);
            NativeMemory.AlignedFree(buffer);
        }
    }

    /// <summary>glibc's struct sigaction on x86-64: handler, 1024-bit mask, flags, restorer.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct SigAction
    {
        public nint Handler;
        public fixed ulong Mask[16];
        public int Flags;
        public int Padding;
        public nint Restorer;
    }

    private const int ProtRead = 1, ProtWrite = 2, ProtExec = 4, MapPrivate = 2, MapAnonymous = 0x20;

    [LibraryImport("libc", EntryPoint = "sigaction")]
    private static partial int SigActionCall(int signal, SigAction* action, SigAction* previous);

    [LibraryImport("libc", EntryPoint = "mmap")]
    private static partial void* Mmap(void* address, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "mprotect")]
    private static partial int Mprotect(void* address, nuint length, int prot);

    [LibraryImport("libc", EntryPoint = "munmap")]
    private static partial int Munmap(void* address, nuint length);
}
