using System.Numerics;
using System.Runtime.CompilerServices;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// Interpreter handlers specialised for one instruction's operand forms: the common integer
/// instructions (MOV, MOVZX, MOVSX, LEA, the ALU group, INC, DEC, SHL, SHR, SAR, IMUL, Jcc, JMP,
/// CALL rel, RET, PUSH and POP of a register) with general-purpose register, memory and immediate operands (8-bit
/// ones for the ALU group, MOV, INC and DEC). The generic handlers
/// (<see cref="Alu"/>, <see cref="Move"/>...) look up the operand kinds and sizes of every
/// instruction as it runs; these are chosen once per decoded instruction (<see cref="Select"/>,
/// when the interpreter first runs a block) and have the width, the operation and the kind of
/// each operand fixed by their type arguments. The semantics are those of the generic handlers,
/// access order and faults included; anything unusual (LOCK, segment or control registers, far
/// pointers) keeps the generic handler.
/// </summary>
public static unsafe class FastInteger
{
    /// <summary>The specialised handler for <paramref name="i"/>, or null when the generic one must run.</summary>
    public static delegate*<X86Cpu, in Instruction, void> Select(in Instruction i)
    {
        if (i.Encoding != EncodingKind.Legacy || i.HasLockPrefix)
        {
            return null;
        }

        switch (i.Mnemonic)
        {
            case Mnemonic.Add: return Binary<AddOp>(i);
            case Mnemonic.Or: return Binary<OrOp>(i);
            case Mnemonic.Adc: return Binary<AdcOp>(i);
            case Mnemonic.Sbb: return Binary<SbbOp>(i);
            case Mnemonic.And: return Binary<AndOp>(i);
            case Mnemonic.Sub: return Binary<SubOp>(i);
            case Mnemonic.Xor: return Binary<XorOp>(i);
            case Mnemonic.Cmp: return Binary<CmpOp>(i);
            case Mnemonic.Test: return Binary<TestOp>(i);
            case Mnemonic.Mov: return Binary<MovOp>(i);
            case Mnemonic.Inc: return Unary<IncOp>(i);
            case Mnemonic.Dec: return Unary<DecOp>(i);
            case Mnemonic.Lea: return Lea(i);
            case Mnemonic.Jo: return Jcc<CondO>(i);
            case Mnemonic.Jno: return Jcc<CondNo>(i);
            case Mnemonic.Jb: return Jcc<CondB>(i);
            case Mnemonic.Jae: return Jcc<CondAe>(i);
            case Mnemonic.Je: return Jcc<CondE>(i);
            case Mnemonic.Jne: return Jcc<CondNe>(i);
            case Mnemonic.Jbe: return Jcc<CondBe>(i);
            case Mnemonic.Ja: return Jcc<CondA>(i);
            case Mnemonic.Js: return Jcc<CondS>(i);
            case Mnemonic.Jns: return Jcc<CondNs>(i);
            case Mnemonic.Jp: return Jcc<CondP>(i);
            case Mnemonic.Jnp: return Jcc<CondNp>(i);
            case Mnemonic.Jl: return Jcc<CondL>(i);
            case Mnemonic.Jge: return Jcc<CondGe>(i);
            case Mnemonic.Jle: return Jcc<CondLe>(i);
            case Mnemonic.Jg: return Jcc<CondG>(i);
            case Mnemonic.Push: return PushPop(i, push: true);
            case Mnemonic.Pop: return PushPop(i, push: false);
            case Mnemonic.Jmp: return JmpNear(i);
            case Mnemonic.Call: return CallRelative(i);
            case Mnemonic.Ret: return RetNear(i);
            case Mnemonic.Shl or Mnemonic.Sal: return ShiftSelect<ShlOp>(i);
            case Mnemonic.Shr: return ShiftSelect<ShrOp>(i);
            case Mnemonic.Sar: return ShiftSelect<SarOp>(i);
            case Mnemonic.Imul: return Imul(i);
            case Mnemonic.Movzx: return Extend<ZeroExtend>(i);
            case Mnemonic.Movsx or Mnemonic.Movsxd: return Extend<SignExtendOp>(i);
            default: return null;
        }
    }

    /// <summary>Jcc with a near target, by the target's width.</summary>
    private static delegate*<X86Cpu, in Instruction, void> Jcc<TCond>(in Instruction i)
        where TCond : struct, ICondition
    {
        return i.Op0Kind switch
        {
            OpKind.NearBranch16 => &Jcc<TCond, Near16>,
            OpKind.NearBranch32 => &Jcc<TCond, Near32>,
            OpKind.NearBranch64 => &Jcc<TCond, Near64>,
            _ => null,
        };
    }

    /// <summary>The width of a general-purpose register operand (2, 4 or 8), or 0 for anything else.</summary>
    private static int GprWidth(Register r) => r.IsGPR8() ? 1 : r.IsGPR16() ? 2 : r.IsGPR32() ? 4 : r.IsGPR64() ? 8 : 0;

    /// <summary>The width of operand 0 when it is a 16-, 32- or 64-bit GPR or memory operand, else 0.</summary>
    private static int DestinationWidth(in Instruction i) => i.Op0Kind switch
    {
        OpKind.Register => GprWidth(i.Op0Register),
        // Plain integers only: a far pointer (JMP m16:16, SegPtr16) is 4 bytes too.
        OpKind.Memory => i.MemorySize switch
        {
            MemorySize.UInt8 or MemorySize.Int8 => 1,
            MemorySize.UInt16 or MemorySize.Int16 => 2,
            MemorySize.UInt32 or MemorySize.Int32 => 4,
            MemorySize.UInt64 or MemorySize.Int64 => 8,
            _ => 0,
        },
        _ => 0,
    };

