using System.Reflection.Emit;
using Emulator.Cpu;
using Emulator.Cpu.Decode;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Jit.Emit;

/// <summary>
/// Inline PUSH r/imm, POP r, CALL rel32 and RET near with the order of effects of
/// Cpu/Instructions/Stack.cs and Branch.cs: the memory access first, RSP after it succeeded.
/// In 64-bit mode the stack is 8 bytes wide and flat (SDM Vol. 1 6.2.3, Vol. 3A 3.2.4). In 32-bit
/// code the translation assumes a 32-bit stack (SS.B = 1) and a 4 GiB CS limit (so RET needs no
/// limit check): it sets <see cref="NeedsFlatStack"/>, and the run loop enters it only then
/// (<see cref="Block.CompiledNeedsFlatStack"/>).
/// </summary>
public sealed partial class BlockEmitter
{
    private const int SegSs = (int)Seg.SS;

    /// <summary>True once a 32-bit stack operation was inlined.</summary>
    internal bool NeedsFlatStack { get; private set; }

    private void EmitStack(int k)
    {
        ref readonly Instruction i = ref _instructions[k];
        var rsp = _reg[CpuState.RSP]!;
        int width = _bitness == 64 ? 8 : 4;
        NeedsFlatStack |= _bitness != 64;
        switch (i.Mnemonic)
        {
            case Mnemonic.Push:
                if (i.Op0Kind == OpKind.Register)
                {
                    LoadReg(i.Op0Register);
                }
                else
                {
                    _il.Emit(OpCodes.Ldc_I8, (long)(i.GetImmediate(0) & X86Cpu.SizeMask(width)));
                }

                _il.Emit(OpCodes.Stloc, Scratch);
                StackSlotBelow(rsp, width);
                EmitWrite(k, SegSs, width, Scratch);
                SetStackPointerFromEa(rsp, width);
                EmitExitIfRequested(k);
                break;

            case Mnemonic.Pop:
                StackTop(rsp, width);
                EmitRead(k, SegSs, width);
                AdjustRsp(rsp, width, width);

                // POP RSP: the popped value wins over the increment.
                _il.Emit(OpCodes.Ldloc, Value);
                StoreReg(i.Op0Register);
                break;

            case Mnemonic.Call:
                NoteTarget(i.NearBranchTarget);
                _il.Emit(OpCodes.Ldc_I8, (long)(i.NextIP & _ipMask));
                _il.Emit(OpCodes.Stloc, Scratch);
                StackSlotBelow(rsp, width);
                EmitWrite(k, SegSs, width, Scratch);
                SetStackPointerFromEa(rsp, width);
                if (MemberAt(i.NearBranchTarget) is int member and >= 0)
                {
                    EmitTransition(k, member, i.NearBranchTarget);
                    break;
                }

                SpillDirty();
                StoreRip(i.NearBranchTarget);
                Return(k);
                break;

            default: // RET, RET imm16
                StackTop(rsp, width);
                EmitRead(k, SegSs, width);
                if (width == 8)
                {
                    // A non-canonical return address is #GP(0) with RSP unchanged: the handler raises it.
                    var canonical = _il.DefineLabel();
                    _il.Emit(OpCodes.Ldloc, Value);
                    _il.Emit(OpCodes.Ldc_I4, 16);
                    _il.Emit(OpCodes.Shl);
                    _il.Emit(OpCodes.Ldc_I4, 16);
                    _il.Emit(OpCodes.Shr);
                    _il.Emit(OpCodes.Ldloc, Value);
                    _il.Emit(OpCodes.Beq, canonical);
                    SpillDirtyOnSidePath();
                    EmitCalli(k);
                    Return(k);
                    _il.MarkLabel(canonical);
                }

                AdjustRsp(rsp, width + (i.Code is Code.Retnq_imm16 or Code.Retnd_imm16 ? i.Immediate16 : 0), width);
                EmitGoOnAtMember(k, Value, ReturnSites());
                SpillDirty();
                LoadStateAddress(StateLayout.Rip);
                _il.Emit(OpCodes.Ldloc, Value);
                _il.Emit(OpCodes.Stind_I8);
                Return(k);
                break;
        }
    }

    /// <summary>Ea = (RSP - width) within the stack width: the slot a push writes.</summary>
    private void StackSlotBelow(LocalBuilder rsp, int width)
    {
        _il.Emit(OpCodes.Ldloc, rsp);
        _il.Emit(OpCodes.Ldc_I8, (long)width);
        _il.Emit(OpCodes.Sub);
        Extend(width);
        _il.Emit(OpCodes.Stloc, Ea);
    }

    /// <summary>Ea = RSP within the stack width: the slot a pop reads.</summary>
    private void StackTop(LocalBuilder rsp, int width)
    {
        _il.Emit(OpCodes.Ldloc, rsp);
        Extend(width);
        _il.Emit(OpCodes.Stloc, Ea);
    }

    /// <summary>RSP = its bits above the stack width, merged with Ea (as X86Cpu.Push).</summary>
    private void SetStackPointerFromEa(LocalBuilder rsp, int width)
    {
        if (width == 8)
        {
            _il.Emit(OpCodes.Ldloc, Ea);
        }
        else
        {
            _il.Emit(OpCodes.Ldloc, rsp);
            _il.Emit(OpCodes.Ldc_I8, unchecked((long)0xFFFF_FFFF_0000_0000UL));
            _il.Emit(OpCodes.And);
            _il.Emit(OpCodes.Ldloc, Ea);
            _il.Emit(OpCodes.Or);
        }

        _il.Emit(OpCodes.Stloc, rsp);
        _dirty[CpuState.RSP] = true;
    }

    /// <summary>RSP += bytes within the stack width (as X86Cpu.AdjustStack).</summary>
    private void AdjustRsp(LocalBuilder rsp, int bytes, int width)
    {
        _il.Emit(OpCodes.Ldloc, rsp);
        _il.Emit(OpCodes.Ldc_I8, (long)bytes);
        _il.Emit(OpCodes.Add);
        if (width != 8)
        {
            Extend(width);
            _il.Emit(OpCodes.Ldloc, rsp);
            _il.Emit(OpCodes.Ldc_I8, unchecked((long)0xFFFF_FFFF_0000_0000UL));
            _il.Emit(OpCodes.And);
            _il.Emit(OpCodes.Or);
        }

        _il.Emit(OpCodes.Stloc, rsp);
        _dirty[CpuState.RSP] = true;
    }
}
