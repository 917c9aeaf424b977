using System.Runtime.InteropServices;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.TestKit;

/// <summary>
/// <see cref="HostSimd"/> for bodies that may take an unmasked SIMD floating-point exception: the
/// same exchange of general registers, FXSAVE image (its MXCSR may unmask exceptions), YMM upper
/// halves and the 64 bytes at [R15], with a SIGFPE handler installed around the run. When the body
/// faults (the host's #XM, which Linux delivers as SIGFPE), the handler records the trap number
/// and resumes after the body, so the state read back is the state the fault left: the
/// destination as the hardware kept it and MXCSR with the flags the hardware set. A SIGFPE from
/// any other code is passed on to the handler that was installed before. One run at a time.
/// </summary>
public static unsafe partial class HostSimdTrap
{
    private const int GprBytes = 7 * 8, DataPointerSlot = 56, GuestImage = 64, HostImage = 576, UpperHalves = 1088, TrapSlot = 1344, BlockBytes = 1408;

    /// <summary>Offsets in Linux's x86-64 ucontext_t: uc_mcontext.gregs starts at 40; RSP, RIP and TRAPNO are gregs 15, 16 and 20.</summary>
    private const int ContextRsp = 40 + (15 * 8), ContextRip = 40 + (16 * 8), ContextTrapNo = 40 + (20 * 8);

    private const int Sigfpe = 8, SaSiginfo = 4;

    private static readonly Lock s_lock = new();