    private static delegate*<X86Cpu, in Instruction, void> Binary<TOp>(in Instruction i)
        where TOp : struct, IBinaryOp
    {
        if (i.OpCount != 2)
        {
            return null;
        }

        return DestinationWidth(i) switch
        {
            1 => Binary<TOp, W8>(i),
            2 => Binary<TOp, W16>(i),
            4 => Binary<TOp, W32>(i),
            8 => Binary<TOp, W64>(i),
            _ => null,
        };
    }

    private static delegate*<X86Cpu, in Instruction, void> Binary<TOp, TW>(in Instruction i)
        where TOp : struct, IBinaryOp
        where TW : struct, IWidth
    {
        bool memory = i.Op0Kind == OpKind.Memory;
        switch (i.Op1Kind)
        {
            case OpKind.Register when GprWidth(i.Op1Register) == TW.Bytes:
                return memory ? &Binary<TOp, TW, DstMem, SrcReg> : &Binary<TOp, TW, DstReg, SrcReg>;
            case OpKind.Memory when !memory && i.MemorySize.GetSize() == TW.Bytes:
                return &Binary<TOp, TW, DstReg, SrcMem>;
            case OpKind.Immediate8to16 or OpKind.Immediate8to32 or OpKind.Immediate8to64:
            case OpKind.Immediate8 when TW.Bytes == 1:
                return memory ? &Binary<TOp, TW, DstMem, SrcImm8> : &Binary<TOp, TW, DstReg, SrcImm8>;
            case OpKind.Immediate16 or OpKind.Immediate32 or OpKind.Immediate32to64:
                return memory ? &Binary<TOp, TW, DstMem, SrcImm32> : &Binary<TOp, TW, DstReg, SrcImm32>;
            case OpKind.Immediate64 when !memory:
                return &Binary<TOp, TW, DstReg, SrcImm64>;
            default:
                return null;
        }
    }

    private static delegate*<X86Cpu, in Instruction, void> Unary<TOp>(in Instruction i)
        where TOp : struct, IUnaryOp
    {
        if (i.OpCount != 1)
        {
            return null;
        }

        bool memory = i.Op0Kind == OpKind.Memory;
        return DestinationWidth(i) switch
        {
            1 => memory ? &Unary<TOp, W8, DstMem> : &Unary<TOp, W8, DstReg>,
            2 => memory ? &Unary<TOp, W16, DstMem> : &Unary<TOp, W16, DstReg>,
            4 => memory ? &Unary<TOp, W32, DstMem> : &Unary<TOp, W32, DstReg>,
            8 => memory ? &Unary<TOp, W64, DstMem> : &Unary<TOp, W64, DstReg>,
            _ => null,
        };
    }

    private static delegate*<X86Cpu, in Instruction, void> Lea(in Instruction i)
    {
        if (i.Op0Kind != OpKind.Register || i.Op1Kind != OpKind.Memory)
        {
            return null;
        }

        return GprWidth(i.Op0Register) switch
        {
            2 => &Lea<W16>,
            4 => &Lea<W32>,
            8 => &Lea<W64>,
            _ => null,
        };
    }

    private static delegate*<X86Cpu, in Instruction, void> PushPop(in Instruction i, bool push)
    {
        // A general-purpose register whose width is the stack operand size (PUSH/POP r16/r32/r64).
        if (i.OpCount != 1 || i.Op0Kind != OpKind.Register || GprWidth(i.Op0Register) is var width && width == 0
            || (push ? -i.StackPointerIncrement : i.StackPointerIncrement) != width)
        {
            return null;
        }

        return (width, push) switch
        {
            (2, true) => &PushReg<W16>,
            (4, true) => &PushReg<W32>,
            (8, true) => &PushReg<W64>,
            (2, false) => &PopReg<W16>,
            (4, false) => &PopReg<W32>,
            _ => &PopReg<W64>,
        };
    }

    private static delegate*<X86Cpu, in Instruction, void> JmpNear(in Instruction i)
    {
        if (i.OpCount != 1)
        {
            return null;
        }

        switch (i.Op0Kind)
        {
            case OpKind.NearBranch16: return &JmpRelative<Near16>;
            case OpKind.NearBranch32: return &JmpRelative<Near32>;
            case OpKind.NearBranch64: return &JmpRelative<Near64>;
        }

        bool memory = i.Op0Kind == OpKind.Memory;
        return DestinationWidth(i) switch
        {
            2 => memory ? &JmpIndirect<W16, DstMem> : &JmpIndirect<W16, DstReg>,
            4 => memory ? &JmpIndirect<W32, DstMem> : &JmpIndirect<W32, DstReg>,
            8 => memory ? &JmpIndirect<W64, DstMem> : &JmpIndirect<W64, DstReg>,
            _ => null,
        };
    }

    /// <summary>CALL rel16/rel32: the width is the stack operand size.</summary>
    private static delegate*<X86Cpu, in Instruction, void> CallRelative(in Instruction i)
    {
        if (i.OpCount != 1)
        {
            return null;
        }

        return (i.Op0Kind, -i.StackPointerIncrement) switch
        {
            (OpKind.NearBranch16, 2) => &CallRelative<W16, Near16>,
            (OpKind.NearBranch32, 4) => &CallRelative<W32, Near32>,
            (OpKind.NearBranch64, 8) => &CallRelative<W64, Near64>,
            _ => null,
        };
    }

