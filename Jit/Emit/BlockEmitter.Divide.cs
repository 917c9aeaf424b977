using System.Reflection;
using System.Reflection.Emit;
using Emulator.Cpu;
using Emulator.Cpu.Instructions;
using Iced.Intel;

namespace Emulator.Jit.Emit;

/// <summary>
/// Inline DIV and IDIV of a 16-, 32- or 64-bit register or memory operand (SDM Vol. 2A). The fast
/// path divides with IL <c>div</c>/<c>rem</c> where the dividend fits 64 bits and the quotient
/// the operand size: unsigned, the high half below the divisor (and zero for 64-bit operands);
/// signed, a divisor other than 0 and -1 and, for 64-bit operands, RDX the sign of RAX. Every
/// other case calls the interpreter's <see cref="MulDiv.TryDivide"/>, the one semantics of
/// both engines, which also says when the CPU raises #DE: the block then leaves as after a
/// faulting access. The flags are left alone, as the interpreter leaves them; the instruction
/// counts as one that may leave (<see cref="IsPure"/>), so every flag is real before it.
/// </summary>
public sealed partial class BlockEmitter
{
    private static readonly MethodInfo s_tryDivide = typeof(MulDiv).GetMethod(nameof(MulDiv.TryDivide))!;
    private static readonly MethodInfo s_raiseFault = typeof(X86Cpu).GetMethod(nameof(X86Cpu.RaiseFault))!;

    private LocalBuilder? _divisor;
    private LocalBuilder? _dividend;

    // Passed by reference to TryDivide on the slow path only: RyuJIT keeps an address-taken local
    // in memory, so the register locals are copied through these.
    private LocalBuilder? _slowRax;
    private LocalBuilder? _slowRdx;

    private static bool CanInlineDivide(in Instruction i) => i.Mnemonic is Mnemonic.Div or Mnemonic.Idiv && IsGprOrMemory(in i, 0) && X86Cpu.OperandSize(i, 0) >= 2;

    private void EmitDivide(int k)
    {
        ref readonly Instruction i = ref _instructions[k];
        bool signed = i.Mnemonic == Mnemonic.Idiv;
        int size = X86Cpu.OperandSize(i, 0);
        var (ax, dx) = size switch
        {
            2 => (Register.AX, Register.DX),
            4 => (Register.EAX, Register.EDX),
            _ => (Register.RAX, Register.RDX),
        };
        var divisor = _divisor ??= _il.DeclareLocal(typeof(ulong));
        var dividend = _dividend ??= _il.DeclareLocal(typeof(ulong));
        var slow = _il.DefineLabel();
        var done = _il.DefineLabel();

        EmitSource(k, in i, 0, size);
        if (signed)
        {
            Extend(size, signed: true);
        }

        _il.Emit(OpCodes.Stloc, divisor);
        _il.Emit(OpCodes.Ldloc, divisor);
        _il.Emit(OpCodes.Brfalse, slow);
        if (signed)
        {
            _il.Emit(OpCodes.Ldloc, divisor);
            _il.Emit(OpCodes.Ldc_I8, -1L);
            _il.Emit(OpCodes.Beq, slow);
        }

        if (size == 8)
        {
            // RDX:RAX must be RAX alone: RDX zero, or for IDIV the sign of RAX.
            LoadReg(dx);
            if (signed)
            {
                LoadReg(ax);
                _il.Emit(OpCodes.Ldc_I4, 63);
                _il.Emit(OpCodes.Shr);
                _il.Emit(OpCodes.Bne_Un, slow);
            }
            else
            {
                _il.Emit(OpCodes.Brtrue, slow);
            }

            LoadReg(ax);
        }
        else
        {
            if (!signed)
            {
                // The quotient fits the size exactly when the high half is below the divisor.
                LoadReg(dx);
                _il.Emit(OpCodes.Ldloc, divisor);
                _il.Emit(OpCodes.Bge_Un, slow);
            }

            LoadReg(dx);
            _il.Emit(OpCodes.Ldc_I4, size * 8);
            _il.Emit(OpCodes.Shl);
            LoadReg(ax);
            _il.Emit(OpCodes.Or);
            if (signed)
            {
                Extend(size * 2, signed: true);
            }
        }

        _il.Emit(OpCodes.Stloc, dividend);
        _il.Emit(OpCodes.Ldloc, dividend);
        _il.Emit(OpCodes.Ldloc, divisor);
        _il.Emit(signed ? OpCodes.Div : OpCodes.Div_Un);
        if (signed && size < 8)
        {
            // The signed quotient must fit the size: equal to its own sign extension.
            _il.Emit(OpCodes.Stloc, Scratch);
            _il.Emit(OpCodes.Ldloc, Scratch);
            _il.Emit(OpCodes.Ldloc, Scratch);
            Extend(size, signed: true);
            _il.Emit(OpCodes.Bne_Un, slow);
            _il.Emit(OpCodes.Ldloc, Scratch);
        }

        StoreReg(ax);
        _il.Emit(OpCodes.Ldloc, dividend);
        _il.Emit(OpCodes.Ldloc, divisor);
        _il.Emit(signed ? OpCodes.Rem : OpCodes.Rem_Un);
        StoreReg(dx);
        _il.Emit(OpCodes.Br, done);

        // Anything else, #DE included: the interpreter's division on copies of RAX and RDX.
        _il.MarkLabel(slow);
        var slowRax = _slowRax ??= _il.DeclareLocal(typeof(ulong));
        var slowRdx = _slowRdx ??= _il.DeclareLocal(typeof(ulong));
        var ok = _il.DefineLabel();
        LoadReg(Register.RAX);
        _il.Emit(OpCodes.Stloc, slowRax);
        LoadReg(Register.RDX);
        _il.Emit(OpCodes.Stloc, slowRdx);
        _il.Emit(signed ? OpCodes.Ldc_I4_1 : OpCodes.Ldc_I4_0);
        _il.Emit(OpCodes.Ldc_I4, size);
        _il.Emit(OpCodes.Ldloc, divisor);
        _il.Emit(OpCodes.Ldloca, slowRax);
        _il.Emit(OpCodes.Ldloca, slowRdx);
        _il.Emit(OpCodes.Call, s_tryDivide);
        _il.Emit(OpCodes.Brtrue, ok);
        _il.Emit(OpCodes.Ldarg, ArgCpu);
        _il.Emit(OpCodes.Ldc_I4, Cpu.Exceptions.Vector.DE);
        _il.Emit(OpCodes.Ldc_I4_0);
        _il.Emit(OpCodes.Call, s_raiseFault);
        _il.Emit(OpCodes.Pop);
        SpillDirtyOnSidePath();
        StoreRip(i.NextIP);
        Return(k);
        _il.MarkLabel(ok);
        _il.Emit(OpCodes.Ldloc, slowRax);
        StoreReg(Register.RAX);
        _il.Emit(OpCodes.Ldloc, slowRdx);
        StoreReg(Register.RDX);
        _il.MarkLabel(done);
    }
}
