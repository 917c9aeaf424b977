using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.TestKit.Oracle;

/// <summary>
/// Where a case lives, identical in the host runner's process and in the guest: the body at
/// <see cref="Body"/> (the test machine's code address), the wrapper page, the state block and
/// the data region. Same addresses on both sides mean RIP, RSP, LEA results and pushed values
/// compare directly. The wrapper is the same code on both sides: the prologue loads every
/// register from the state block (FXRSTOR, the YMM upper halves, RFLAGS, the GPRs) and jumps to
/// the body; the body ends in a jump to the epilogue, which stores them all back. Only the ends
/// differ: the host enters through <see cref="Entry"/> (saving its callee-saved registers) and
/// leaves through a tail that returns to C; the guest starts at the prologue and halts. Guest
/// exceptions go to stubs that store the vector and the interrupted state as the runner's
/// signal handler does from its signal frame. oracle-runner.c repeats these numbers.
/// </summary>
public static class OracleLayout
{
    public const ulong Body = 0x10000;
    public const ulong Wrapper = 0x12000;
    public const ulong Entry = Wrapper;
    public const ulong Prologue = Wrapper + 0x100;
    public const ulong Epilogue = Wrapper + 0x400;
    public const ulong Tail = Wrapper + 0x700;
    public const ulong Stubs = Wrapper + 0x800;
    public const ulong CommonHandler = Wrapper + 0xC00;
    public const int StubStride = 32;
    public const ulong Block = 0x30000;
    public const ulong Data = 0x40000;
    public const int BlockSize = 1024, DataSize = 1024;

    /// <summary>Offsets in the state block.</summary>
    public const int OffRip = 128, OffRflags = 136, OffVector = 144, OffHostRsp = 152, OffCodeLength = 160, OffFx = 192, OffUpper = 704;

    /// <summary>The initial RSP: near the top of the data region, so pushes land in compared bytes.</summary>
    public const ulong Stack = Data + DataSize - 64;

    /// <summary>Memory operands are [R15 + disp] with disp below this, under the stack.</summary>
    public const int OperandSpace = 768;

    /// <summary>"No exception" in the vector slot.</summary>
    public const ulong NoVector = ulong.MaxValue;

    public const uint Magic = 0x4F52434C;

    private static readonly AssemblerRegister64[] s_gprs = [rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15];

    private static AssemblerMemoryOperand At(int offset) => __qword_ptr[(long)Block + offset];

    /// <summary>The wrapper page (4 KiB) for the host (<paramref name="host"/>) or the guest; with <paramref name="ymm"/> the upper halves are exchanged too.</summary>
    public static byte[] WrapperPage(bool host, bool ymm)
    {
        var page = new byte[4096];
        void Put(ulong address, Action<Assembler> build)
        {
            var asm = new Assembler(64);
            build(asm);
            byte[] bytes = asm.AssembleBytes(address);
            bytes.CopyTo(page, (int)(address - Wrapper));
        }

        if (host)
        {
            Put(Entry, a =>
            {
                a.push(rbx);
                a.push(rbp);
                a.push(r12);
                a.push(r13);
                a.push(r14);
                a.push(r15);
                a.mov(At(OffHostRsp), rsp);
                a.jmp(Prologue);
            });
            Put(Tail, a =>
            {
                a.cld();
                a.mov(rsp, At(OffHostRsp));
                a.pop(r15);
                a.pop(r14);
                a.pop(r13);
                a.pop(r12);
                a.pop(rbp);
                a.pop(rbx);
                a.ret();
            });
        }
        else
        {
            Put(Tail, a => a.hlt());
            for (int vector = 0; vector < 32; vector++)
            {
                int v = vector;
                Put(Stubs + (ulong)(v * StubStride), a =>
                {
                    a.mov(At(OffVector), v);
                    if (Cpu.Exceptions.Vector.HasErrorCode(v))
                    {
                        a.lea(rsp, __[rsp + 8]); // drop the error code; LEA leaves the flags alone
                    }

                    a.jmp(CommonHandler);
                });
            }

            Put(CommonHandler, a =>
            {
                // The frame: RIP, CS, RFLAGS, RSP, SS (SDM Vol. 3A 6.14.2).
                for (int k = 0; k < 16; k++)
                {
                    if (k != 4)
                    {
                        a.mov(At(8 * k), s_gprs[k]);
                    }
                }

                a.mov(rax, __qword_ptr[rsp]);
                a.mov(At(OffRip), rax);
                a.mov(rax, __qword_ptr[rsp + 16]);
                a.mov(At(OffRflags), rax);
                a.mov(rax, __qword_ptr[rsp + 24]);
                a.mov(At(8 * 4), rax);
                SaveVectors(a, ymm);
                a.hlt();
            });
        }

        Put(Prologue, a =>
        {
            a.fxrstor64(__[(long)Block + OffFx]);
            if (ymm)
            {
                for (int k = 0; k < 16; k++)
                {
                    a.AddInstruction(Instruction.Create(Code.VEX_Vinserti128_ymm_ymm_xmmm128_imm8, Register.YMM0 + k, Register.YMM0 + k, new MemoryOperand(Register.None, (long)Block + OffUpper + (16 * k)), 1));
                }
            }

            a.mov(rsp, At(8 * 4));
            a.push(At(OffRflags));
            a.popfq();
            for (int k = 0; k < 16; k++)
            {
                if (k != 4)
                {
                    a.mov(s_gprs[k], At(8 * k));
                }
            }

            a.jmp(Body);
        });
        Put(Epilogue, a =>
        {
            for (int k = 0; k < 16; k++)
            {
                a.mov(At(8 * k), s_gprs[k]);
            }

            a.pushfq();
            a.pop(At(OffRflags));
            // PUSHFQ left RFLAGS below RSP, undefined flags included: clear the slot on both sides.
            a.mov(__qword_ptr[rsp - 8], 0);
            SaveVectors(a, ymm);
            a.jmp(Tail);
        });
        return page;
    }

    private static void SaveVectors(Assembler a, bool ymm)
    {
        a.fxsave64(__[(long)Block + OffFx]);
        if (ymm)
        {
            for (int k = 0; k < 16; k++)
            {
                a.AddInstruction(Instruction.Create(Code.VEX_Vextracti128_xmmm128_ymm_imm8, new MemoryOperand(Register.None, (long)Block + OffUpper + (16 * k)), Register.YMM0 + k, 1));
            }
        }
    }
}