    /// <summary>RET without an immediate.</summary>
    private static delegate*<X86Cpu, in Instruction, void> RetNear(in Instruction i)
    {
        if (i.OpCount != 0)
        {
            return null;
        }

        return i.StackPointerIncrement switch
        {
            2 => &RetNear<W16>,
            4 => &RetNear<W32>,
            8 => &RetNear<W64>,
            _ => null,
        };
    }

    /// <summary>SHL, SHR, SAR of a 32- or 64-bit operand by an immediate or CL.</summary>
    private static delegate*<X86Cpu, in Instruction, void> ShiftSelect<TOp>(in Instruction i)
        where TOp : struct, IShiftOp
    {
        if (i.OpCount != 2)
        {
            return null;
        }

        bool memory = i.Op0Kind == OpKind.Memory;
        if (i.Op1Kind == OpKind.Immediate8)
        {
            return DestinationWidth(i) switch
            {
                4 => memory ? &Shift<TOp, W32, DstMem, CountImm> : &Shift<TOp, W32, DstReg, CountImm>,
                8 => memory ? &Shift<TOp, W64, DstMem, CountImm> : &Shift<TOp, W64, DstReg, CountImm>,
                _ => null,
            };
        }

        if (i.Op1Kind == OpKind.Register && i.Op1Register == Register.CL)
        {
            return DestinationWidth(i) switch
            {
                4 => memory ? &Shift<TOp, W32, DstMem, CountCl> : &Shift<TOp, W32, DstReg, CountCl>,
                8 => memory ? &Shift<TOp, W64, DstMem, CountCl> : &Shift<TOp, W64, DstReg, CountCl>,
                _ => null,
            };
        }

        return null;
    }

    /// <summary>IMUL r, r/m and IMUL r, r/m, imm (the one-operand form keeps the generic handler).</summary>
    private static delegate*<X86Cpu, in Instruction, void> Imul(in Instruction i)
    {
        if (i.OpCount is not (2 or 3) || i.Op0Kind != OpKind.Register)
        {
            return null;
        }

        int width = GprWidth(i.Op0Register);
        bool memory = i.Op1Kind == OpKind.Memory;
        if (i.OpCount == 2)
        {
            return width switch
            {
                2 => memory ? &Imul<W16, SrcMem> : &Imul<W16, SrcReg>,
                4 => memory ? &Imul<W32, SrcMem> : &Imul<W32, SrcReg>,
                8 => memory ? &Imul<W64, SrcMem> : &Imul<W64, SrcReg>,
                _ => null,
            };
        }

        if (i.Op2Kind is OpKind.Immediate8to16 or OpKind.Immediate8to32 or OpKind.Immediate8to64)
        {
            return width switch
            {
                2 => memory ? &Imul3<W16, SrcMem, SrcImm8> : &Imul3<W16, SrcReg, SrcImm8>,
                4 => memory ? &Imul3<W32, SrcMem, SrcImm8> : &Imul3<W32, SrcReg, SrcImm8>,
                8 => memory ? &Imul3<W64, SrcMem, SrcImm8> : &Imul3<W64, SrcReg, SrcImm8>,
                _ => null,
            };
        }

        return width switch
        {
            2 => memory ? &Imul3<W16, SrcMem, SrcImm32> : &Imul3<W16, SrcReg, SrcImm32>,
            4 => memory ? &Imul3<W32, SrcMem, SrcImm32> : &Imul3<W32, SrcReg, SrcImm32>,
            8 => memory ? &Imul3<W64, SrcMem, SrcImm32> : &Imul3<W64, SrcReg, SrcImm32>,
            _ => null,
        };
    }

    /// <summary>MOVZX, MOVSX and MOVSXD into a 16-, 32- or 64-bit register.</summary>
    private static delegate*<X86Cpu, in Instruction, void> Extend<TOp>(in Instruction i)
        where TOp : struct, IExtendOp
    {
        if (i.OpCount != 2 || i.Op0Kind != OpKind.Register)
        {
            return null;
        }

        int from = i.Op1Kind == OpKind.Register ? i.Op1Register.GetSize() : i.MemorySize.GetSize();
        bool memory = i.Op1Kind == OpKind.Memory;
        if (!memory && (i.Op1Kind != OpKind.Register || !i.Op1Register.IsGPR()))
        {
            return null;
        }

        return (GprWidth(i.Op0Register), from) switch
        {
            (2, 1) => memory ? &Extend<TOp, W16, W8, SrcMem> : &Extend<TOp, W16, W8, SrcReg8>,
            (4, 1) => memory ? &Extend<TOp, W32, W8, SrcMem> : &Extend<TOp, W32, W8, SrcReg8>,
            (8, 1) => memory ? &Extend<TOp, W64, W8, SrcMem> : &Extend<TOp, W64, W8, SrcReg8>,
            (4, 2) => memory ? &Extend<TOp, W32, W16, SrcMem> : &Extend<TOp, W32, W16, SrcReg>,
            (8, 2) => memory ? &Extend<TOp, W64, W16, SrcMem> : &Extend<TOp, W64, W16, SrcReg>,
            (8, 4) => memory ? &Extend<TOp, W64, W32, SrcMem> : &Extend<TOp, W64, W32, SrcReg>,
            _ => null,
        };
    }

