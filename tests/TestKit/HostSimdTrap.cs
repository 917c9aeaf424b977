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
    // HostSimd's block (its EmitEnter/EmitLeave use it), then the trap number.
    private const int GprBytes = HostSimd.GprBytes, DataPointerSlot = HostSimd.DataPointerSlot, GuestImage = HostSimd.GuestImage, UpperHalves = HostSimd.UpperHalves, TrapSlot = HostSimd.BlockBytes, BlockBytes = TrapSlot + 64;

    /// <summary>Offsets in Linux's x86-64 ucontext_t: uc_mcontext.gregs starts at 40; RSP, RIP and TRAPNO are gregs 15, 16 and 20.</summary>
    private const int ContextRsp = 40 + (15 * 8), ContextRip = 40 + (16 * 8), ContextTrapNo = 40 + (20 * 8);

    private const int Sigfpe = 8, SaSiginfo = 4;

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

        lock (HostYmm.SignalLock)
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
        HostSimd.EmitEnter(asm);
        asm.Label(ref bodyStart);
        body(asm);
        asm.Label(ref resume);
        HostSimd.EmitLeave(asm);

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
