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

    /// <summary>IA32_PLATFORM_ID: read-only; bits 52:50 name the platform (0 here). Linux's microcode driver reads it on family 6.</summary>
    public const uint PlatformId = 0x17;
    public const uint ApicBase = 0x1B;
    public const uint BiosSignId = 0x8B;
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
    public const uint TscAux = 0xC0000103;

    public const uint TscDeadline = 0x6E0;

    /// <summary>IA32_ARCH_CAPABILITIES (read-only, present when CPUID.(EAX=7,ECX=0):EDX[29] is set).</summary>
    public const uint ArchCapabilities = 0x10A;

    /// <summary>
    /// What IA32_ARCH_CAPABILITIES reports (SDM Vol. 4, table 2-2): the "not affected" bits that are
    /// true of a CPU that never executes speculatively or keeps stale data in fill, store or load
    /// buffers. RDCL_NO (0, no Meltdown), SSB_NO (4), MDS_NO (5), IF_PSCHANGE_MC_NO (6), TAA_NO (8),
    /// SBDR_SSDP_NO (13), FBSDP_NO (14), PSDP_NO (15), BHI_NO (20), PBRSB_NO (24), GDS_NO (26), RFDS_NO (27),
    /// ITS_NO (62; without it Linux assumes a guest may run on an ITS-affected host).
    /// Not IBRS_ALL: there is no IBRS to enable; Linux still assumes Spectre v1/v2 (no bit says otherwise).
    /// </summary>
    public const ulong ArchCapabilitiesValue = (1UL << 0) | (1UL << 4) | (1UL << 5) | (1UL << 6) | (1UL << 8)
        | (1UL << 13) | (1UL << 14) | (1UL << 15) | (1UL << 20) | (1UL << 24) | (1UL << 26) | (1UL << 27) | (1UL << 62);

    /// <summary>IA32_APIC_BASE: BSP (bit 8, read-only here), x2APIC enable (bit 10, when CPUID says x2APIC), global enable (bit 11), base (MAXPHYADDR-1:12) (SDM Vol. 3A 10.4.4, 10.12.1).</summary>
    public const ulong ApicBaseBsp = 1UL << 8, ApicBaseExtd = 1UL << 10, ApicBaseEnable = 1UL << 11;

    /// <summary>IA32_MISC_ENABLE bits (SDM Vol. 4, table 2-2): fast strings, automatic thermal control, limit CPUID maxval, xTPR disable, XD bit disable.</summary>
    public const ulong MiscFastStrings = 1UL << 0, MiscThermalControl = 1UL << 3, MiscLimitCpuidMaxval = 1UL << 22, MiscXtprDisable = 1UL << 23, MiscXdDisable = 1UL << 34;

    /// <summary>Read-only IA32_MISC_ENABLE bits: performance monitoring available (7, clear here), BTS unavailable (11), PEBS unavailable (12).</summary>
    public const ulong MiscReadOnly = (1UL << 7) | (1UL << 11) | (1UL << 12);

    public const ulong MiscWritable = MiscFastStrings | MiscThermalControl | MiscLimitCpuidMaxval | MiscXtprDisable | MiscXdDisable;

    public const ulong MiscEnableResetValue = MiscFastStrings | (1UL << 11) | (1UL << 12);

    /// <summary>EFER bits software may set here: SCE, LME and NXE.</summary>
    public const ulong EferWritable = ControlBits.EferSCE | ControlBits.EferLME | ControlBits.EferNXE;

    public static bool TryRead(X86Cpu c, uint index, out ulong value)
    {
        ref CpuState s = ref c.S;
        if (c.MsrDevice is { } device && device.Owns(index))
        {
            return device.TryRead(index, out value) || c.RaiseFault(Vector.GP, 0);
        }

        if (Mtrr.IsMtrr(index))
        {
            value = Mtrr.Read(ref s, index);
            return true;
        }

        if (index == ArchCapabilities && (c.Cpuid.Leaf7Edx & CpuidModel.Leaf7EdxArchCapabilities) != 0)
        {
            value = ArchCapabilitiesValue;
            return true;
        }

        if (MachineCheck.Owns(index) && (c.Cpuid.Leaf1Edx & CpuidModel.EdxMca) != 0)
        {
            value = c.MachineCheck.Read(index);
            return true;
        }

        value = index switch
        {
            Tsc => c.TimeStampCounter() + s.TscOffset,
            ApicBase => s.ApicBase,
            BiosSignId => 0, // no microcode: revision 0 in bits 63:32
            PlatformId => 0,
            MiscEnable => s.MiscEnable,
            Pat => s.Pat,
            Efer => s.Efer,
            FsBase => s.Fs.Base,
            GsBase => s.Gs.Base,
            KernelGsBase => s.KernelGsBase,
            TscAux => s.TscAux,
            SysenterCs => s.SysenterCs,
            SysenterEsp => s.SysenterEsp,
            SysenterEip => s.SysenterEip,
            Star => s.Star,
            Lstar => s.Lstar,
            Cstar => s.Cstar,
            Sfmask => s.Sfmask,
            _ => 0,
        };
        return index is Tsc or PlatformId or ApicBase or BiosSignId or MiscEnable or Pat or Efer or FsBase or GsBase or KernelGsBase or TscAux
            or SysenterCs or SysenterEsp or SysenterEip or Star or Lstar or Cstar or Sfmask || c.RaiseFault(Vector.GP, 0);
    }

    public static bool TryWrite(X86Cpu c, uint index, ulong value)
    {
        ref CpuState s = ref c.S;
        if (c.MsrDevice is { } device && device.Owns(index))
        {
            return device.TryWrite(index, value) || c.RaiseFault(Vector.GP, 0);
        }

        if (MachineCheck.Owns(index) && (c.Cpuid.Leaf1Edx & CpuidModel.EdxMca) != 0)
        {
            return c.MachineCheck.TryWrite(index, value) || c.RaiseFault(Vector.GP, 0);
        }

        switch (index)
        {
            case Tsc:
                s.TscOffset = value - c.TimeStampCounter();
                return true;
            case ApicBase:
                {
                    // Bits 7:0, 9, 10 (unless CPUID has x2APIC) and those from MAXPHYADDR up are reserved (SDM Vol. 3A 10.4.4).
                    ulong reserved = 0x6FF | ~((1UL << Mmu.Physical.PhysicalMemory.PhysicalAddressBits) - 1);
                    if ((c.Cpuid.Leaf1Ecx & CpuidModel.EcxX2Apic) != 0)
                    {
                        reserved &= ~ApicBaseExtd;
                    }

                    if ((value & reserved & ~ApicBaseBsp) != 0 || (c.MsrDevice is { } apic && !apic.ApicBaseChanging((value & ~ApicBaseBsp) | (s.ApicBase & ApicBaseBsp))))
                    {
                        return c.RaiseFault(Vector.GP, 0);
                    }

                    s.ApicBase = (value & ~ApicBaseBsp) | (s.ApicBase & ApicBaseBsp);
                    return true;
                }

            case BiosSignId:
                // Writing 0 before CPUID is how software asks for the microcode revision; there is none.
                return true;
            case TscAux:
                // IA32_TSC_AUX: bits 63:32 are reserved (SDM Vol. 4, table 2-2).
                if ((value >> 32) != 0)
                {
                    return c.RaiseFault(Vector.GP, 0);
                }

                s.TscAux = value;
                return true;
            case MiscEnable:
                // Read-only bits keep their value; a reserved bit set is #GP(0).
                if ((value & ~(MiscWritable | MiscReadOnly)) != 0)
                {
                    return c.RaiseFault(Vector.GP, 0);
                }

                s.MiscEnable = (value & MiscWritable) | (s.MiscEnable & MiscReadOnly);
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
                    // With IA32_MISC_ENABLE.XD_DISABLE set, NXE is reserved too (SDM Vol. 4, table 2-2).
                    ulong writable = (s.MiscEnable & MiscXdDisable) != 0 ? EferWritable & ~ControlBits.EferNXE : EferWritable;
                    if ((value & ~(writable | ControlBits.EferLMA)) != 0
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
                return (Mtrr.IsMtrr(index) && Mtrr.TryWrite(ref s, index, value)) || c.RaiseFault(Vector.GP, 0);
        }
    }
}
