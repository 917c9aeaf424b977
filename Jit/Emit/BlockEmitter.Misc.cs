using System.Buffers.Binary;
using System.Reflection;
using System.Reflection.Emit;
using Emulator.Cpu;
using Emulator.Jit.Analysis;
using Iced.Intel;

namespace Emulator.Jit.Emit;

/// <summary>
/// Inline SETcc, CMOVcc, NOP, CBW/CWDE/CDQE, CWD/CDQ/CQO, XCHG of two registers, BSWAP and the
/// one-operand MUL (DIV and IDIV: BlockEmitter.Divide.cs), with the semantics of Cpu/Instructions/Move.cs and MulDiv.cs (SDM Vol. 2).
/// Conditions come from the pending flag record where it answers them (BlockEmitter.Flags.cs).
/// These never write A, B or R except MUL, which leaves its own record.
/// </summary>
public sealed partial class BlockEmitter
{
    private static readonly MethodInfo s_reverse32 = typeof(BinaryPrimitives).GetMethod(nameof(BinaryPrimitives.ReverseEndianness), [typeof(uint)])!;
    private static readonly MethodInfo s_reverse64 = typeof(BinaryPrimitives).GetMethod(nameof(BinaryPrimitives.ReverseEndianness), [typeof(ulong)])!;
    private static readonly MethodInfo s_bigMul = typeof(Math).GetMethod(nameof(Math.BigMul), [typeof(ulong), typeof(ulong), typeof(ulong).MakeByRefType()])!;

    private static readonly string[] s_conditionNames = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"];
    private static readonly HashSet<Mnemonic> s_setcc = [.. s_conditionNames.Select(cc => Enum.Parse<Mnemonic>("Set" + cc))];
    private static readonly HashSet<Mnemonic> s_cmovcc = [.. s_conditionNames.Select(cc => Enum.Parse<Mnemonic>("Cmov" + cc))];

    private LocalBuilder? _mulLow;

    /// <summary>The low half of MUL r/m64's product, Math.BigMul's out parameter.</summary>
    private LocalBuilder MulLow => _mulLow ??= _il.DeclareLocal(typeof(ulong));

    private static bool IsSetcc(in Instruction i) => s_setcc.Contains(i.Mnemonic);

    private static bool IsCmovcc(in Instruction i) => s_cmovcc.Contains(i.Mnemonic);

    /// <summary>The families of this file that <paramref name="i"/> belongs to, in a form they handle.</summary>
    private static bool CanInlineMore(in Instruction i)
    {
        switch (i.Mnemonic)
        {
            case Mnemonic.Nop:
            case Mnemonic.Cbw or Mnemonic.Cwde or Mnemonic.Cdqe or Mnemonic.Cwd or Mnemonic.Cdq or Mnemonic.Cqo:
                return true;
            case Mnemonic.Xchg:
                return IsGpr(in i, 0) && IsGpr(in i, 1);
            case Mnemonic.Bswap:
                return IsGpr(in i, 0) && i.Op0Register.GetSize() >= 4;
            case Mnemonic.Mul:
                return IsGprOrMemory(in i, 0) && X86Cpu.OperandSize(i, 0) >= 2;
            case Mnemonic.Div or Mnemonic.Idiv:
                return CanInlineDivide(in i);
            default:
                return (IsSetcc(in i) && IsGprOrMemory(in i, 0)) || (IsCmovcc(in i) && IsGpr(in i, 0) && IsGprOrMemory(in i, 1));
        }
    }

    /// <summary>Instructions whose inline code uses RAX and RDX implicitly.</summary>
    private static bool UsesAccumulator(in Instruction i) => i.Mnemonic is Mnemonic.Cbw or Mnemonic.Cwde or Mnemonic.Cdqe or Mnemonic.Cwd or Mnemonic.Cdq or Mnemonic.Cqo or Mnemonic.Mul or Mnemonic.Div or Mnemonic.Idiv;

    private void EmitMore(int k)
    {
        ref readonly Instruction i = ref _instructions[k];
        switch (i.Mnemonic)
        {
            case Mnemonic.Nop:
                return;
            case Mnemonic.Cbw:
                SignExtendInto(Register.AL, Register.AX);
                return;
            case Mnemonic.Cwde:
                SignExtendInto(Register.AX, Register.EAX);
                return;
            case Mnemonic.Cdqe:
                SignExtendInto(Register.EAX, Register.RAX);
                return;
            case Mnemonic.Cwd:
                SignInto(Register.AX, Register.DX);
                return;
            case Mnemonic.Cdq:
                SignInto(Register.EAX, Register.EDX);
                return;
            case Mnemonic.Cqo:
                SignInto(Register.RAX, Register.RDX);
                return;
            case Mnemonic.Xchg:
                // As Move.Xchg: operand 1 gets operand 0's value first, then operand 0 operand 1's.
                LoadReg(i.Op0Register);
                _il.Emit(OpCodes.Stloc, Scratch);
                LoadReg(i.Op1Register);
                _il.Emit(OpCodes.Ldloc, Scratch);
                StoreReg(i.Op1Register);
                StoreReg(i.Op0Register);
                return;
            case Mnemonic.Bswap:
                LoadReg(i.Op0Register);
                if (i.Op0Register.GetSize() == 4)
                {
                    _il.Emit(OpCodes.Conv_U4);
                    _il.Emit(OpCodes.Call, s_reverse32);
                    _il.Emit(OpCodes.Conv_U8);
                }
                else
                {
                    _il.Emit(OpCodes.Call, s_reverse64);
                }

                StoreReg(i.Op0Register);
                return;
            case Mnemonic.Mul:
                EmitMultiply(k);
                return;
            case Mnemonic.Div or Mnemonic.Idiv:
                EmitDivide(k);
                return;
        }

        if (IsSetcc(in i))
        {
            EmitSetcc(k);
        }
        else
        {
            EmitCmovcc(k);
        }
    }