    // ---- Handlers ----

    private static void Binary<TOp, TW, TDst, TSrc>(X86Cpu c, in Instruction i)
        where TOp : struct, IBinaryOp
        where TW : struct, IWidth
        where TDst : struct, IDestination
        where TSrc : struct, ISource
    {
        // Operand 0 first, then operand 1, as the generic handler reads them.
        ulong a = 0;
        ulong ea = 0;
        if (TOp.ReadsDestination && !TDst.Read<TW>(c, i, out a, out ea))
        {
            return;
        }

        if (!TSrc.Read<TW>(c, i, out ulong b))
        {
            return;
        }

        if (!TOp.ReadsDestination && TDst.IsMemory)
        {
            ea = c.EffectiveAddress(i);
        }

        ulong flags = c.S.Rflags;
        ulong r = TOp.Apply<TW>(a, b, ref flags);
        if (TOp.WritesDestination && !TDst.Write<TW>(c, i, ea, r))
        {
            return;
        }

        if (TOp.WritesFlags)
        {
            c.S.Rflags = flags;
        }
    }

    private static void Unary<TOp, TW, TDst>(X86Cpu c, in Instruction i)
        where TOp : struct, IUnaryOp
        where TW : struct, IWidth
        where TDst : struct, IDestination
    {
        if (!TDst.Read<TW>(c, i, out ulong a, out ulong ea))
        {
            return;
        }

        ulong flags = c.S.Rflags;
        ulong r = TOp.Apply<TW>(a, ref flags);
        if (TDst.Write<TW>(c, i, ea, r))
        {
            c.S.Rflags = flags;
        }
    }

    private static void Lea<TW>(X86Cpu c, in Instruction i)
        where TW : struct, IWidth
    {
        TW.Set(ref Gpr(c, i.Op0Register), c.EffectiveAddress(i));
    }

    private static void Jcc<TCond, TTarget>(X86Cpu c, in Instruction i)
        where TCond : struct, ICondition
        where TTarget : struct, ITarget
    {
        if (TCond.Test(c.S.Rflags))
        {
            ulong target = TTarget.Get(i);
            if (c.CheckBranchTarget(c.S.Cs, target))
            {
                c.S.Rip = target;
            }
        }
    }

    private static void JmpRelative<TTarget>(X86Cpu c, in Instruction i)
        where TTarget : struct, ITarget
    {
        ulong target = TTarget.Get(i);
        if (c.CheckBranchTarget(c.S.Cs, target))
        {
            c.S.Rip = target;
        }
    }

    /// <summary>As <see cref="Branch.CallNear"/>: the target is checked before the return address is pushed.</summary>
    private static void CallRelative<TW, TTarget>(X86Cpu c, in Instruction i)
        where TW : struct, IWidth
        where TTarget : struct, ITarget
    {
        ulong target = TTarget.Get(i);
        ulong returnRip = c.S.Rip;
        if (c.CheckBranchTarget(c.S.Cs, target) && c.Push(returnRip & TW.Mask, TW.Bytes))
        {
            c.S.Rip = target;
        }
    }

    /// <summary>As <see cref="Branch.RetNear"/>: read the return address, check it, then release the stack slot.</summary>
    private static void RetNear<TW>(X86Cpu c, in Instruction i)
        where TW : struct, IWidth
    {
        if (c.PeekStack(0, TW.Bytes, out ulong target) && c.CheckBranchTarget(c.S.Cs, target))
        {
            c.S.Rip = target;
            c.AdjustStack(TW.Bytes);
        }
    }

    private static void JmpIndirect<TW, TDst>(X86Cpu c, in Instruction i)
        where TW : struct, IWidth
        where TDst : struct, IDestination
    {
        if (TDst.Read<TW>(c, i, out ulong target, out _) && c.CheckBranchTarget(c.S.Cs, target))
        {
            c.S.Rip = target;
        }
    }

    /// <summary>
    /// As <see cref="Instructions.Shift"/>: the count is masked to 5 bits (6 for 64-bit operands);
    /// a masked count of zero goes to the generic handler, which writes the register back (or
    /// probes the memory destination) and changes no flags.
    /// </summary>
    private static void Shift<TOp, TW, TDst, TCount>(X86Cpu c, in Instruction i)
        where TOp : struct, IShiftOp
        where TW : struct, IWidth
        where TDst : struct, IDestination
        where TCount : struct, ICount
    {
        int count = (int)(TCount.Get(c, i) & (TW.Bytes == 8 ? 0x3FUL : 0x1FUL));
        if (count == 0)
        {
            TOp.Generic(c, i);
            return;
        }

        if (!TDst.Read<TW>(c, i, out ulong a, out ulong ea))
        {
            return;
        }

        ulong flags = c.S.Rflags;
        ulong r = TOp.Apply<TW>(a, count, ref flags);
        if (TDst.Write<TW>(c, i, ea, r))
        {
            c.S.Rflags = flags;
        }
    }

    private static void Imul<TW, TSrc>(X86Cpu c, in Instruction i)
        where TW : struct, IWidth
        where TSrc : struct, ISource
    {
        ref ulong destination = ref Gpr(c, i.Op0Register);
        ulong x = destination & TW.Mask;
        if (TSrc.Read<TW>(c, i, out ulong y))
        {
            MultiplyInto<TW>(c, ref destination, x, y);
        }
    }

