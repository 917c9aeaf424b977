using System.Buffers.Binary;
using Emulator.Cpu.Exceptions;
using Emulator.Cpu.Simd;
using Emulator.Cpu.State;
using Iced.Intel;

namespace Emulator.Cpu.Instructions;

/// <summary>
/// MXCSR load/store and the state save instructions: LDMXCSR/STMXCSR (SDM Vol. 2), FXSAVE/FXRSTOR
/// with the 32- and 64-bit layouts of SDM Vol. 1 10.5.1 (tables 10-2 and 10-3), and the XSAVE
/// family for state components 0 (x87), 1 (SSE) and 2 (AVX) with XGETBV/XSETBV (SDM Vol. 1
/// chapter 13). The image is built in a byte buffer: read, changed, written back in one piece
/// after the whole range was checked, so a fault leaves memory and registers as they were.
/// </summary>
public static class SaveState
{
    /// <summary>Offset of the XSAVE header and of the AVX (YMM_Hi128) component in the standard format (CPUID.(EAX=0DH,ECX=2):EBX).</summary>
    public const int HeaderOffset = 512;
    public const int AvxOffset = 576;
    public const int AvxSize = 256;

    public const ulong X87Component = 1, SseComponent = 2, AvxComponent = 4;

    /// <summary>LDMXCSR: #GP(0) if a reserved bit (31:16) is set (SDM Vol. 2 LDMXCSR).</summary>
    public static void Ldmxcsr(X86Cpu c, in Instruction i)
    {
        if (!c.SimdAvailable(i) || !c.Read(X86Cpu.MemorySegment(i), c.EffectiveAddress(i), 4, out ulong value))
        {
            return;
        }

        if ((value & ~(ulong)Mxcsr.WritableMask) != 0)
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        c.S.Vector.Mxcsr = (uint)value;
    }

    public static void Stmxcsr(X86Cpu c, in Instruction i)
    {
        if (c.SimdAvailable(i))
        {
            c.Write(X86Cpu.MemorySegment(i), c.EffectiveAddress(i), 4, c.S.Vector.Mxcsr);
        }
    }

    /// <summary>FXSAVE/FXSAVE64 (SDM Vol. 2 FXSAVE): #NM with CR0.TS or CR0.EM, #GP(0) unless 16-byte aligned.</summary>
    public static void Fxsave(X86Cpu c, in Instruction i)
    {
        if (!FxAvailable(c) || !c.CheckAlignment(i, 16) || !ReadImage(c, i, 512, out byte[] image))
        {
            return;
        }

        SaveX87(c, image, i.Code == Code.Fxsave64_m512byte);
        SaveSse(c, image);
        WriteImage(c, i, image);
    }

