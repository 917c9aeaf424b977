using Emulator.Cpu.Exceptions;
using Emulator.Cpu.State;

namespace Emulator.Cpu;

/// <summary>
/// The model-specific registers this CPU has (SDM Vol. 4, table 2-2 names). RDMSR and WRMSR of
/// any other index raise #GP(0), as they do on hardware.
/// </summary>
public static class Msr
{
    public const uint Tsc = 0x10;
    public const uint ApicBase = 0x1B;
    public const uint SysenterCs = 0x174;
    public const uint SysenterEsp = 0x175;
    public const uint SysenterEip = 0x176;
    public const uint MiscEnable = 0x1A0;
    public const uint Pat = 0x277;
    public const uint Efer = 0xC0000080;
    public const uint Star = 0xC0000081;
    public const uint Lstar = 0xC0000082;
    public const uint Cstar = 0xC0000083;
    public const uint Sfmask = 0xC0000084;
    public const uint FsBase = 0xC0000100;
    public const uint GsBase = 0xC0000101;
    public const uint KernelGsBase = 0xC0000102;

    /// <summary>EFER bits software may set here: SCE, LME and NXE.</summary>
    public const ulong EferWritable = ControlBits.EferSCE | ControlBits.EferLME | ControlBits.EferNXE;

    public static bool TryRead(X86Cpu c, uint index, out ulong value)
    {
        ref CpuState s = ref c.S;
        value = index switch
        {
            Tsc => c.TimeStampCounter() + s.TscOffset,
            ApicBase => s.ApicBase,
            MiscEnable => s.MiscEnable,
            Pat => s.Pat,
            Efer => s.Efer,
            FsBase => s.Fs.Base,
            GsBase => s.Gs.Base,
            KernelGsBase => s.KernelGsBase,
            SysenterCs => s.SysenterCs,
            SysenterEsp => s.SysenterEsp,
            SysenterEip => s.SysenterEip,
            Star => s.Star,
            Lstar => s.Lstar,
            Cstar => s.Cstar,
            Sfmask => s.Sfmask,
            _ => ulong.MaxValue,
        };
        return index is Tsc or ApicBase or MiscEnable or Pat or Efer or FsBase or GsBase or KernelGsBase
            or SysenterCs or SysenterEsp or SysenterEip or Star or Lstar or Cstar or Sfmask || c.RaiseFault(Vector.GP, 0);
    }

    public static bool TryWrite(X86Cpu c, uint index, ulong value)
    {
        ref CpuState s = ref c.S;
        switch (index)
        {
            case Tsc:
                s.TscOffset = value - c.TimeStampCounter();
                return true;
            case ApicBase:
                s.ApicBase = value;
                return true;
            case MiscEnable:
                s.MiscEnable = value;
                return true;
            case Pat:
                // Each of the 8 entries must be a valid memory type: 0, 1, 4, 5, 6 or 7 (SDM 11.12.2).
                for (int k = 0; k < 8; k++)
                {
                    ulong type = (value >> (8 * k)) & 0xFF;
                    if (type is 2 or 3 or > 7)
                    {
                        return c.RaiseFault(Vector.GP, 0);
                    }
                }

                s.Pat = value;
                return true;
            case Efer:
                {
                    // Reserved bits, and changing LME while paging is on, are #GP(0) (SDM 2.2.1, 9.8.5).
                    if ((value & ~(EferWritable | ControlBits.EferLMA)) != 0
                        || ((s.Cr0 & ControlBits.Cr0PG) != 0 && ((value ^ s.Efer) & ControlBits.EferLME) != 0))
                    {
                        return c.RaiseFault(Vector.GP, 0);
                    }

                    s.Efer = (s.Efer & ControlBits.EferLMA) | (value & EferWritable);
                    c.Tlb.FlushAll();
                    c.EndBlock();
                    return true;
                }

            case SysenterCs:
                // Bits 63:16 are reserved here (SDM Vol. 4, table 2-2 lists a 16-bit selector field).
                s.SysenterCs = value & 0xFFFF;
                return true;
            case Star:
                s.Star = value;
                return true;
            case Sfmask:
                // IA32_FMASK: the low 32 bits are the RFLAGS mask, the upper half is reserved.
                s.Sfmask = value & 0xFFFF_FFFF;
                return true;
            case SysenterEsp:
            case SysenterEip:
            case Lstar:
            case Cstar:
                // Addresses: a non-canonical value is #GP(0) (SDM Vol. 2B, WRMSR).
                if (!X86Cpu.IsCanonical(value))
                {
                    return c.RaiseFault(Vector.GP, 0);
                }

                if (index == SysenterEsp)
                {
                    s.SysenterEsp = value;
                }
                else if (index == SysenterEip)
                {
                    s.SysenterEip = value;
                }
                else if (index == Lstar)
                {
                    s.Lstar = value;
                }
                else
                {
                    s.Cstar = value;
                }

                return true;
            case FsBase:
            case GsBase:
            case KernelGsBase:
                if (!X86Cpu.IsCanonical(value))
                {
                    return c.RaiseFault(Vector.GP, 0);
                }

                if (index == FsBase)
                {
                    s.Fs.Base = value;
                }
                else if (index == GsBase)
                {
                    s.Gs.Base = value;
                }
                else
                {
                    s.KernelGsBase = value;
                }

                return true;
            default:
                return c.RaiseFault(Vector.GP, 0);
        }
    }
}
