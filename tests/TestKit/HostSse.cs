using System.Runtime.InteropServices;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.TestKit;

/// <summary>
/// The host-CPU oracle for SSE code: <see cref="HostCpu"/>'s idea with XMM0-15, MXCSR, RAX, RCX,
/// RDX and RFLAGS exchanged through a block. The native stub saves the host's MXCSR, loads the
/// block's registers and MXCSR, runs the body, stores them back and restores the host MXCSR. Only
/// for register-only bodies with every MXCSR exception masked (an unmasked one would take the
/// test host down), that do not touch RDI or RSP. RSI points at <see cref="Data"/>, 64 bytes of
/// 64-byte aligned scratch memory for memory-operand forms. Compiled once, run many times.
/// </summary>
public sealed unsafe partial class HostSse : IDisposable
{
    public const int MxcsrSlot = 32, RaxSlot = 33, RcxSlot = 34, RdxSlot = 35, FlagsSlot = 36, Slots = 37;

    private const int Page = 4096;
    private void* _page;
    private void* _data;

    /// <summary>The memory RSI points at while the body runs.</summary>
    public Span<byte> Data => new(_data, 64);

    /// <summary>Assembles the stub around <paramref name="body"/> into an executable page.</summary>
    public HostSse(Action<Assembler> body)
    {
        // SAFETY: a separate read-write page for the body's memory operands, unmapped in Dispose.
        _data = Mmap(null, Page, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        if (_data == (void*)-1)
        {
            throw new InvalidOperationException("mmap failed");
        }

        var a = new Assembler(64);
        a.push(rbx);
        a.push(rdi);
        a.sub(rsp, 8);
        a.stmxcsr(__dword_ptr[rsp]);
        for (int k = 0; k < 16; k++)
        {
            a.movdqu(Xmm(k), __xmmword_ptr[rdi + (16 * k)]);
        }

        a.ldmxcsr(__dword_ptr[rdi + (8 * MxcsrSlot)]);
        a.push(__qword_ptr[rdi + (8 * FlagsSlot)]);
        a.popfq();
        a.mov(rax, __qword_ptr[rdi + (8 * RaxSlot)]);
        a.mov(rcx, __qword_ptr[rdi + (8 * RcxSlot)]);
        a.mov(rdx, __qword_ptr[rdi + (8 * RdxSlot)]);
        a.mov(rsi, (ulong)_data);
        body(a);
        a.pushfq();
        a.pop(__qword_ptr[rdi + (8 * FlagsSlot)]);
        a.mov(__qword_ptr[rdi + (8 * RaxSlot)], rax);
        a.mov(__qword_ptr[rdi + (8 * RcxSlot)], rcx);
        a.mov(__qword_ptr[rdi + (8 * RdxSlot)], rdx);
        a.stmxcsr(__dword_ptr[rdi + (8 * MxcsrSlot)]);
        for (int k = 0; k < 16; k++)
        {
            a.movdqu(__xmmword_ptr[rdi + (16 * k)], Xmm(k));
        }

        a.ldmxcsr(__dword_ptr[rsp]);
        a.add(rsp, 8);
        a.pop(rdi);
        a.pop(rbx);
        a.ret();
        byte[] code = a.AssembleBytes(0);
        if (code.Length > Page)
        {
            throw new ArgumentException("native body is too long", nameof(body));
        }

        // SAFETY: one fresh page, written, then made read+execute; unmapped in Dispose.
        _page = Mmap(null, Page, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        if (_page == (void*)-1)
        {
            throw new InvalidOperationException("mmap failed");
        }

        code.CopyTo(new Span<byte>(_page, Page));
        if (Mprotect(_page, Page, ProtRead | ProtExec) != 0)
        {
            throw new InvalidOperationException("mprotect failed");
        }
    }

    public static AssemblerRegisterXMM Xmm(int k) => k switch
    {
        0 => xmm0,
        1 => xmm1,
        2 => xmm2,
        3 => xmm3,
        4 => xmm4,
        5 => xmm5,
        6 => xmm6,
        7 => xmm7,
        8 => xmm8,
        9 => xmm9,
        10 => xmm10,
        11 => xmm11,
        12 => xmm12,
        13 => xmm13,
        14 => xmm14,
        _ => xmm15,
    };

    /// <summary>Runs the body on <paramref name="block"/> (<see cref="Slots"/> quadwords: XMM0-15 as low/high pairs, then MXCSR, RAX, RCX, RDX, RFLAGS).</summary>
    public void Run(Span<ulong> block)
    {
        if (block.Length != Slots)
        {
            throw new ArgumentException($"the block holds {Slots} quadwords", nameof(block));
        }

        if ((block[MxcsrSlot] & 0x1F80) != 0x1F80)
        {
            throw new ArgumentException("every MXCSR exception must be masked on the host", nameof(block));
        }

        // SAFETY: the page holds the stub assembled above; the block outlives the call.
        fixed (ulong* p = block)
        {
            ((delegate* unmanaged<ulong*, void>)_page)(p);
        }
    }

    public void Dispose()
    {
        if (_page != null)
        {
            _ = Munmap(_page, Page);
            _page = null;
        }

        if (_data != null)
        {
            _ = Munmap(_data, Page);
            _data = null;
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