    /// <summary>FXRSTOR/FXRSTOR64: #GP(0) when the MXCSR image sets a reserved bit; the full tag word is rebuilt from the abridged one.</summary>
    public static void Fxrstor(X86Cpu c, in Instruction i)
    {
        if (!FxAvailable(c) || !c.CheckAlignment(i, 16) || !ReadImage(c, i, 512, out byte[] image))
        {
            return;
        }

        uint mxcsr = BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(24));
        if ((mxcsr & ~Mxcsr.WritableMask) != 0)
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        LoadX87(c, image, i.Code == Code.Fxrstor64_m512byte);
        LoadXmm(c, image);
        c.S.Vector.Mxcsr = mxcsr;
    }

    private static bool FxAvailable(X86Cpu c)
    {
        ref CpuState s = ref c.S;
        return (s.Cr0 & (ControlBits.Cr0TS | ControlBits.Cr0EM)) == 0 || c.RaiseFault(Vector.NM);
    }

    private static bool ReadImage(X86Cpu c, in Instruction i, int size, out byte[] image)
    {
        image = new byte[size];
        Seg seg = X86Cpu.MemorySegment(i);
        ulong ea = c.EffectiveAddress(i);
        for (int k = 0; k < size; k += 8)
        {
            if (!c.Read(seg, ea + (ulong)k, 8, out ulong value))
            {
                return false;
            }

            BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(k), value);
        }

        return true;
    }

    private static void WriteImage(X86Cpu c, in Instruction i, byte[] image)
    {
        Seg seg = X86Cpu.MemorySegment(i);
        ulong ea = c.EffectiveAddress(i);
        if (!c.ProbeWrite(seg, ea, image.Length))
        {
            return;
        }

        for (int k = 0; k < image.Length; k += 8)
        {
            c.Write(seg, ea + (ulong)k, 8, BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(k)));
        }
    }

    /// <summary>The abridged tag word: bit i set when physical register i is not empty (SDM Vol. 1 10.5.1.1).</summary>
    public static byte AbridgedTag(ushort ftw)
    {
        int abridged = 0;
        for (int r = 0; r < 8; r++)
        {
            if (((ftw >> (2 * r)) & 3) != 3)
            {
                abridged |= 1 << r;
            }
        }

        return (byte)abridged;
    }

    /// <summary>
    /// The full tag word FXRSTOR rebuilds (SDM Vol. 1 10.5.1.1): an empty register stays empty,
    /// the others are tagged from their contents: zero, valid (normal, integer bit set) or special.
    /// </summary>
    public static ushort FullTag(byte abridged, in X87RegisterFile registers)
    {
        int ftw = 0;
        for (int r = 0; r < 8; r++)
        {
            int tag;
            if ((abridged & (1 << r)) == 0)
            {
                tag = 3;
            }
            else
            {
                int exponent = registers[r].SignExponent & 0x7FFF;
                ulong significand = registers[r].Significand;
                tag = exponent == 0x7FFF ? 2
                    : exponent == 0 ? (significand == 0 ? 1 : 2)
                    : (significand >> 63) != 0 ? 0 : 2;
            }

            ftw |= tag << (2 * r);
        }

        return (ushort)ftw;
    }

    /// <summary>Bytes 0-159 of the legacy area (tables 10-2 and 10-3): environment and ST0-ST7 in stack order.</summary>
    private static void SaveX87(X86Cpu c, Span<byte> image, bool wide)
    {
        ref X87State x = ref c.S.X87;
        BinaryPrimitives.WriteUInt16LittleEndian(image, x.Fcw);
        BinaryPrimitives.WriteUInt16LittleEndian(image[2..], x.Fsw);
        image[4] = AbridgedTag(x.Ftw);
        image[5] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(image[6..], x.Fop);
        if (wide)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(image[8..], x.Fip);
            BinaryPrimitives.WriteUInt64LittleEndian(image[16..], x.Fdp);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(image[8..], (uint)x.Fip);
            BinaryPrimitives.WriteUInt32LittleEndian(image[12..], x.Fcs);
            BinaryPrimitives.WriteUInt32LittleEndian(image[16..], (uint)x.Fdp);
            BinaryPrimitives.WriteUInt32LittleEndian(image[20..], x.Fds);
        }

        int top = (x.Fsw >> 11) & 7;
        for (int k = 0; k < 8; k++)
        {
            ref X87Register r = ref x.Registers[(top + k) & 7];
            Span<byte> slot = image.Slice(32 + (16 * k), 16);
            slot.Clear();
            BinaryPrimitives.WriteUInt64LittleEndian(slot, r.Significand);
            BinaryPrimitives.WriteUInt16LittleEndian(slot[8..], r.SignExponent);
        }
    }

    private static void LoadX87(X86Cpu c, ReadOnlySpan<byte> image, bool wide)
    {
        ref X87State x = ref c.S.X87;
        x.Fcw = BinaryPrimitives.ReadUInt16LittleEndian(image);
        x.Fsw = BinaryPrimitives.ReadUInt16LittleEndian(image[2..]);
        x.Fop = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(image[6..]) & 0x7FF);
        if (wide)
        {
            x.Fip = BinaryPrimitives.ReadUInt64LittleEndian(image[8..]);
            x.Fdp = BinaryPrimitives.ReadUInt64LittleEndian(image[16..]);
        }
        else
        {
            x.Fip = BinaryPrimitives.ReadUInt32LittleEndian(image[8..]);
            x.Fcs = BinaryPrimitives.ReadUInt16LittleEndian(image[12..]);
            x.Fdp = BinaryPrimitives.ReadUInt32LittleEndian(image[16..]);
            x.Fds = BinaryPrimitives.ReadUInt16LittleEndian(image[20..]);
        }

        int top = (x.Fsw >> 11) & 7;
        for (int k = 0; k < 8; k++)
        {
            ref X87Register r = ref x.Registers[(top + k) & 7];
            ReadOnlySpan<byte> slot = image.Slice(32 + (16 * k), 16);
            r.Significand = BinaryPrimitives.ReadUInt64LittleEndian(slot);
            r.SignExponent = BinaryPrimitives.ReadUInt16LittleEndian(slot[8..]);
        }

        x.Ftw = FullTag(image[4], x.Registers);
    }

    /// <summary>XMM registers at 160 (8 outside 64-bit mode, 16 in it), MXCSR at 24 and MXCSR_MASK at 28.</summary>
    private static void SaveSse(X86Cpu c, Span<byte> image)
    {
        SaveMxcsr(c, image);
        for (int k = 0; k < XmmCount(c); k++)
        {
            Vec128 v = c.GetXmm(k);
            BinaryPrimitives.WriteUInt64LittleEndian(image[(160 + (16 * k))..], v.Lo);
            BinaryPrimitives.WriteUInt64LittleEndian(image[(168 + (16 * k))..], v.Hi);
        }
    }

    private static void SaveMxcsr(X86Cpu c, Span<byte> image)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(image[24..], c.S.Vector.Mxcsr);
        BinaryPrimitives.WriteUInt32LittleEndian(image[28..], Mxcsr.WritableMask);
    }

    private static void LoadXmm(X86Cpu c, ReadOnlySpan<byte> image)
    {
        for (int k = 0; k < XmmCount(c); k++)
        {
            c.WriteXmm(k, new Vec128(BinaryPrimitives.ReadUInt64LittleEndian(image[(160 + (16 * k))..]), BinaryPrimitives.ReadUInt64LittleEndian(image[(168 + (16 * k))..])));
        }
    }

    private static int XmmCount(X86Cpu c) => c.S.LongModeActive && c.S.Cs.Long ? 16 : 8;

    private static void SaveAvx(X86Cpu c, Span<byte> area)
    {
        for (int k = 0; k < XmmCount(c); k++)
        {
            ref YmmRegister y = ref c.S.Vector.Ymm[k];
            BinaryPrimitives.WriteUInt64LittleEndian(area[(16 * k)..], y[2]);
            BinaryPrimitives.WriteUInt64LittleEndian(area[((16 * k) + 8)..], y[3]);
        }
    }

    private static void LoadAvx(X86Cpu c, ReadOnlySpan<byte> area)
    {
        for (int k = 0; k < XmmCount(c); k++)
        {
            ref YmmRegister y = ref c.S.Vector.Ymm[k];
            y[2] = BinaryPrimitives.ReadUInt64LittleEndian(area[(16 * k)..]);
            y[3] = BinaryPrimitives.ReadUInt64LittleEndian(area[((16 * k) + 8)..]);
        }
    }

    /// <summary>
    /// XINUSE (SDM Vol. 1 13.6): which components are not in their initial configuration. This
    /// model derives it from the registers: x87 after FNINIT with zero registers, SSE with all XMM
    /// zero and MXCSR = 1F80H, AVX with all upper halves zero.
    /// </summary>
    public static ulong InUse(X86Cpu c)
    {
        ref CpuState s = ref c.S;
        ulong inUse = 0;
        ref X87State x = ref s.X87;
        bool x87Init = x.Fcw == 0x037F && x.Fsw == 0 && x.Ftw == 0xFFFF && x.Fop == 0 && x.Fip == 0 && x.Fdp == 0 && x.Fcs == 0 && x.Fds == 0;
        for (int r = 0; r < 8 && x87Init; r++)
        {
            x87Init = x.Registers[r].Significand == 0 && x.Registers[r].SignExponent == 0;
        }

        bool sseInit = s.Vector.Mxcsr == VectorState.MxcsrResetValue;
        bool avxInit = true;
        for (int k = 0; k < 16; k++)
        {
            ref YmmRegister y = ref s.Vector.Ymm[k];
            sseInit &= y[0] == 0 && y[1] == 0;
            avxInit &= y[2] == 0 && y[3] == 0;
        }

        inUse |= x87Init ? 0 : X87Component;
        inUse |= sseInit ? 0 : SseComponent;
        inUse |= avxInit ? 0 : AvxComponent;
        return inUse;
    }

    private static bool XsaveAvailable(X86Cpu c)
    {
        ref CpuState s = ref c.S;
        if ((s.Cr4 & ControlBits.Cr4OSXSAVE) == 0)
        {
            return c.RaiseFault(Vector.UD);
        }

        return (s.Cr0 & ControlBits.Cr0TS) == 0 || c.RaiseFault(Vector.NM);
    }

    private static ulong RequestedFeatures(X86Cpu c) => c.S.Vector.Xcr0 & ((c.GetReg(Register.EDX) << 32) | c.GetReg(Register.EAX));

    /// <summary>The size of an XSAVE area for the components in <paramref name="xcr0"/> (CPUID.(EAX=0DH,ECX=0):EBX).</summary>
    public static int AreaSize(ulong xcr0) => (xcr0 & AvxComponent) != 0 ? AvxOffset + AvxSize : AvxOffset;

    /// <summary>
    /// XSAVE/XSAVEOPT/XSAVEC and their 64-bit forms (SDM Vol. 1 13.7-13.10; Vol. 2 XSAVE): saves
    /// the components of RFBM = XCR0 AND EDX:EAX. XSAVE and XSAVEOPT use the standard format and
    /// set XSTATE_BV[i] = XINUSE[i] for i in RFBM; XSAVEC uses the compacted format (XCOMP_BV =
    /// 2^63 | RFBM) and saves only components in use. MXCSR goes with RFBM[1] or RFBM[2].
    /// </summary>
    public static void Xsave(X86Cpu c, in Instruction i)
    {
        if (!XsaveAvailable(c) || !c.CheckAlignment(i, 64))
        {
            return;
        }

        bool compacted = i.Mnemonic is Mnemonic.Xsavec or Mnemonic.Xsavec64;
        bool wide = i.Code is Code.Xsave64_mem or Code.Xsaveopt64_mem or Code.Xsavec64_mem;
        ulong rfbm = RequestedFeatures(c);
        ulong inUse = InUse(c) & rfbm;
        if (!ReadImage(c, i, AreaSize(c.S.Vector.Xcr0), out byte[] image))
        {
            return;
        }

        Span<byte> span = image;
        ulong saved = compacted ? inUse : rfbm;
        if ((saved & X87Component) != 0)
        {
            SaveX87(c, span, wide);
        }

        if ((rfbm & (SseComponent | AvxComponent)) != 0)
        {
            SaveMxcsr(c, span);
        }

        if ((saved & SseComponent) != 0)
        {
            SaveSse(c, span);
        }

        if ((saved & AvxComponent) != 0)
        {
            SaveAvx(c, span.Slice(AvxOffset, AvxSize));
        }

        ulong xstateBv = BinaryPrimitives.ReadUInt64LittleEndian(span[HeaderOffset..]);
        xstateBv = compacted ? inUse : (xstateBv & ~rfbm) | inUse;
        BinaryPrimitives.WriteUInt64LittleEndian(span[HeaderOffset..], xstateBv);
        if (compacted)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(span[(HeaderOffset + 8)..], (1UL << 63) | rfbm);
        }

        WriteImage(c, i, image);
    }

    /// <summary>
    /// XRSTOR/XRSTOR64 (SDM Vol. 1 13.8): #GP(0) for a header with XSTATE_BV bits outside XCR0, a
    /// standard-form XCOMP_BV that is not zero, a compacted XCOMP_BV outside XCR0 or not covering
    /// XSTATE_BV, non-zero header bytes 16-63, or an MXCSR with reserved bits. Each component of
    /// RFBM is loaded when its XSTATE_BV bit is set, else put in its initial configuration.
    /// </summary>
    public static void Xrstor(X86Cpu c, in Instruction i)
    {
        if (!XsaveAvailable(c) || !c.CheckAlignment(i, 64))
        {
            return;
        }

        bool wide = i.Code == Code.Xrstor64_mem;
        ulong xcr0 = c.S.Vector.Xcr0;
        ulong rfbm = RequestedFeatures(c);
        if (!ReadImage(c, i, AreaSize(xcr0), out byte[] image))
        {
            return;
        }

        ReadOnlySpan<byte> span = image;
        ulong xstateBv = BinaryPrimitives.ReadUInt64LittleEndian(span[HeaderOffset..]);
        ulong xcompBv = BinaryPrimitives.ReadUInt64LittleEndian(span[(HeaderOffset + 8)..]);
        bool compacted = (xcompBv >> 63) != 0;
        bool headerRestZero = span.Slice(HeaderOffset + 16, 48).IndexOfAnyExcept((byte)0) < 0;
        bool bad = (xstateBv & ~xcr0) != 0 || !headerRestZero
            || (compacted ? (xcompBv & ~(1UL << 63) & ~xcr0) != 0 || (xstateBv & ~xcompBv) != 0 : xcompBv != 0);
        uint mxcsr = BinaryPrimitives.ReadUInt32LittleEndian(span[24..]);
        bool loadMxcsr = (rfbm & (SseComponent | AvxComponent)) != 0;
        if (bad || (loadMxcsr && (mxcsr & ~Mxcsr.WritableMask) != 0))
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        ulong load = rfbm & xstateBv;
        ulong init = rfbm & ~xstateBv;
        if ((load & X87Component) != 0)
        {
            LoadX87(c, span, wide);
        }
        else if ((init & X87Component) != 0)
        {
            c.S.X87.Initialize();
            for (int r = 0; r < 8; r++)
            {
                c.S.X87.Registers[r] = default;
            }
        }

        for (int k = 0; k < XmmCount(c) && (init & SseComponent) != 0; k++)
        {
            c.WriteXmm(k, default);
        }

        if ((load & SseComponent) != 0)
        {
            LoadXmm(c, span);
        }

        if ((load & AvxComponent) != 0)
        {
            LoadAvx(c, span.Slice(AvxOffset, AvxSize));
        }
        else if ((init & AvxComponent) != 0)
        {
            for (int k = 0; k < XmmCount(c); k++)
            {
                c.S.Vector.Ymm[k][2] = 0;
                c.S.Vector.Ymm[k][3] = 0;
            }
        }

        if (loadMxcsr)
        {
            c.S.Vector.Mxcsr = mxcsr;
        }
    }

    /// <summary>XGETBV (SDM Vol. 2): ECX = 0 reads XCR0, ECX = 1 reads XCR0 AND XINUSE; other ECX values #GP(0); #UD without CR4.OSXSAVE.</summary>
    public static void Xgetbv(X86Cpu c, in Instruction i)
    {
        if ((c.S.Cr4 & ControlBits.Cr4OSXSAVE) == 0)
        {
            c.RaiseFault(Vector.UD);
            return;
        }

        uint index = (uint)c.GetReg(Register.ECX);
        if (index > 1)
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        ulong value = index == 0 ? c.S.Vector.Xcr0 : c.S.Vector.Xcr0 & InUse(c);
        c.SetReg(Register.EAX, value & 0xFFFF_FFFF);
        c.SetReg(Register.EDX, value >> 32);
    }

    /// <summary>
    /// XSETBV (SDM Vol. 2, Vol. 1 13.3): CPL 0 only, ECX = 0 only; XCR0 bit 0 must stay set, AVX
    /// (bit 2) needs SSE (bit 1), and only components CPUID leaf 0DH reports may be enabled; else #GP(0).
    /// </summary>
    public static void Xsetbv(X86Cpu c, in Instruction i)
    {
        if ((c.S.Cr4 & ControlBits.Cr4OSXSAVE) == 0)
        {
            c.RaiseFault(Vector.UD);
            return;
        }

        ulong value = (c.GetReg(Register.EDX) << 32) | c.GetReg(Register.EAX);
        if (c.S.Cpl != 0 || (uint)c.GetReg(Register.ECX) != 0 || (value & X87Component) == 0
            || (value & ~c.Cpuid.XsaveComponents) != 0 || ((value & AvxComponent) != 0 && (value & SseComponent) == 0))
        {
            c.RaiseFault(Vector.GP, 0);
            return;
        }

        c.S.Vector.Xcr0 = value;
        c.EndBlock();
    }
}
