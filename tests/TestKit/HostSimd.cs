using System.Runtime.InteropServices;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.TestKit;

/// <summary>
/// The host CPU as the oracle for SIMD code, a sibling of <see cref="HostCpu"/>: the body runs
/// natively with the general registers RAX, RBX, RCX, RDX, RSI, RDI, RFLAGS, the whole x87/MMX/SSE
/// state (an FXSAVE image, FXRSTOR'd before and FXSAVE'd after) and R15 pointing at a 64-byte,
/// 64-byte-aligned data buffer, so memory forms can use [R15 + disp]. The host's own FPU/SSE
/// state is saved and restored around the body. Only for bodies that cannot fault.
/// </summary>
public static unsafe partial class HostSimd
{
    /// <summary>Size of the data buffer [R15] points at.</summary>
    public const int DataBytes = 64;

    /// <summary>Offsets in an FXSAVE image (SDM Vol. 2A FXSAVE, table 3-53).</summary>
    public const int FcwOffset = 0, FswOffset = 2, FtwOffset = 4, MxcsrOffset = 24, StOffset = 32, XmmOffset = 160;

    internal const int GprBytes = 7 * 8, DataPointerSlot = 56, GuestImage = 64, HostImage = 576, UpperHalves = 1088, BlockBytes = 1344;

    /// <summary>
    /// Runs <paramref name="body"/> natively. <paramref name="gprs"/> holds RAX, RBX, RCX, RDX, RSI,
    /// RDI and RFLAGS, <paramref name="fxsave"/> a 512-byte FXSAVE image, <paramref name="upper"/>
    /// bits 255:128 of YMM0-15 (16 bytes each; loaded with VINSERTF128 after FXRSTOR, stored
    /// with VEXTRACTF128 before FXSAVE), <paramref name="data"/> the 64 bytes at [R15]; all are
    /// updated in place.
    /// </summary>
    public static void Execute(Action<Assembler> body, Span<ulong> gprs, Span<byte> fxsave, Span<byte> upper, Span<byte> data)
    {
        if (gprs.Length != 7 || fxsave.Length != 512 || upper.Length != 256 || data.Length != DataBytes)
        {
            throw new ArgumentException("7 registers, a 512-byte FXSAVE image, 256 upper-half bytes and 64 data bytes");
        }

        var asm = new Assembler(64);
        EmitEnter(asm);
        body(asm);
        EmitLeave(asm);

        byte[] code = asm.AssembleBytes(0);
        const int Page = 8192;
        if (code.Length > Page)
        {
            throw new ArgumentException("native body is too long", nameof(body));
        }

        // SAFETY: the block and the data buffer are aligned native allocations of the sizes used
        // above, freed in finally; the code page is fresh, written, made executable, called once
        // and unmapped in finally.
        byte* block = (byte*)NativeMemory.AlignedAlloc(BlockBytes, 64);
        byte* buffer = (byte*)NativeMemory.AlignedAlloc(DataBytes, 64);
        void* page = Mmap(null, Page, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
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

            MemoryMarshal.AsBytes(gprs).CopyTo(new Span<byte>(block, GprBytes));
            *(ulong*)(block + DataPointerSlot) = (ulong)buffer;
            fxsave.CopyTo(new Span<byte>(block + GuestImage, 512));
            upper.CopyTo(new Span<byte>(block + UpperHalves, 256));
            data.CopyTo(new Span<byte>(buffer, DataBytes));
            ((delegate* unmanaged<byte*, void>)page)(block);
            new Span<byte>(block, GprBytes).CopyTo(MemoryMarshal.AsBytes(gprs));
            new Span<byte>(block + GuestImage, 512).CopyTo(fxsave);
            new Span<byte>(block + UpperHalves, 256).CopyTo(upper);
            new Span<byte>(buffer, DataBytes).CopyTo(data);
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

    private const int ProtRead = 1, ProtWrite = 2, ProtExec = 4, MapPrivate = 2, MapAnonymous = 0x20;

    [LibraryImport("libc", EntryPoint = "mmap")]
    private static partial void* Mmap(void* address, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "mprotect")]
    private static partial int Mprotect(void* address, nuint length, int prot);

    [LibraryImport("libc", EntryPoint = "munmap")]
    private static partial int Munmap(void* address, nuint length);

    /// <summary>The stub's entry (RDI = the state block): saves the callee-saved registers and the host's FXSAVE image, loads the guest's x87/SSE/YMM state, RFLAGS and registers.</summary>
    internal static void EmitEnter(Assembler asm)
    {
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
    }

    /// <summary>The stub's exit after the body: stores the registers, RFLAGS and the YMM state back into the block, restores the host's state and returns.</summary>
    internal static void EmitLeave(Assembler asm)
    {
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
    }
}
