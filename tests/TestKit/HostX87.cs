using System.Runtime.InteropServices;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.TestKit;

/// <summary>
/// The host CPU as the x87 oracle: <see cref="Wrap"/> builds one 64-bit function that loads an
/// x87 state with FRSTOR from a block, loads RFLAGS and RAX, points RSI at a 64-byte data area,
/// runs a body, then stores RAX, RFLAGS and the x87 state (FNSAVE) back. The same bytes run
/// natively (<see cref="Execute"/>) and in a guest, so the two blocks compare byte for byte.
/// The host's own x87 state is saved first and restored last. Bodies must not fault and must
/// not run a waiting x87 instruction while an unmasked exception is pending (that would be
/// #MF, a SIGFPE in the test host); the FNSAVE at the end does not wait.
/// </summary>
public static unsafe partial class HostX87
{
    /// <summary>Offsets in the exchange block.</summary>
    public const int StateIn = 0, StateOut = 112, Data = 224, DataSize = 64, FlagsSlot = 288, RaxSlot = 296, HostSave = 320, BlockSize = 448;

    /// <summary>The FSAVE image size in 32-bit format (64-bit mode uses it).</summary>
    public const int StateSize = 108;

    /// <summary>The wrapper around <paramref name="body"/>; RDI holds the block address on entry.</summary>
    public static void Wrap(Assembler asm, Action<Assembler> body)
    {
        asm.fnsave(__[rdi + HostSave]);
        asm.frstor(__[rdi + StateIn]);
        asm.push(__qword_ptr[rdi + FlagsSlot]);
        asm.popfq();
        asm.mov(rax, __qword_ptr[rdi + RaxSlot]);
        asm.lea(rsi, __[rdi + Data]);
        body(asm);
        asm.mov(__qword_ptr[rdi + RaxSlot], rax);
        asm.pushfq();
        asm.pop(__qword_ptr[rdi + FlagsSlot]);
        asm.fnsave(__[rdi + StateOut]);
        asm.frstor(__[rdi + HostSave]);
        asm.ret();
    }

    /// <summary>Runs the wrapped body natively on <paramref name="block"/> (<see cref="BlockSize"/> bytes).</summary>
    public static void Execute(Action<Assembler> body, Span<byte> block)
    {
        if (block.Length < BlockSize)
        {
            throw new ArgumentException("block too small", nameof(block));
        }

        var asm = new Assembler(64);
        Wrap(asm, body);
        byte[] code = asm.AssembleBytes(0);
        const int Page = 4096;

        // SAFETY: one fresh page, written then made executable, called once, unmapped in finally.
        void* page = Mmap(null, Page, 3, 0x22, -1, 0);
        if (page == (void*)-1)
        {
            throw new InvalidOperationException("mmap failed");
        }

        try
        {
            code.CopyTo(new Span<byte>(page, Page));
            if (Mprotect(page, Page, 5) != 0)
            {
                throw new InvalidOperationException("mprotect failed");
            }

            fixed (byte* p = block)
            {
                ((delegate* unmanaged<byte*, void>)page)(p);
            }
        }
        finally
        {
            _ = Munmap(page, Page);
        }
    }

    [LibraryImport("libc", EntryPoint = "mmap")]
    private static partial void* Mmap(void* address, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "mprotect")]
    private static partial int Mprotect(void* address, nuint length, int prot);

    [LibraryImport("libc", EntryPoint = "munmap")]
    private static partial int Munmap(void* address, nuint length);
}
