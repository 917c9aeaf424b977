namespace Emulator.Cpu;

/// <summary>
/// MSRs that belong to a device outside the CPU (the local APIC's x2APIC range and IA32_TSC_DEADLINE).
/// <c>Machine</c> installs one as <see cref="X86Cpu.MsrDevice"/>, so the CPU never sees a device type.
/// A false return becomes #GP(0), as RDMSR/WRMSR of a missing or read-only MSR do on hardware.
/// </summary>
public interface IMsrDevice
{
    /// <summary>True when RDMSR/WRMSR of <paramref name="index"/> go to this device.</summary>
    bool Owns(uint index);

    bool TryRead(uint index, out ulong value);

    bool TryWrite(uint index, ulong value);

    /// <summary>
    /// Told before IA32_APIC_BASE takes <paramref name="value"/> (the CPU checks reserved bits first);
    /// false refuses the write with #GP(0), e.g. leaving x2APIC mode straight to xAPIC (SDM Vol. 3A 10.12.5).
    /// </summary>
    bool ApicBaseChanging(ulong value);
}
