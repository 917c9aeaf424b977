using Emulator.Cpu.Decode;
using Emulator.Cpu.Instructions;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu;

/// <summary>
/// Tier 0: the interpreter. Takes pending interrupts at block boundaries, fetches the block at
/// CS:RIP and runs its pre-decoded instructions through the handler table indexed by Iced
/// <see cref="Code"/>. An instruction that faults leaves RIP at itself and the exception is
/// delivered before the next one starts.
/// </summary>
public sealed unsafe partial class X86Cpu
{
    private bool _endBlock;
    private bool _setShadow;

    /// <summary>Instruction handlers call this after changing something that decoding or dispatch depends on.</summary>
    public void EndBlock() => _endBlock = true;

    /// <summary>STI, MOV SS and POP SS: inhibit interrupts until after the next instruction (SDM Vol. 3A 6.8.3).</summary>
    public void SetInterruptShadow() => _setShadow = true;

    /// <summary>The linear address of the next instruction.</summary>
    public ulong CodeLinear => S.LongModeActive && S.Cs.Long ? S.Rip : (uint)(S.Cs.Base + S.Rip);

    /// <summary>Runs up to <paramref name="budget"/> instructions.</summary>
    public StopReason Run(long budget)
    {
        long executed = 0;
        var table = InstructionTable.Handlers;
        while (executed < budget)
        {
            if (_stopRequested)
            {
                _stopRequested = false;
                return StopReason.Stopped;
            }

            ref CpuState s = ref S;
            if (s.InterruptShadow == 0 && (s.Rflags & Flags.IF) != 0 && Interrupts is { HasInterrupt: true } source)
            {
                byte vector = source.Acknowledge();
                if (!DeliverInterrupt(vector, false, 0, s.Rip, InterruptKind.External) && !DeliverPendingFault(s.Rip))
                {
                    return TripleFault();
                }
            }

            if (s.Halted != 0)
            {
                return StopReason.Halted;
            }

            int bitness = s.Bitness;
            Block? block = Blocks.Get(s.Rip, CodeLinear, bitness);
            if (block is null)
            {
                if (!DeliverPendingFault(s.Rip))
                {
                    return TripleFault();
                }

                continue;
            }

            block.Executions++;
            ulong ipMask = bitness == 64 ? ulong.MaxValue : bitness == 32 ? 0xFFFFFFFFUL : 0xFFFFUL;
            var instructions = block.Instructions;
            for (int k = 0; k < instructions.Length; k++)
            {
                ref readonly Instruction instruction = ref instructions[k];
                ulong rip = s.Rip;
                s.Rip = instruction.NextIP & ipMask;
                _endBlock = false;
                _setShadow = false;
                try
                {
                    table[(int)instruction.Code](this, in instruction);
                }
                catch (Exception e) when (e is IndexOutOfRangeException or ArgumentException or InvalidOperationException or OverflowException or NotSupportedException)
                {
                    // A bug in a handler must not take the host down: report it and give the guest #UD.
                    Log?.Invoke($"internal error in {instruction.Code} ({instruction}) at {rip:x}: {e.GetType().Name}: {e.Message}; raising #UD");
                    ClearFault();
                    RaiseFault(Exceptions.Vector.UD);
                }
                if (_faultVector >= 0)
                {
                    if (!DeliverPendingFault(rip))
                    {
                        return TripleFault();
                    }

                    break;
                }

                s.InterruptShadow = _setShadow ? 1 : 0;
                executed++;
                s.InstructionsRetired++;
                if (_endBlock || !block.Valid || executed >= budget)
                {
                    break;
                }
            }
        }

        return StopReason.Budget;
    }

    private StopReason TripleFault()
    {
        Log?.Invoke($"triple fault at {S.Cs.Selector:x4}:{S.Rip:x} (CR0={S.Cr0:x} CR3={S.Cr3:x} CR4={S.Cr4:x} EFER={S.Efer:x})");
        return StopReason.TripleFault;
    }
}