    private static void Imul3<TW, TSrc, TImm>(X86Cpu c, in Instruction i)
        where TW : struct, IWidth
        where TSrc : struct, ISource
        where TImm : struct, ISource
    {
        if (TSrc.Read<TW>(c, i, out ulong x))
        {
            TImm.Read<TW>(c, i, out ulong y);
            MultiplyInto<TW>(c, ref Gpr(c, i.Op0Register), x, y);
        }
    }

    /// <summary>The truncated signed product; CF = OF = the product did not fit, AF = 0, SF, ZF, PF from the result (as MulDiv).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MultiplyInto<TW>(X86Cpu c, ref ulong destination, ulong x, ulong y)
        where TW : struct, IWidth
    {
        ulong result;
        bool overflow;
        if (TW.Bytes == 8)
        {
            long high = Math.BigMul((long)x, (long)y, out long low);
            result = (ulong)low;
            overflow = high != (low >> 63);
        }
        else
        {
            int shift = 64 - TW.Bits;
            long full = ((long)(x << shift) >> shift) * ((long)(y << shift) >> shift);
            result = (ulong)full & TW.Mask;
            overflow = ((long)(result << shift) >> shift) != full;
        }

        TW.Set(ref destination, result);
        ulong of = overflow ? 1UL : 0;
        c.S.Rflags = (c.S.Rflags & ~Flags.Arith) | of | (of << 11) | ResultFlags<TW>(result);
    }

    private static void Extend<TOp, TW, TFrom, TSrc>(X86Cpu c, in Instruction i)
        where TOp : struct, IExtendOp
        where TW : struct, IWidth
        where TFrom : struct, IWidth
        where TSrc : struct, ISource
    {
        if (TSrc.Read<TFrom>(c, i, out ulong value))
        {
            TW.Set(ref Gpr(c, i.Op0Register), TOp.Apply<TFrom>(value));
        }
    }

    private static void PushReg<TW>(X86Cpu c, in Instruction i)
        where TW : struct, IWidth
    {
        c.Push(Gpr(c, i.Op0Register) & TW.Mask, TW.Bytes);
    }

    private static void PopReg<TW>(X86Cpu c, in Instruction i)
        where TW : struct, IWidth
    {
        if (c.PeekStack(0, TW.Bytes, out ulong value))
        {
            c.AdjustStack(TW.Bytes);
            TW.Set(ref Gpr(c, i.Op0Register), value);
        }
    }

    /// <summary>The 64-bit slot of a 16-, 32- or 64-bit general-purpose register (RAX..R15 in encoding order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref ulong Gpr(X86Cpu c, Register r)
    {
        // The GPRs are the first field of CpuState, and Iced numbers each width's registers in
        // encoding order, 16 per width, so the low four bits of the distance from AX are the index.
        // SAFETY: the index is masked to 0..15 and the state holds 16 registers.
        return ref ((ulong*)c.StatePointer)[((int)r - (int)Register.AX) & 15];
    }

    /// <summary>Parity of the low byte: PF set when the count of set bits is even.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Parity(ulong r) => (~(ulong)BitOperations.PopCount(r & 0xFF) & 1) << 2;

    /// <summary>ZF, SF and PF of a result that fits the width.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ResultFlags<TW>(ulong r)
        where TW : struct, IWidth
    {
        return ((r == 0 ? 1UL : 0) << 6) | (((r >> (TW.Bits - 1)) & 1) << 7) | Parity(r);
    }

    /// <summary>ADD and ADC (SDM Vol. 2A): as <see cref="Arith.Add"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Add<TW>(ulong a, ulong b, ulong carry, ref ulong flags)
        where TW : struct, IWidth
    {
        ulong sum = a + b + carry;
        ulong r = sum & TW.Mask;
        ulong cf = TW.Bytes == 8 ? (r < a || (carry != 0 && r == a) ? 1UL : 0) : sum >> TW.Bits;
        ulong of = (((a ^ r) & (b ^ r)) >> (TW.Bits - 1)) & 1;
        flags = (flags & ~Flags.Arith) | cf | ((a ^ b ^ r) & Flags.AF) | (of << 11) | ResultFlags<TW>(r);
        return r;
    }

    /// <summary>SUB, SBB, CMP, DEC (SDM Vol. 2): as <see cref="Arith.Sub"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Sub<TW>(ulong a, ulong b, ulong borrow, ref ulong flags)
        where TW : struct, IWidth
    {
        ulong r = (a - b - borrow) & TW.Mask;
        ulong cf = a < b || (borrow != 0 && a == b) ? 1UL : 0;
        ulong of = (((a ^ b) & (a ^ r)) >> (TW.Bits - 1)) & 1;
        flags = (flags & ~Flags.Arith) | cf | ((a ^ b ^ r) & Flags.AF) | (of << 11) | ResultFlags<TW>(r);
        return r;
    }

    /// <summary>AND, OR, XOR, TEST: CF = OF = AF = 0, as <see cref="Arith.Logic"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Logic<TW>(ulong r, ref ulong flags)
        where TW : struct, IWidth
    {
        flags = (flags & ~Flags.Arith) | ResultFlags<TW>(r);
        return r;
    }

    // ---- Widths ----

    private interface IWidth
    {
        static abstract int Bytes { get; }

        static abstract int Bits { get; }

        static abstract ulong Mask { get; }