    /// <summary>
    /// Runs <paramref name="body"/> natively (see <see cref="HostSimd.Execute"/> for the state
    /// exchanged). Returns the trap number of the exception the body took (19, #XM), or -1.
    /// </summary>
    public static int Execute(Action<Assembler> body, Span<ulong> gprs, Span<byte> fxsave, Span<byte> upper, Span<byte> data)
    {
        if (gprs.Length != 7 || fxsave.Length != 512 || upper.Length != 256 || data.Length != HostSimd.DataBytes)
        {
            throw new ArgumentException("7 registers, a 512-byte FXSAVE image, 256 upper-half bytes and 64 data bytes");
        }

        lock (s_lock)
        {
            var previous = new SigAction();
            if (Sigaction(Sigfpe, null, &previous) != 0)
            {
                throw new InvalidOperationException("sigaction failed");
            }

            byte[] code = Assemble(body, previous.Handler, out int handlerOffset);
            const int Page = 8192;
            if (code.Length > Page)
            {
                throw new ArgumentException("native body is too long", nameof(body));
            }

            // SAFETY: the block and the data buffer are aligned native allocations of the sizes used
            // by the stub, freed in finally; the code page is fresh, written, made executable, and
            // unmapped in finally after the previous SIGFPE action is back in place.
            byte* block = (byte*)NativeMemory.AlignedAlloc(BlockBytes, 64);
            byte* buffer = (byte*)NativeMemory.AlignedAlloc(HostSimd.DataBytes, 64);
            void* page = Mmap(null, Page, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
            bool installed = false;
            try
            {
                if (page == (void*)-1)
                {
                    throw new InvalidOperationException("mmap failed");
                }

                code.CopyTo(new Span<byte>(page, Page));
                if (Mprotect(page, Page, ProtRead | ProtExec) != 0)
                {
                    throw new InvalidOperationException("mprotect failed");
                }

                new Span<byte>(block, BlockBytes).Clear();
                MemoryMarshal.AsBytes(gprs).CopyTo(new Span<byte>(block, GprBytes));
                *(ulong*)(block + DataPointerSlot) = (ulong)buffer;
                *(long*)(block + TrapSlot) = -1;
                fxsave.CopyTo(new Span<byte>(block + GuestImage, 512));
                upper.CopyTo(new Span<byte>(block + UpperHalves, 256));
                data.CopyTo(new Span<byte>(buffer, HostSimd.DataBytes));

                var action = new SigAction { Handler = (ulong)page + (ulong)handlerOffset, Flags = SaSiginfo };
                if (Sigaction(Sigfpe, &action, null) != 0)
                {
                    throw new InvalidOperationException("sigaction failed");
                }

                installed = true;
                ((delegate* unmanaged<byte*, void>)page)(block);
                new Span<byte>(block, GprBytes).CopyTo(MemoryMarshal.AsBytes(gprs));
                new Span<byte>(block + GuestImage, 512).CopyTo(fxsave);
                new Span<byte>(block + UpperHalves, 256).CopyTo(upper);
                new Span<byte>(buffer, HostSimd.DataBytes).CopyTo(data);
                return (int)*(long*)(block + TrapSlot);
            }
            finally
            {
                if (installed)
                {
                    _ = Sigaction(Sigfpe, &previous, null);
                }

                if (page != (void*)-1)
                {
                    _ = Munmap(page, Page);
                }

                NativeMemory.AlignedFree(block);
                NativeMemory.AlignedFree(buffer);
            }
        }
    }

    /// <summary>The stub of <see cref="HostSimd"/> with labels around the body, then the SIGFPE handler.</summary>
    private static byte[] Assemble(Action<Assembler> body, ulong previousHandler, out int handlerOffset)
    {
        var asm = new Assembler(64);
        var bodyStart = asm.CreateLabel();
        var resume = asm.CreateLabel();
        var handler = asm.CreateLabel();
        var chain = asm.CreateLabel();
        asm.push(rbx);
        asm.push(rbp);
        asm.push(r12);
        asm.push(r13);
        asm.push(r14);
        asm.push(r15);
        asm.push(rdi);
        asm.fxsave(__[rdi + HostImage]);
        asm.fxrstor(__[rdi + GuestImage]);
        for (int k = 0; k < 16; k++)
        {
            asm.AddInstruction(Instruction.Create(Code.VEX_Vinsertf128_ymm_ymm_xmmm128_imm8, Register.YMM0 + k, Register.YMM0 + k, new MemoryOperand(Register.RDI, UpperHalves + (16 * k)), 1));
        }

        asm.mov(r15, __qword_ptr[rdi + DataPointerSlot]);
        asm.push(__qword_ptr[rdi + 48]);
        asm.popfq();
        asm.mov(rax, __qword_ptr[rdi]);
        asm.mov(rbx, __qword_ptr[rdi + 8]);
        asm.mov(rcx, __qword_ptr[rdi + 16]);
        asm.mov(rdx, __qword_ptr[rdi + 24]);
        asm.mov(rsi, __qword_ptr[rdi + 32]);
        asm.mov(rdi, __qword_ptr[rdi + 40]);
        asm.Label(ref bodyStart);
        body(asm);
        asm.Label(ref resume);
        asm.pushfq();
        asm.xchg(__qword_ptr[rsp + 8], rdi);
        asm.pop(__qword_ptr[rdi + 48]);
        asm.mov(__qword_ptr[rdi], rax);
        asm.mov(__qword_ptr[rdi + 8], rbx);
        asm.mov(__qword_ptr[rdi + 16], rcx);
        asm.mov(__qword_ptr[rdi + 24], rdx);
        asm.mov(__qword_ptr[rdi + 32], rsi);
        asm.pop(rax);
        asm.mov(__qword_ptr[rdi + 40], rax);
        for (int k = 0; k < 16; k++)
        {
            asm.AddInstruction(Instruction.Create(Code.VEX_Vextractf128_xmmm128_ymm_imm8, new MemoryOperand(Register.RDI, UpperHalves + (16 * k)), Register.YMM0 + k, 1));
        }

        asm.fxsave(__[rdi + GuestImage]);
        asm.vzeroupper();
        asm.fxrstor(__[rdi + HostImage]);
        asm.pop(r15);
        asm.pop(r14);
        asm.pop(r13);
        asm.pop(r12);
        asm.pop(rbp);
        asm.pop(rbx);
        asm.ret();

        // The handler (rdi = signal, rsi = siginfo, rdx = ucontext): a fault at the body's first
        // instruction resumes after the body with the trap number in the block, which the
        // interrupted stack's top points at (the pushed RDI); anything else goes to the previous handler.
        asm.Label(ref handler);
        asm.lea(rcx, __[bodyStart]);
        asm.cmp(__qword_ptr[rdx + ContextRip], rcx);
        asm.jne(chain);
        asm.lea(rcx, __[resume]);
        asm.mov(__qword_ptr[rdx + ContextRip], rcx);
        asm.mov(rcx, __qword_ptr[rdx + ContextRsp]);
        asm.mov(rcx, __qword_ptr[rcx]);
        asm.mov(rax, __qword_ptr[rdx + ContextTrapNo]);
        asm.mov(__qword_ptr[rcx + TrapSlot], rax);
        asm.ret();
        asm.Label(ref chain);
        asm.mov(rax, previousHandler);
        asm.jmp(rax);

        using var stream = new MemoryStream();
        var result = asm.Assemble(new StreamCodeWriter(stream), 0, BlockEncoderOptions.ReturnNewInstructionOffsets);
        handlerOffset = (int)result.GetLabelRIP(handler);
        return stream.ToArray();
    }

    /// <summary>glibc's x86-64 struct sigaction: the handler, a 1024-bit signal mask, the flags, the restorer.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct SigAction
    {
        public ulong Handler;
        public SignalMask Mask;
        public int Flags;
        private readonly int _padding;
        public ulong Restorer;
    }

    [System.Runtime.CompilerServices.InlineArray(16)]
    private struct SignalMask
    {
        private ulong _element0;
    }

    private const int ProtRead = 1, ProtWrite = 2, ProtExec = 4, MapPrivate = 2, MapAnonymous = 0x20;

    [LibraryImport("libc", EntryPoint = "sigaction")]
    private static partial int Sigaction(int signal, SigAction* action, SigAction* previous);

    [LibraryImport("libc", EntryPoint = "mmap")]
    private static partial void* Mmap(void* address, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "mprotect")]
    private static partial int Mprotect(void* address, nuint length, int prot);

    [LibraryImport("libc", EntryPoint = "munmap")]
    private static partial int Munmap(void* address, nuint length);
}
