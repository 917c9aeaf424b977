using System.Runtime.CompilerServices;
using Emulator.Cpu.State;
using Emulator.Mmu.Paging;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// String instructions with and without REP (SDM Vol. 2B, MOVS/STOS/LODS/CMPS/SCAS/INS/OUTS and
/// REP/REPE/REPNE). The address size (SI/ESI/RSI, DI/EDI/RDI, CX/ECX/RCX) comes from Iced's
/// operand kind. Registers move after every element, so a fault mid-way leaves a state from which
/// the instruction restarts exactly; a long REP yields every <see cref="IterationsPerStep"/> elements
/// so that interrupts are taken.
/// REP MOVS and REP STOS move the elements that lie in one source and one destination page
/// at a time when both pages take the TLB's fast path (<see cref="Bulk"/>), with the result
/// of the element-by-element loop; anything else (a TLB miss, a page holding translated code,
/// MMIO, an element crossing a page, a segment that needs checks) takes that loop for one
/// element, which walks, faults or invalidates as usual.
/// </summary>
public static unsafe class StringOps
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

        bool bulk = rep && kind is Kind.Movs or Kind.Stos;
        for (int n = 0; !rep || n < IterationsPerStep; n++)
        {
            if (rep && c.GetReg(counter) == 0)
            {
                return;
            }

            if (bulk)
            {
                int done = Bulk(c, kind, size, amask, sourceSeg, step, counter, si, di, acc, IterationsPerStep - n);
                if (done > 0)
                {
                    // The loop's n++ counts the last one.
                    n += done - 1;
                    continue;
                }
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
    /// <summary>
    /// Runs up to <paramref name="limit"/> elements of a REP MOVS or REP STOS whose current
    /// elements lie in one page each and take the TLB's fast path, updating the counter and the
    /// index registers; returns how many it ran (at least 1), or 0 when the next element needs
    /// the checked path. Overlapping source and destination copy element by element in the
    /// instruction's direction, as the hardware's element order defines the result.
    /// </summary>
    private static int Bulk(X86Cpu c, Kind kind, int size, ulong amask, Seg sourceSeg, ulong step, Register counter, Register si, Register di, Register acc, int limit)
    {
        bool down = step != (ulong)size;
        ulong n = Math.Min(c.GetReg(counter), (ulong)limit);
        ulong dst = c.GetReg(di);
        n = Fit(dst, size, amask, down, n);
        byte* d = c.FastHostPointer(Seg.ES, dst, AccessKind.Write, out ulong dstLinear);
        if (n == 0 || d == null)
        {
            return 0;
        }

        n = Fit(dstLinear & 0xFFF, size, 0xFFF, down, n);
        ulong src = 0;
        byte* p = null;
        if (kind == Kind.Movs)
        {
            src = c.GetReg(si);
            n = Fit(src, size, amask, down, n);
            p = c.FastHostPointer(sourceSeg, src, AccessKind.Read, out ulong srcLinear);
            if (n == 0 || p == null)
            {
                return 0;
            }

            n = Fit(srcLinear & 0xFFF, size, 0xFFF, down, n);
        }

        if (n == 0)
        {
            return 0;
        }

        int count = (int)n;
        int bytes = count * size;

        // The lowest byte of each run (the first element's when going up, the last one's when going down).
        byte* dLow = down ? d - (bytes - size) : d;
        if (kind == Kind.Stos)
        {
            ulong value = c.GetReg(acc);
            if (size == 1 || value == 0 || (size == 2 && value == (value & 0xFF) * 0x0101UL)
                || (size == 4 && value == (value & 0xFF) * 0x01010101UL) || (size == 8 && value == (value & 0xFF) * 0x0101010101010101UL))
            {
                Unsafe.InitBlockUnaligned(dLow, (byte)value, (uint)bytes);
            }
            else
            {
                for (int k = 0; k < count; k++)
                {
                    Store(dLow + (k * size), size, value);
                }
            }

            c.SetReg(di, (dst + (n * step)) & amask);
        }
        else
        {
            byte* pLow = down ? p - (bytes - size) : p;
            if (dLow + bytes <= pLow || pLow + bytes <= dLow)
            {
                Buffer.MemoryCopy(pLow, dLow, bytes, bytes);
            }
            else if (!down)
            {
                for (int k = 0; k < bytes; k += size)
                {
                    Store(dLow + k, size, Load(pLow + k, size));
                }
            }
            else
            {
                for (int k = bytes - size; k >= 0; k -= size)
                {
                    Store(dLow + k, size, Load(pLow + k, size));
                }
            }

            c.SetReg(si, (src + (n * step)) & amask);
            c.SetReg(di, (dst + (n * step)) & amask);
        }

        c.SetReg(counter, c.GetReg(counter) - n);
        return count;
    }

    /// <summary>
    /// How many of <paramref name="n"/> elements of <paramref name="size"/> bytes, the first at
    /// <paramref name="address"/>, going up or down, lie whole within 0..<paramref name="mask"/>
    /// (an offset within the address size, or a byte within a page) without wrapping.
    /// </summary>
    private static ulong Fit(ulong address, int size, ulong mask, bool down, ulong n)
    {
        ulong last = (ulong)size - 1;
        if (n == 0 || address > mask || mask - address < last)
        {
            return 0;
        }

        ulong room = down ? address / (ulong)size : (mask - address - last) / (ulong)size;
        return room < n - 1 ? room + 1 : n;
    }

    private static ulong Load(byte* p, int size) => size switch
    {
        1 => *p,
        2 => Unsafe.ReadUnaligned<ushort>(p),
        4 => Unsafe.ReadUnaligned<uint>(p),
        _ => Unsafe.ReadUnaligned<ulong>(p),
    };

    private static void Store(byte* p, int size, ulong value)
    {
        switch (size)
        {
            case 1: *p = (byte)value; break;
            case 2: Unsafe.WriteUnaligned(p, (ushort)value); break;
            case 4: Unsafe.WriteUnaligned(p, (uint)value); break;
            default: Unsafe.WriteUnaligned(p, value); break;
        }
    }
}