        /// <summary>Writes a register of this width: 16 bits merge, 32 bits zero-extend (SDM Vol. 1 3.4.1.1).</summary>
        static abstract void Set(ref ulong slot, ulong value);
    }

    /// <summary>8 bits: only as a source width (MOVZX, MOVSX).</summary>
    private struct W8 : IWidth
    {
        public static int Bytes => 1;

        public static int Bits => 8;

        public static ulong Mask => 0xFF;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Set(ref ulong slot, ulong value) => slot = (slot & ~0xFFUL) | (value & 0xFF);
    }

    private struct W16 : IWidth
    {
        public static int Bytes => 2;

        public static int Bits => 16;

        public static ulong Mask => 0xFFFF;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Set(ref ulong slot, ulong value) => slot = (slot & ~0xFFFFUL) | (value & 0xFFFF);
    }

    private struct W32 : IWidth
    {
        public static int Bytes => 4;

        public static int Bits => 32;

        public static ulong Mask => 0xFFFF_FFFF;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Set(ref ulong slot, ulong value) => slot = value & 0xFFFF_FFFF;
    }

    private struct W64 : IWidth
    {
        public static int Bytes => 8;

        public static int Bits => 64;

        public static ulong Mask => ulong.MaxValue;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Set(ref ulong slot, ulong value) => slot = value;
    }

    // ---- Operand 0: a register or a memory operand ----

    private interface IDestination
    {
        static abstract bool IsMemory { get; }

        /// <summary>Reads the operand; for memory also returns its effective address for the write.</summary>
        static abstract bool Read<TW>(X86Cpu c, in Instruction i, out ulong value, out ulong ea)
            where TW : struct, IWidth;

        static abstract bool Write<TW>(X86Cpu c, in Instruction i, ulong ea, ulong value)
            where TW : struct, IWidth;
    }

    private struct DstReg : IDestination
    {
        public static bool IsMemory => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool Read<TW>(X86Cpu c, in Instruction i, out ulong value, out ulong ea)
            where TW : struct, IWidth
        {
            // 8-bit registers include AH..BH: the generic accessors know where each one lives.
            value = TW.Bytes == 1 ? c.GetReg(i.Op0Register) : Gpr(c, i.Op0Register) & TW.Mask;
            ea = 0;
            return true;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool Write<TW>(X86Cpu c, in Instruction i, ulong ea, ulong value)
            where TW : struct, IWidth
        {
            if (TW.Bytes == 1)
            {
                c.SetReg(i.Op0Register, value);
            }
            else
            {
                TW.Set(ref Gpr(c, i.Op0Register), value);
            }

            return true;
        }
    }

    private struct DstMem : IDestination
    {
        public static bool IsMemory => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool Read<TW>(X86Cpu c, in Instruction i, out ulong value, out ulong ea)
            where TW : struct, IWidth
        {
            ea = c.EffectiveAddress(i);
            return c.ReadData(X86Cpu.MemorySegment(i), ea, TW.Bytes, out value);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool Write<TW>(X86Cpu c, in Instruction i, ulong ea, ulong value)
            where TW : struct, IWidth
        {
            return c.WriteData(X86Cpu.MemorySegment(i), ea, TW.Bytes, value);
        }
    }

    // ---- Operand 1 ----

    private interface ISource
    {
        static abstract bool Read<TW>(X86Cpu c, in Instruction i, out ulong value)
            where TW : struct, IWidth;
    }

    private struct SrcReg : ISource
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool Read<TW>(X86Cpu c, in Instruction i, out ulong value)
            where TW : struct, IWidth
        {
            value = TW.Bytes == 1 ? c.GetReg(i.Op1Register) : Gpr(c, i.Op1Register) & TW.Mask;
            return true;
        }
    }

    private struct SrcMem : ISource
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool Read<TW>(X86Cpu c, in Instruction i, out ulong value)
            where TW : struct, IWidth
        {
            return c.ReadData(X86Cpu.MemorySegment(i), c.EffectiveAddress(i), TW.Bytes, out value);
        }
    }

