using System.Reflection.Emit;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Jit.Emit;

/// <summary>
/// Inline PUSH r64, POP r64, CALL rel32 and RET near in 64-bit mode, where the stack is always
/// 8 bytes wide and flat (SDM Vol. 1 6.2.3, Vol. 3A 3.2.4), with the order of effects of
/// Cpu/Instructions/Stack.cs and Branch.cs: the memory access first, RSP after it succeeded.
/// </summary>
public sealed partial class BlockEmitter
{
    private const int SegSs = (int)Seg.SS;

    private void EmitStack(int k)
    {
        ref readonly Instruction i = ref _instructions[k];
        var rsp = _reg[CpuState.RSP]!;
        switch (i.Mnemonic)
        {
            case Mnemonic.Push:
                LoadReg(i.Op0Register);
                _il.Emit(OpCodes.Stloc, B);
                StackSlotBelow(rsp);
                EmitWrite(k, SegSs, 8, B);
                _il.Emit(OpCodes.Ldloc, Ea);
                _il.Emit(OpCodes.Stloc, rsp);
                _dirty[CpuState.RSP] = true;
                EmitExitIfRequested(k);
                break;

            case Mnemonic.Pop:
                _il.Emit(OpCodes.Ldloc, rsp);
                _il.Emit(OpCodes.Stloc, Ea);
                EmitRead(k, SegSs, 8);
                AdjustRsp(rsp, 8);

                // POP RSP: the popped value wins over the increment.
                _il.Emit(OpCodes.Ldloc, Value);
                StoreReg(i.Op0Register);
                break;

            case Mnemonic.Call:
                NoteTarget(i.NearBranchTarget);
                _il.Emit(OpCodes.Ldc_I8, (long)i.NextIP);
                _il.Emit(OpCodes.Stloc, B);
                StackSlotBelow(rsp);
                EmitWrite(k, SegSs, 8, B);
                _il.Emit(OpCodes.Ldloc, Ea);
                _il.Emit(OpCodes.Stloc, rsp);
                _dirty[CpuState.RSP] = true;
                SpillDirty();
                StoreRip(i.NearBranchTarget);
                Return(k);
                break;

            default: // RET, RET imm16
                _il.Emit(OpCodes.Ldloc, rsp);
                _il.Emit(OpCodes.Stloc, Ea);
                EmitRead(k, SegSs, 8);

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

                AdjustRsp(rsp, 8 + (i.Code == Code.Retnq_imm16 ? i.Immediate16 : 0));
                SpillDirty();
                LoadStateAddress(StateLayout.Rip);
                _il.Emit(OpCodes.Ldloc, Value);
                _il.Emit(OpCodes.Stind_I8);
                Return(k);
                break;
        }
    }

    /// <summary>Ea = RSP - 8: the slot a push writes.</summary>
    private void StackSlotBelow(LocalBuilder rsp)
    {
        _il.Emit(OpCodes.Ldloc, rsp);
        _il.Emit(OpCodes.Ldc_I8, 8L);
        _il.Emit(OpCodes.Sub);
        _il.Emit(OpCodes.Stloc, Ea);
    }

    private void AdjustRsp(LocalBuilder rsp, int bytes)
    {
        _il.Emit(OpCodes.Ldloc, rsp);
        _il.Emit(OpCodes.Ldc_I8, (long)bytes);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Stloc, rsp);
        _dirty[CpuState.RSP] = true;
    }
}
