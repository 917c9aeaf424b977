using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// System instructions: HLT, CLI/STI, descriptor-table loads and stores, control registers,
/// MSRs, CPUID, RDTSC, port I/O, INVLPG, segment-register moves (SDM Vol. 2 and Vol. 3A).
/// Privileged ones raise #GP(0) above CPL 0.
/// </summary>
public static class SystemOps
{
    private static bool RequireCpl0(X86Cpu c) => c.S.Cpl == 0 || c.RaiseFault(Vector.GP, 0);

    /// <summary>
    /// UMIP (SDM Vol. 3A 2.5, CR4.UMIP): with CR4.UMIP = 1, SGDT, SIDT, SLDT, SMSW and STR above
    /// CPL 0 raise #GP(0).
    /// </summary>
    private static bool UmipAllows(X86Cpu c) => (c.S.Cr4 & ControlBits.Cr4UMIP) == 0 || c.S.Cpl == 0 || c.RaiseFault(Vector.GP, 0);

    /// <summary>
    /// I/O permission (SDM Vol. 1 19.5): always allowed in real mode, and in protected mode when
    /// CPL &lt;= IOPL. Otherwise (CPL &gt; IOPL, or any I/O in virtual-8086 mode, Vol. 3A 20.2.8.1)
    /// the I/O permission bit map of the TSS decides (Vol. 1 19.5.2): its offset is the word at
    /// TSS + 66h, and every bit for the ports the access covers must be 0. The two bytes holding
    /// those bits are read, so both must lie within the TSS limit; a bit map beyond the limit, a
    /// 16-bit TSS (which has no bit map) or a set bit is #GP(0).
    /// </summary>
    public static bool IoAllowed(X86Cpu c, ushort port, int size)
    {
        ref CpuState s = ref c.S;
        if (!s.ProtectedMode || ((s.Rflags & Flags.VM) == 0 && s.Cpl <= (int)((s.Rflags & Flags.IOPL) >> 12)))
        {
            c.CheckIoBreakpoints(port, size);
            return true;
        }

        bool tss32 = (s.Tr.Attributes & SegmentRegister.AttrS) == 0 && s.Tr.Type is 0x9 or 0xB;
        if (!tss32 || s.Tr.Limit < 0x67 || !c.ReadSystem(s.Tr.Base + 0x66, 2, out ulong mapBase))
        {
            return c.Faulted ? false : c.RaiseFault(Vector.GP, 0);
        }

        ulong at = mapBase + (ulong)(port >> 3);
        if (at + 1 > s.Tr.Limit)
        {
            return c.RaiseFault(Vector.GP, 0);
        }

        if (!c.ReadSystem(s.Tr.Base + at, 2, out ulong bits))
        {
            return false;
        }

        ulong mask = ((1UL << size) - 1) << (port & 7);
        return (bits & mask) == 0 || c.RaiseFault(Vector.GP, 0);
    }

    public static void Hlt(X86Cpu c, in Instruction i)
    {
        if (RequireCpl0(c))
        {
            c.S.Halted = 1;
            c.EndBlock();
        }
    }

    public static void Cli(X86Cpu c, in Instruction i)
    {
        ref CpuState s = ref c.S;
        if (s.ProtectedMode && s.Cpl > (int)((s.Rflags & Flags.IOPL) >> 12))
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        s.Rflags &= ~Flags.IF;
    }

    public static void Sti(X86Cpu c, in Instruction i)
    {
        ref CpuState s = ref c.S;
        if (s.ProtectedMode && s.Cpl > (int)((s.Rflags & Flags.IOPL) >> 12))
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        if ((s.Rflags & Flags.IF) == 0)
        {
            c.SetInterruptShadow();
        }

        s.Rflags |= Flags.IF;
        c.EndBlock();
    }