    /// <summary>An 8-bit register (AL..R15L, or AH..BH) as operand 1.</summary>
    private struct SrcReg8 : ISource
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool Read<TW>(X86Cpu c, in Instruction i, out ulong value)
            where TW : struct, IWidth
        {
            value = c.GetReg(i.Op1Register);
            return true;
        }
    }

    private struct SrcImm8 : ISource
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool Read<TW>(X86Cpu c, in Instruction i, out ulong value)
            where TW : struct, IWidth
        {
            value = (ulong)i.Immediate8to64 & TW.Mask;
            return true;
        }
    }

    private struct SrcImm32 : ISource
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool Read<TW>(X86Cpu c, in Instruction i, out ulong value)
            where TW : struct, IWidth
        {
            value = (ulong)i.Immediate32to64 & TW.Mask;
            return true;
        }
    }

    private struct SrcImm64 : ISource
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool Read<TW>(X86Cpu c, in Instruction i, out ulong value)
            where TW : struct, IWidth
        {
            value = i.Immediate64 & TW.Mask;
            return true;
        }
    }

    // ---- Operations ----

    private interface IBinaryOp
    {
        static abstract bool ReadsDestination { get; }

        static abstract bool WritesDestination { get; }

        static abstract bool WritesFlags { get; }

        static abstract ulong Apply<TW>(ulong a, ulong b, ref ulong flags)
            where TW : struct, IWidth;
    }

    private struct AddOp : IBinaryOp
    {
        public static bool ReadsDestination => true;

        public static bool WritesDestination => true;

        public static bool WritesFlags => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Apply<TW>(ulong a, ulong b, ref ulong flags)
            where TW : struct, IWidth => Add<TW>(a, b, 0, ref flags);
    }

    private struct AdcOp : IBinaryOp
    {
        public static bool ReadsDestination => true;

        public static bool WritesDestination => true;

        public static bool WritesFlags => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Apply<TW>(ulong a, ulong b, ref ulong flags)
            where TW : struct, IWidth => Add<TW>(a, b, flags & Flags.CF, ref flags);
    }

    private struct SubOp : IBinaryOp
    {
        public static bool ReadsDestination => true;

        public static bool WritesDestination => true;

        public static bool WritesFlags => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Apply<TW>(ulong a, ulong b, ref ulong flags)
            where TW : struct, IWidth => Sub<TW>(a, b, 0, ref flags);
    }

    private struct SbbOp : IBinaryOp
    {
        public static bool ReadsDestination => true;

        public static bool WritesDestination => true;

        public static bool WritesFlags => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Apply<TW>(ulong a, ulong b, ref ulong flags)
            where TW : struct, IWidth => Sub<TW>(a, b, flags & Flags.CF, ref flags);
    }

    private struct CmpOp : IBinaryOp
    {
        public static bool ReadsDestination => true;

        public static bool WritesDestination => false;

        public static bool WritesFlags => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Apply<TW>(ulong a, ulong b, ref ulong flags)
            where TW : struct, IWidth => Sub<TW>(a, b, 0, ref flags);
    }

    private struct AndOp : IBinaryOp
    {
        public static bool ReadsDestination => true;

        public static bool WritesDestination => true;

        public static bool WritesFlags => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Apply<TW>(ulong a, ulong b, ref ulong flags)
            where TW : struct, IWidth => Logic<TW>(a & b, ref flags);
    }

    private struct OrOp : IBinaryOp
    {
        public static bool ReadsDestination => true;

        public static bool WritesDestination => true;

        public static bool WritesFlags => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Apply<TW>(ulong a, ulong b, ref ulong flags)
            where TW : struct, IWidth => Logic<TW>(a | b, ref flags);
    }

    private struct XorOp : IBinaryOp
    {
        public static bool ReadsDestination => true;

        public static bool WritesDestination => true;

        public static bool WritesFlags => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Apply<TW>(ulong a, ulong b, ref ulong flags)
            where TW : struct, IWidth => Logic<TW>(a ^ b, ref flags);
    }

    private struct TestOp : IBinaryOp
    {
        public static bool ReadsDestination => true;

        public static bool WritesDestination => false;

        public static bool WritesFlags => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Apply<TW>(ulong a, ulong b, ref ulong flags)
            where TW : struct, IWidth => Logic<TW>(a & b, ref flags);
    }

    /// <summary>MOV: no read of the destination, no flags.</summary>
    private struct MovOp : IBinaryOp
    {
        public static bool ReadsDestination => false;

        public static bool WritesDestination => true;

        public static bool WritesFlags => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Apply<TW>(ulong a, ulong b, ref ulong flags)
            where TW : struct, IWidth => b;
    }

    private interface IUnaryOp
    {
        static abstract ulong Apply<TW>(ulong a, ref ulong flags)
            where TW : struct, IWidth;
    }

    /// <summary>INC and DEC leave CF alone (SDM Vol. 2A, INC, DEC).</summary>
    private struct IncOp : IUnaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Apply<TW>(ulong a, ref ulong flags)
            where TW : struct, IWidth
        {
            ulong cf = flags & Flags.CF;
            ulong r = Add<TW>(a, 1, 0, ref flags);
            flags = (flags & ~Flags.CF) | cf;
            return r;
        }
    }

    private struct DecOp : IUnaryOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Apply<TW>(ulong a, ref ulong flags)
            where TW : struct, IWidth
        {
            ulong cf = flags & Flags.CF;
            ulong r = Sub<TW>(a, 1, 0, ref flags);
            flags = (flags & ~Flags.CF) | cf;
            return r;
        }
    }

    // ---- Shifts (SDM Vol. 2B, SAL/SAR/SHL/SHR), for a masked count of 1..bits-1 ----

    private interface ICount
    {
        static abstract ulong Get(X86Cpu c, in Instruction i);
    }

    private struct CountImm : ICount
    {
        public static ulong Get(X86Cpu c, in Instruction i) => i.Immediate8;
    }

    private struct CountCl : ICount
    {
        public static ulong Get(X86Cpu c, in Instruction i) => ((ulong*)c.StatePointer)[1] & 0xFF;
    }

    private interface IShiftOp
    {
        static abstract ulong Apply<TW>(ulong a, int count, ref ulong flags)
            where TW : struct, IWidth;

        /// <summary>The generic handler, for a masked count of zero.</summary>
        static abstract void Generic(X86Cpu c, in Instruction i);
    }

    /// <summary>SHL: CF = the last bit out, OF = MSB(result) xor CF, AF = 0.</summary>
    private struct ShlOp : IShiftOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Apply<TW>(ulong a, int count, ref ulong flags)
            where TW : struct, IWidth
        {
            ulong cf = (a >> (TW.Bits - count)) & 1;
            ulong r = (a << count) & TW.Mask;
            ulong of = ((r >> (TW.Bits - 1)) & 1) ^ cf;
            flags = (flags & ~Flags.Arith) | cf | (of << 11) | ResultFlags<TW>(r);
            return r;
        }

        public static void Generic(X86Cpu c, in Instruction i) => Instructions.Shift.Shl(c, i);
    }

    /// <summary>SHR: CF = the last bit out, OF = MSB of the operand for a count of 1, else 0; AF = 0.</summary>
    private struct ShrOp : IShiftOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Apply<TW>(ulong a, int count, ref ulong flags)
            where TW : struct, IWidth
        {
            ulong cf = (a >> (count - 1)) & 1;
            ulong r = a >> count;
            ulong of = count == 1 ? (a >> (TW.Bits - 1)) & 1 : 0;
            flags = (flags & ~Flags.Arith) | cf | (of << 11) | ResultFlags<TW>(r);
            return r;
        }

        public static void Generic(X86Cpu c, in Instruction i) => Instructions.Shift.Shr(c, i);
    }

    /// <summary>SAR: CF = the last bit out, OF = 0, AF = 0.</summary>
    private struct SarOp : IShiftOp
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Apply<TW>(ulong a, int count, ref ulong flags)
            where TW : struct, IWidth
        {
            int shift = 64 - TW.Bits;
            long extended = (long)(a << shift) >> shift;
            ulong cf = (ulong)(extended >> (count - 1)) & 1;
            ulong r = (ulong)(extended >> count) & TW.Mask;
            flags = (flags & ~Flags.Arith) | cf | ResultFlags<TW>(r);
            return r;
        }

        public static void Generic(X86Cpu c, in Instruction i) => Instructions.Shift.Sar(c, i);
    }

    // ---- MOVZX, MOVSX ----

    private interface IExtendOp
    {
        static abstract ulong Apply<TFrom>(ulong value)
            where TFrom : struct, IWidth;
    }

    private struct ZeroExtend : IExtendOp
    {
        public static ulong Apply<TFrom>(ulong value)
            where TFrom : struct, IWidth => value & TFrom.Mask;
    }

    private struct SignExtendOp : IExtendOp
    {
        public static ulong Apply<TFrom>(ulong value)
            where TFrom : struct, IWidth => (ulong)((long)(value << (64 - TFrom.Bits)) >> (64 - TFrom.Bits));
    }

    // ---- Near branch targets (Iced's NearBranchTarget without its switch on the operand kind) ----

    private interface ITarget
    {
        static abstract ulong Get(in Instruction i);
    }

    private struct Near16 : ITarget
    {
        public static ulong Get(in Instruction i) => i.NearBranch16;
    }

    private struct Near32 : ITarget
    {
        public static ulong Get(in Instruction i) => i.NearBranch32;
    }

    private struct Near64 : ITarget
    {
        public static ulong Get(in Instruction i) => i.NearBranch64;
    }

    // ---- Conditions (SDM Vol. 1 appendix B) ----

    private interface ICondition
    {
        static abstract bool Test(ulong f);
    }

    private struct CondO : ICondition
    {
        public static bool Test(ulong f) => (f & Flags.OF) != 0;
    }

    private struct CondNo : ICondition
    {
        public static bool Test(ulong f) => (f & Flags.OF) == 0;
    }

    private struct CondB : ICondition
    {
        public static bool Test(ulong f) => (f & Flags.CF) != 0;
    }

    private struct CondAe : ICondition
    {
        public static bool Test(ulong f) => (f & Flags.CF) == 0;
    }

    private struct CondE : ICondition
    {
        public static bool Test(ulong f) => (f & Flags.ZF) != 0;
    }

    private struct CondNe : ICondition
    {
        public static bool Test(ulong f) => (f & Flags.ZF) == 0;
    }

    private struct CondBe : ICondition
    {
        public static bool Test(ulong f) => (f & (Flags.CF | Flags.ZF)) != 0;
    }

    private struct CondA : ICondition
    {
        public static bool Test(ulong f) => (f & (Flags.CF | Flags.ZF)) == 0;
    }

    private struct CondS : ICondition
    {
        public static bool Test(ulong f) => (f & Flags.SF) != 0;
    }

    private struct CondNs : ICondition
    {
        public static bool Test(ulong f) => (f & Flags.SF) == 0;
    }

    private struct CondP : ICondition
    {
        public static bool Test(ulong f) => (f & Flags.PF) != 0;
    }

    private struct CondNp : ICondition
    {
        public static bool Test(ulong f) => (f & Flags.PF) == 0;
    }

    // SF is bit 7 and OF bit 11: SF != OF when bit 7 of (f ^ f >> 4) is set.
    private struct CondL : ICondition
    {
        public static bool Test(ulong f) => ((f ^ (f >> 4)) & Flags.SF) != 0;
    }

    private struct CondGe : ICondition
    {
        public static bool Test(ulong f) => ((f ^ (f >> 4)) & Flags.SF) == 0;
    }

    private struct CondLe : ICondition
    {
        public static bool Test(ulong f) => (f & Flags.ZF) != 0 || ((f ^ (f >> 4)) & Flags.SF) != 0;
    }

    private struct CondG : ICondition
    {
        public static bool Test(ulong f) => (f & Flags.ZF) == 0 && ((f ^ (f >> 4)) & Flags.SF) == 0;
    }
}
