using Emulator.Cpu;
using Emulator.Devices.Apic;

namespace Emulator.Machine.Board;

/// <summary>The local APIC's MSRs (x2APIC 0x800-0x8FF, IA32_TSC_DEADLINE) and IA32_APIC_BASE changes, for the CPU.</summary>
public sealed class ApicMsrs(LocalApic apic) : IMsrDevice
{
    public bool Owns(uint index) => LocalApic.OwnsMsr(index);

    public bool TryRead(uint index, out ulong value) => apic.TryReadMsr(index, out value);

    public bool TryWrite(uint index, ulong value) => apic.TryWriteMsr(index, value);

    public bool ApicBaseChanging(ulong value) => apic.ApicBaseChanging(value);
}
