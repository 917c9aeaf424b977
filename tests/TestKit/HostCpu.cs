using System.Runtime.InteropServices;
using Iced.Intel;

namespace Emulator.TestKit;

/// <summary>
/// Runs a short instruction sequence natively on the host CPU, the instruction oracle of
/// DESIGN.md. The sequence is wrapped in a function that loads RAX, RBX, RCX, RDX, RSI, RDI and
/// RFLAGS from a block, runs the body, and stores them back; it executes from an mmap'ed page in
/// this process. Only for bodies that cannot fault or touch memory (ALU, shifts, multiplies,
/// bit operations): a fault here would take the test host down, which is why the full
/// differential harness of the instruction-set issue runs in a child process.
/// </summary>
public static unsafe partial class HostCpu
{
    /// <summary>The registers exchanged with the native body, in block order.</summary>
    public static readonly Register[] Registers = [Register.RAX, Register.RBX, Register.RCX, Register.RDX, Register.RSI, Register.RDI];

    public const int FlagsSlot = 6;

    /// <summary>Executes <paramref name="body"/> natively with <paramref name="state"/> (RAX, RBX, RCX, RDX, RSI, RDI, RFLAGS) in and out.</summary>
    public static void Execute(Action<Assembler> body, Span<ulong> state)
    {
        if (state.Length != 7)
        {
            throw new ArgumentException("state holds RAX, RBX, RCX, RDX, RSI, RDI and RFLAGS", nameof(state));
        }

        var asm = new Assembler(64);
        // SysV: RDI = pointer to the block. Save callee-saved RBX, keep the block pointer on the stack.
        asm.push(AssemblerRegisters.rbx);
        asm.push(AssemblerRegisters.rdi);
        asm.push(AssemblerRegisters.__qword_ptr[AssemblerRegisters.rdi + (8 * FlagsSlot)]);
        asm.popfq();
        asm.mov(AssemblerRegisters.rax, AssemblerRegisters.__qword_ptr[AssemblerRegisters.rdi]);
        asm.mov(AssemblerRegisters.rbx, AssemblerRegisters.__qword_ptr[AssemblerRegisters.rdi + 8]);
        asm.mov(AssemblerRegisters.rcx, AssemblerRegisters.__qword_ptr[AssemblerRegisters.rdi + 16]);
        asm.mov(AssemblerRegisters.rdx, AssemblerRegisters.__qword_ptr[AssemblerRegisters.rdi + 24]);
        asm.mov(AssemblerRegisters.rsi, AssemblerRegisters.__qword_ptr[AssemblerRegisters.rdi + 32]);
        asm.mov(AssemblerRegisters.rdi, AssemblerRegisters.__qword_ptr[AssemblerRegisters.rdi + 40]);
        body(asm);
        asm.pushfq();
        asm.xchg(AssemblerRegisters.__qword_ptr[AssemblerRegisters.rsp + 8], AssemblerRegisters.rdi); // rdi = block, saved slot = guest rdi
        asm.pop(AssemblerRegisters.__qword_ptr[AssemblerRegisters.rdi + (8 * FlagsSlot)]);
        asm.mov(AssemblerRegisters.__qword_ptr[AssemblerRegisters.rdi], AssemblerRegisters.rax);
        asm.mov(AssemblerRegisters.__qword_ptr[AssemblerRegisters.rdi + 8], AssemblerRegisters.rbx);
        asm.mov(AssemblerRegisters.__qword_ptr[AssemblerRegisters.rdi + 16], AssemblerRegisters.rcx);
        asm.mov(AssemblerRegisters.__qword_ptr[AssemblerRegisters.rdi + 24], AssemblerRegisters.rdx);
        asm.mov(AssemblerRegisters.__qword_ptr[AssemblerRegisters.rdi + 32], AssemblerRegisters.rsi);
        asm.pop(AssemblerRegisters.rax); // the guest's rdi
        asm.mov(AssemblerRegisters.__qword_ptr[AssemblerRegisters.rdi + 40], AssemblerRegisters.rax);
        asm.pop(AssemblerRegisters.rbx);
        asm.ret();

        byte[] code = asm.AssembleBytes(0);
        const int Page = 4096;
        if (code.Length > Page)
        {
            throw new ArgumentException("native body is too long", nameof(body));
        }

        // SAFETY: one fresh page, written then made executable, called once, unmapped in finally.
        void* page = Mmap(null, Page, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        if (page == (void*)-1)
        {
            throw new InvalidOperationException("mmap failed");
        }

        try
        {
            code.CopyTo(new Span<byte>(page, Page));
            if (Mprotect(page, Page, ProtRead | ProtExec) != 0)
            {
                throw new InvalidOperationException("mprotect failed");
            }

            fixed (ulong* block = state)
            {
                ((delegate* unmanaged<ulong*, void>)page)(block);
            }
        }
        finally
        {
            _ = Munmap(page, Page);
        }
    }

    private const int ProtRead = 1, ProtWrite = 2, ProtExec = 4, MapPrivate = 2, MapAnonymous = 0x20;

    [LibraryImport("libc", EntryPoint = "mmap")]
    private static partial void* Mmap(void* address, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "mprotect")]
    private static partial int Mprotect(void* address, nuint length, int prot);

    [LibraryImport("libc", EntryPoint = "munmap")]
    private static partial int Munmap(void* address, nuint length);
}
