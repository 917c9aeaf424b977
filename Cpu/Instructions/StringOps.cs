using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// String instructions with and without REP (SDM Vol. 2B, MOVS/STOS/LODS/CMPS/SCAS/INS/OUTS and
/// REP/REPE/REPNE). The address size (SI/ESI/RSI, DI/EDI/RDI, CX/ECX/RCX) comes from Iced's
/// operand kind. Registers move after every element, so a fault mid-way leaves a state from which
/// the instruction restarts exactly; a long REP yields every <see cref="IterationsPerStep"/> elements
/// so that interrupts are taken.
/// </summary>
public static class StringOps
{
    public const int IterationsPerStep = 16384;

    private enum Kind
    {
        Movs,
        Stos,
        Lods,
        Cmps,
        Scas,
        Ins,
        Outs,
    }

    public static void Movs(X86Cpu c, in Instruction i) => Run(c, i, Kind.Movs);

    public static void Stos(X86Cpu c, in Instruction i) => Run(c, i, Kind.Stos);

    public static void Lods(X86Cpu c, in Instruction i) => Run(c, i, Kind.Lods);

    public static void Cmps(X86Cpu c, in Instruction i) => Run(c, i, Kind.Cmps);

    public static void Scas(X86Cpu c, in Instruction i) => Run(c, i, Kind.Scas);

    public static void Ins(X86Cpu c, in Instruction i) => Run(c, i, Kind.Ins);

    public static void Outs(X86Cpu c, in Instruction i) => Run(c, i, Kind.Outs);

    private static int AddressSize(OpKind kind) => kind switch
    {
        OpKind.MemoryESDI or OpKind.MemorySegSI or OpKind.MemorySegDI => 2,
        OpKind.MemoryESEDI or OpKind.MemorySegESI or OpKind.MemorySegEDI => 4,
        _ => 8,
    };

    private static void Run(X86Cpu c, in Instruction i, Kind kind)
    {
        ref CpuState s = ref c.S;
        int size = i.MemorySize.GetSize();
        OpKind memoryOperand = kind is Kind.Lods or Kind.Outs ? i.Op1Kind : kind == Kind.Scas ? i.Op1Kind : i.Op0Kind;
        int asz = AddressSize(memoryOperand);
        ulong amask = X86Cpu.SizeMask(asz);
        bool rep = i.HasRepPrefix || i.HasRepePrefix || i.HasRepnePrefix;
        Register counter = asz == 2 ? Register.CX : asz == 4 ? Register.ECX : Register.RCX;
        Register si = asz == 2 ? Register.SI : asz == 4 ? Register.ESI : Register.RSI;
        Register di = asz == 2 ? Register.DI : asz == 4 ? Register.EDI : Register.RDI;
        Register acc = size switch { 1 => Register.AL, 2 => Register.AX, 4 => Register.EAX, _ => Register.RAX };
        Seg sourceSeg = kind is Kind.Movs or Kind.Lods or Kind.Cmps or Kind.Outs ? X86Cpu.MemorySegment(i) : Seg.DS;
        ulong step = (s.Rflags & Flags.DF) != 0 ? (ulong)-size : (ulong)size;
        var port = (ushort)c.GetReg(Register.DX);

        if (kind is Kind.Ins or Kind.Outs && !SystemOps.IoAllowed(c, port, size))
        {
            return;
        }

        for (int n = 0; !rep || n < IterationsPerStep; n++)
        {
            if (rep && c.GetReg(counter) == 0)
            {
                return;
            }

            ulong src = c.GetReg(si);
            ulong dst = c.GetReg(di);
            switch (kind)
            {
                case Kind.Movs:
                    {
                        if (!c.Read(sourceSeg, src, size, out ulong v) || !c.Write(Seg.ES, dst, size, v))
                        {
                            return;
                        }

                        c.SetReg(si, (src + step) & amask);
                        c.SetReg(di, (dst + step) & amask);
                        break;
                    }

                case Kind.Stos:
                    if (!c.Write(Seg.ES, dst, size, c.GetReg(acc)))
                    {
                        return;
                    }

                    c.SetReg(di, (dst + step) & amask);
                    break;
                case Kind.Lods:
                    {
                        if (!c.Read(sourceSeg, src, size, out ulong v))
                        {
                            return;
                        }

                        c.SetReg(acc, v);
                        c.SetReg(si, (src + step) & amask);
                        break;
                    }

                case Kind.Cmps:
                case Kind.Scas:
                    {
                        ulong a, b;
                        if (kind == Kind.Cmps)
                        {
                            if (!c.Read(sourceSeg, src, size, out a) || !c.Read(Seg.ES, dst, size, out b))
                            {
                                return;
                            }

                            c.SetReg(si, (src + step) & amask);
                        }
                        else
                        {
                            a = c.GetReg(acc);
                            if (!c.Read(Seg.ES, dst, size, out b))
                            {
                                return;
                            }
                        }

                        c.SetReg(di, (dst + step) & amask);
                        ulong flags = s.Rflags;
                        Arith.Sub(a, b, 0, size, ref flags);
                        s.Rflags = flags;
                        break;
                    }

                case Kind.Ins:
                    {
                        if (!c.ProbeWrite(Seg.ES, dst, size))
                        {
                            return;
                        }

                        c.Write(Seg.ES, dst, size, c.Ports.Read(port, size));
                        c.SetReg(di, (dst + step) & amask);
                        break;
                    }

                default:
                    {
                        if (!c.Read(sourceSeg, src, size, out ulong v))
                        {
                            return;
                        }

                        c.Ports.Write(port, size, (uint)v);
                        c.SetReg(si, (src + step) & amask);
                        break;
                    }
            }

            if (!rep)
            {
                return;
            }

            c.SetReg(counter, c.GetReg(counter) - 1);
            if (kind is Kind.Cmps or Kind.Scas)
            {
                bool zf = (s.Rflags & Flags.ZF) != 0;
                if ((i.HasRepePrefix && !zf) || (i.HasRepnePrefix && zf))
                {
                    return;
                }
            }
        }

        // Budget for this step used up with elements left: run the same instruction again next time.
        if (c.GetReg(counter) != 0)
        {
            s.Rip = i.IP;
            c.EndBlock();
        }
    }
}