    public static void In(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 0);
        var port = (ushort)(i.Op1Kind == OpKind.Register ? c.GetReg(Register.DX) : i.Immediate8);
        if (IoAllowed(c, port, size))
        {
            c.SetReg(i.Op0Register, c.Ports.Read(port, size));
        }
    }

    public static void Out(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.OperandSize(i, 1);
        var port = (ushort)(i.Op0Kind == OpKind.Register ? c.GetReg(Register.DX) : i.Immediate8);
        if (IoAllowed(c, port, size))
        {
            c.Ports.Write(port, size, (uint)c.GetReg(i.Op1Register));
            // A port write may stop or reset the machine, or raise an interrupt: let the loop look.
            c.EndBlock();
        }
    }

    /// <summary>LGDT and LIDT: 6 bytes (a 24-bit base with a 16-bit operand size) or 10 in 64-bit mode.</summary>
    public static void LoadTable(X86Cpu c, in Instruction i)
    {
        if (!RequireCpl0(c))
        {
            return;
        }

        Seg seg = X86Cpu.MemorySegment(i);
        ulong ea = c.EffectiveAddress(i);
        int baseSize = c.S.Bitness == 64 ? 8 : 4;
        if (!c.Read(seg, ea, 2, out ulong limit) || !c.Read(seg, ea + 2, baseSize, out ulong tableBase))
        {
            return;
        }

        if (i.Code is Code.Lgdt_m1632_16 or Code.Lidt_m1632_16)
        {
            tableBase &= 0xFFFFFF;
        }

        ref TableRegister table = ref i.Mnemonic == Mnemonic.Lgdt ? ref c.S.Gdtr : ref c.S.Idtr;
        table.Limit = (ushort)limit;
        table.Base = tableBase;
    }

    /// <summary>SGDT and SIDT: 2 bytes of limit and a 4-byte base (8 in 64-bit mode); #GP(0) above CPL 0 under UMIP.</summary>
    public static void StoreTable(X86Cpu c, in Instruction i)
    {
        if (!UmipAllows(c))
        {
            return;
        }

        ref TableRegister table = ref i.Mnemonic == Mnemonic.Sgdt ? ref c.S.Gdtr : ref c.S.Idtr;
        Seg seg = X86Cpu.MemorySegment(i);
        ulong ea = c.EffectiveAddress(i);
        int baseSize = c.S.Bitness == 64 ? 8 : 4;
        if (c.ProbeWrite(seg, ea, 2 + baseSize) && c.Write(seg, ea, 2, table.Limit))
        {
            c.Write(seg, ea + 2, baseSize, table.Base);
        }
    }

    public static void MovToCr(X86Cpu c, in Instruction i)
    {
        if (!RequireCpl0(c))
        {
            return;
        }

        ulong value = c.GetReg(i.Op1Register);
        ref CpuState s = ref c.S;
        switch (i.Op0Register)
        {
            case Register.CR0:
                WriteCr0(c, value);
                break;
            case Register.CR2:
                s.Cr2 = value;
                break;
            case Register.CR3:
                PagingOps.WriteCr3(c, value);
                break;
            case Register.CR4:
                PagingOps.WriteCr4(c, value);
                break;
            case Register.CR8:
                if (value > 15)
                {
                    c.RaiseFault(Vector.GP, 0);
                    return;
                }

                s.Cr8 = value;
                break;
            default:
                c.RaiseFault(Vector.UD);
                break;
        }
    }

    /// <summary>CR0 rules of SDM Vol. 3A 2.5 and 9.8.5 (entering and leaving long mode).</summary>
    private static void WriteCr0(X86Cpu c, ulong value)
    {
        ref CpuState s = ref c.S;

        // Bits 31:0 that this CPU does not define are ignored and read as 0 (ET is hard-wired to
        // 1 since the 486); bits 63:32 set are #GP(0) (SDM Vol. 3A 2.5, MOV CR "Protected Mode Exceptions").
        ulong high = value >> 32;
        value = (value & Cr0Defined) | ControlBits.Cr0ET;
        if (high != 0 || ((value & ControlBits.Cr0PG) != 0 && (value & ControlBits.Cr0PE) == 0)
            || ((value & ControlBits.Cr0NW) != 0 && (value & ControlBits.Cr0CD) == 0))
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        bool pagingOn = (value & ControlBits.Cr0PG) != 0 && (s.Cr0 & ControlBits.Cr0PG) == 0;
        bool pagingOff = (value & ControlBits.Cr0PG) == 0 && (s.Cr0 & ControlBits.Cr0PG) != 0;

        // Clearing PG while CR4.PCIDE = 1 is #GP(0) (SDM Vol. 2B MOV CR); enabling or changing PAE
        // paging loads the PDPTE registers, #GP(0) on a reserved bit (SDM Vol. 3A 4.4.1).
        if ((pagingOff && (s.Cr4 & ControlBits.Cr4PCIDE) != 0) || !PagingOps.LoadPdptesForCr0(c, value))
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }
        if (pagingOn && (s.Efer & ControlBits.EferLME) != 0)
        {
            if ((s.Cr4 & ControlBits.Cr4PAE) == 0 || s.Cs.Long)
            {
                c.RaiseFault(Vector.GP, 0);
                return;
            }

            s.Efer |= ControlBits.EferLMA;
        }

        if (pagingOff && s.LongModeActive)
        {
            if (s.Cs.Long)
            {
                c.RaiseFault(Vector.GP, 0);
                return;
            }

            s.Efer &= ~ControlBits.EferLMA;
        }

        s.Cr0 = value;
        c.Tlb.FlushAll();
        c.EndBlock();
    }

    /// <summary>The CR0 bits the architecture defines (SDM Vol. 3A 2.5, figure 2-7).</summary>
    public const ulong Cr0Defined = ControlBits.Cr0PE | ControlBits.Cr0MP | ControlBits.Cr0EM | ControlBits.Cr0TS | ControlBits.Cr0ET
        | ControlBits.Cr0NE | ControlBits.Cr0WP | ControlBits.Cr0AM | ControlBits.Cr0NW | ControlBits.Cr0CD | ControlBits.Cr0PG;

    /// <summary>
    /// CR4 bits this CPU implements; setting any other is #GP(0) (SDM 2.5). SMEP, SMAP and PCIDE
    /// are settable only while CPUID reports them (<see cref="PagingOps.SupportedCr4"/>).
    /// </summary>
    public const ulong Cr4Supported = ControlBits.Cr4PSE | ControlBits.Cr4PAE | ControlBits.Cr4PGE | ControlBits.Cr4TSD
        | ControlBits.Cr4DE | ControlBits.Cr4MCE | ControlBits.Cr4PCE | ControlBits.Cr4UMIP
        | ControlBits.Cr4PCIDE | ControlBits.Cr4SMEP | ControlBits.Cr4SMAP
        | ControlBits.Cr4OSFXSR | ControlBits.Cr4OSXMMEXCPT;

    public static void MovFromCr(X86Cpu c, in Instruction i)
    {
        if (!RequireCpl0(c))
        {
            return;
        }

        ref CpuState s = ref c.S;
        ulong value = i.Op1Register switch
        {
            Register.CR0 => s.Cr0,
            Register.CR2 => s.Cr2,
            Register.CR3 => s.Cr3,
            Register.CR4 => s.Cr4,
            Register.CR8 => s.Cr8,
            _ => ulong.MaxValue,
        };
        if (value == ulong.MaxValue && i.Op1Register is not (Register.CR2 or Register.CR3))
        {
            c.RaiseFault(Vector.UD);
            return;
        }

        c.SetReg(i.Op0Register, value);
    }

    public static void Lmsw(X86Cpu c, in Instruction i)
    {
        if (!RequireCpl0(c) || !c.ReadOperand(i, 0, 2, out ulong value))
        {
            return;
        }

        // LMSW sets PE but cannot clear it, and touches only PE, MP, EM, TS (SDM Vol. 2A, LMSW).
        ulong cr0 = c.S.Cr0;
        ulong next = (cr0 & ~0xEUL) | (value & 0xF) | (cr0 & ControlBits.Cr0PE);
        WriteCr0(c, next);
    }

    public static void Smsw(X86Cpu c, in Instruction i)
    {
        if (!UmipAllows(c))
        {
            return;
        }

        int size = X86Cpu.OperandSize(i, 0);
        c.WriteOperand(i, 0, size, c.S.Cr0 & X86Cpu.SizeMask(size));
    }

    public static void Clts(X86Cpu c, in Instruction i)
    {
        if (RequireCpl0(c))
        {
            c.S.Cr0 &= ~ControlBits.Cr0TS;
        }
    }

    public static void CacheControl(X86Cpu c, in Instruction i)
    {
        RequireCpl0(c);
    }

    public static void Rdmsr(X86Cpu c, in Instruction i)
    {
        if (RequireCpl0(c) && Msr.TryRead(c, (uint)c.GetReg(Register.ECX), out ulong value))
        {
            c.SetReg(Register.EAX, value & 0xFFFFFFFF);
            c.SetReg(Register.EDX, value >> 32);
        }
    }

    public static void Wrmsr(X86Cpu c, in Instruction i)
    {
        if (RequireCpl0(c))
        {
            Msr.TryWrite(c, (uint)c.GetReg(Register.ECX), (c.GetReg(Register.EDX) << 32) | c.GetReg(Register.EAX));
        }
    }

    public static void Cpuid(X86Cpu c, in Instruction i)
    {
        var (a, b, d, e) = c.Cpuid.Query((uint)c.GetReg(Register.EAX), (uint)c.GetReg(Register.ECX), c.S.MiscEnable);
        c.SetReg(Register.EAX, a);
        c.SetReg(Register.EBX, b);
        c.SetReg(Register.ECX, d);
        c.SetReg(Register.EDX, e);
    }

    public static void Rdtsc(X86Cpu c, in Instruction i)
    {
        ref CpuState s = ref c.S;
        if ((s.Cr4 & ControlBits.Cr4TSD) != 0 && s.Cpl != 0 && s.ProtectedMode)
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        ulong tsc = c.TimeStampCounter() + s.TscOffset;
        c.SetReg(Register.EAX, tsc & 0xFFFFFFFF);
        c.SetReg(Register.EDX, tsc >> 32);
    }

    /// <summary>
    /// RDTSCP (SDM Vol. 2B): RDTSC that also loads ECX with IA32_TSC_AUX[31:0]; CR4.TSD makes it
    /// #GP(0) above CPL 0 as it does RDTSC.
    /// </summary>
    public static void Rdtscp(X86Cpu c, in Instruction i)
    {
        Rdtsc(c, i);
        if (!c.Faulted)
        {
            c.SetReg(Register.ECX, c.S.TscAux & 0xFFFF_FFFF);
        }
    }

    /// <summary>MOV Sreg, r/m16. Loading CS this way is #UD; loading SS starts an interrupt shadow.</summary>
    public static void MovToSreg(X86Cpu c, in Instruction i)
    {
        var seg = (Seg)(i.Op0Register - Register.ES);
        if (seg == Seg.CS)
        {
            c.RaiseFault(Vector.UD);
            return;
        }

        if (c.ReadOperand(i, 1, 2, out ulong selector) && c.LoadSegment(seg, (ushort)selector) && seg == Seg.SS)
        {
            c.SetStackShadow();
            c.EndBlock();
        }
    }

    public static void MovFromSreg(X86Cpu c, in Instruction i)
    {
        ushort selector = c.S.Segment((Seg)(i.Op1Register - Register.ES)).Selector;
        c.WriteOperand(i, 0, i.Op0Kind == OpKind.Memory ? 2 : X86Cpu.OperandSize(i, 0), selector);
    }

    /// <summary>LDS, LES, LFS, LGS, LSS: a far pointer from memory into Sreg:reg.</summary>
    public static void LoadFarPointer(X86Cpu c, in Instruction i)
    {
        int size = X86Cpu.RegisterSize(i.Op0Register);
        Seg seg = X86Cpu.MemorySegment(i);
        ulong ea = c.EffectiveAddress(i);
        if (!c.Read(seg, ea, size, out ulong offset) || !c.Read(seg, ea + (ulong)size, 2, out ulong selector))
        {
            return;
        }

        var target = i.Mnemonic switch
        {
            Mnemonic.Lds => Seg.DS,
            Mnemonic.Les => Seg.ES,
            Mnemonic.Lfs => Seg.FS,
            Mnemonic.Lgs => Seg.GS,
            _ => Seg.SS,
        };
        if (c.LoadSegment(target, (ushort)selector))
        {
            c.SetReg(i.Op0Register, offset);
            if (target == Seg.SS)
            {
                c.EndBlock();
            }
        }
    }

    /// <summary>LTR and LLDT: system descriptors, 16 bytes in long mode (SDM Vol. 3A 7.2.3 and 8.2.3).</summary>
    public static void LoadSystemSegment(X86Cpu c, in Instruction i)
    {
        ref CpuState s = ref c.S;
        if (!s.ProtectedMode || (s.Rflags & Flags.VM) != 0)
        {
            c.RaiseFault(Vector.UD);
            return;
        }

        if (!RequireCpl0(c) || !c.ReadOperand(i, 0, 2, out ulong sel))
        {
            return;
        }

        var selector = (ushort)sel;
        bool task = i.Mnemonic == Mnemonic.Ltr;
        if ((selector & ~3) == 0)
        {
            if (task)
            {
                c.RaiseFault(Vector.GP, 0);
                return;
            }

            s.Ldtr = default;
            s.Ldtr.Selector = selector;
            return;
        }

        if ((selector & 4) != 0)
        {
            c.RaiseFault(Vector.GP, (uint)(selector & ~3));
            return;
        }

        if (!c.ReadDescriptor(selector, out ulong d, out ulong address))
        {
            return;
        }

        var loaded = X86Cpu.FromDescriptor(selector, d);
        int type = loaded.Type;
        bool typeOk = task ? type is 1 or 9 && !(s.LongModeActive && type == 1) : type == 2;
        if ((loaded.Attributes & SegmentRegister.AttrS) != 0 || !typeOk)
        {
            c.RaiseFault(Vector.GP, (uint)(selector & ~3));
            return;
        }

        if (!loaded.Present)
        {
            c.RaiseFault(Vector.NP, (uint)(selector & ~3));
            return;
        }

        if (s.LongModeActive)
        {
            if (!c.ReadSystem(address + 8, 8, out ulong high))
            {
                return;
            }

            loaded.Base |= (high & 0xFFFFFFFF) << 32;
        }

        if (task)
        {
            // Mark the TSS busy (type 9 -> 11, 1 -> 3).
            if (!c.WriteSystem(address + 5, 1, (d >> 40) | 2))
            {
                return;
            }

            loaded.Attributes |= 2;
            s.Tr = loaded;
        }
        else
        {
            s.Ldtr = loaded;
        }
    }

    public static void StoreSystemSegment(X86Cpu c, in Instruction i)
    {
        ref CpuState s = ref c.S;
        if (!s.ProtectedMode || (s.Rflags & Flags.VM) != 0)
        {
            c.RaiseFault(Vector.UD);
            return;
        }

        if (!UmipAllows(c))
        {
            return;
        }

        ushort selector = i.Mnemonic == Mnemonic.Str ? s.Tr.Selector : s.Ldtr.Selector;
        c.WriteOperand(i, 0, i.Op0Kind == OpKind.Memory ? 2 : X86Cpu.OperandSize(i, 0), selector);
    }

    /// <summary>
    /// WAIT/FWAIT: #NM when CR0.MP and CR0.TS are both set (SDM Vol. 2B, WAIT/FWAIT, table 2-2);
    /// otherwise it would deliver pending x87 exceptions, and with no x87 model none are pending.
    /// </summary>
    public static void Wait(X86Cpu c, in Instruction i)
    {
        const ulong mpTs = ControlBits.Cr0MP | ControlBits.Cr0TS;
        if ((c.S.Cr0 & mpTs) == mpTs)
        {
            c.RaiseFault(Vector.NM);
        }
    }

    public static void Ud(X86Cpu c, in Instruction i)
    {
        c.RaiseFault(Vector.UD);
    }

    /// <summary>CMPXCHG8B and CMPXCHG16B (SDM Vol. 2A): compare EDX:EAX (RDX:RAX) with memory.</summary>
    public static void Cmpxchg8b(X86Cpu c, in Instruction i)
    {
        bool wide = i.Code == Code.Cmpxchg16b_m128;
        int half = wide ? 8 : 4;
        Seg seg = X86Cpu.MemorySegment(i);
        ulong ea = c.EffectiveAddress(i);
        if (wide && (ea & 15) != 0)
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        if (!c.Read(seg, ea, half, out ulong low) || !c.Read(seg, ea + (ulong)half, half, out ulong high))
        {
            return;
        }

        Register a = wide ? Register.RAX : Register.EAX, d = wide ? Register.RDX : Register.EDX;
        Register b = wide ? Register.RBX : Register.EBX, cx = wide ? Register.RCX : Register.ECX;
        bool equal = c.GetReg(a) == low && c.GetReg(d) == high;
        ulong newLow = equal ? c.GetReg(b) : low;
        ulong newHigh = equal ? c.GetReg(cx) : high;
        if (!c.ProbeWrite(seg, ea, 2 * half) || !c.Write(seg, ea, half, newLow) || !c.Write(seg, ea + (ulong)half, half, newHigh))
        {
            return;
        }

        if (!equal)
        {
            c.SetReg(a, low);
            c.SetReg(d, high);
        }

        c.S.Rflags = equal ? c.S.Rflags | Flags.ZF : c.S.Rflags & ~Flags.ZF;
    }
}