    private void SignExtendInto(Register from, Register to)
    {
        LoadReg(from);
        Extend(from.GetSize(), signed: true);
        StoreReg(to);
    }

    /// <summary>All ones or zero in <paramref name="to"/>, from the sign of <paramref name="from"/>.</summary>
    private void SignInto(Register from, Register to)
    {
        LoadReg(from);
        Extend(from.GetSize(), signed: true);
        _il.Emit(OpCodes.Ldc_I4, 63);
        _il.Emit(OpCodes.Shr);
        StoreReg(to);
    }

    /// <summary>Pushes the condition of <paramref name="i"/> as a ulong 0 or 1.</summary>
    private void EmitConditionBit(in Instruction i)
    {
        bool negate = EmitConditionValue(i.ConditionCode);
        _il.Emit(OpCodes.Ldc_I4_0);
        _il.Emit(negate ? OpCodes.Ceq : OpCodes.Cgt_Un);
        _il.Emit(OpCodes.Conv_U8);
    }

    private void EmitSetcc(int k)
    {
        ref readonly Instruction i = ref _instructions[k];
        if (i.Op0Kind == OpKind.Register)
        {
            EmitConditionBit(in i);
            StoreReg(i.Op0Register);
            return;
        }

        EmitEffectiveAddress(in i);
        EmitConditionBit(in i);
        _il.Emit(OpCodes.Stloc, Scratch);
        EmitWrite(k, (int)X86Cpu.MemorySegment(in i), 1, Scratch);
        EmitExitIfRequested(k);
    }

    /// <summary>CMOVcc: the source is read (and may fault) whatever the condition; a 32-bit destination is written either way.</summary>
    private void EmitCmovcc(int k)
    {
        ref readonly Instruction i = ref _instructions[k];
        int size = X86Cpu.OperandSize(i, 0);
        EmitSource(k, in i, 1, size);
        _il.Emit(OpCodes.Stloc, Scratch);
        var move = _il.DefineLabel();
        var store = _il.DefineLabel();
        bool negate = EmitConditionValue(i.ConditionCode);
        _il.Emit(negate ? OpCodes.Brfalse : OpCodes.Brtrue, move);
        LoadReg(i.Op0Register);
        _il.Emit(OpCodes.Br, store);
        _il.MarkLabel(move);
        _il.Emit(OpCodes.Ldloc, Scratch);
        _il.MarkLabel(store);
        StoreReg(i.Op0Register);
    }

    /// <summary>
    /// MUL r/m16/32/64: rDX:rAX = rAX * source, unsigned. Leaves a pending record with R = the low
    /// half and B = the high half (CF = OF = high != 0; SF, ZF, PF from the low half, AF clear, as MulDiv.Mul).
    /// </summary>
    private void EmitMultiply(int k)
    {
        ref readonly Instruction i = ref _instructions[k];
        int size = X86Cpu.OperandSize(i, 0);
        var (ax, dx) = size switch
        {
            2 => (Register.AX, Register.DX),
            4 => (Register.EAX, Register.EDX),
            _ => (Register.RAX, Register.RDX),
        };
        EmitSource(k, in i, 0, size);
        _il.Emit(OpCodes.Stloc, B);
        LoadReg(ax);
        _il.Emit(OpCodes.Ldloc, B);
        if (size == 8)
        {
            // The low half through its own local: R's address taken would keep R in memory for the whole method.
            _il.Emit(OpCodes.Ldloca, MulLow);
            _il.Emit(OpCodes.Call, s_bigMul);
            _il.Emit(OpCodes.Stloc, B);
            _il.Emit(OpCodes.Ldloc, MulLow);
            _il.Emit(OpCodes.Stloc, R);
        }
        else
        {
            _il.Emit(OpCodes.Mul);
            _il.Emit(OpCodes.Dup);
            Extend(size);
            _il.Emit(OpCodes.Stloc, R);
            _il.Emit(OpCodes.Ldc_I4, size * 8);
            _il.Emit(OpCodes.Shr_Un);
            _il.Emit(OpCodes.Stloc, B);
        }

        _il.Emit(OpCodes.Ldloc, R);
        StoreReg(ax);
        _il.Emit(OpCodes.Ldloc, B);
        StoreReg(dx);
        SetPendingFlags(k, FlagKind.Multiply, size, _liveAfter[k] & FlagLiveness.ToEflags(i.RflagsModified));
    }
}
