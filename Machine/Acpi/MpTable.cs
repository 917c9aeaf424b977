using System.Buffers.Binary;
using System.Text;
using Emulator.Mmu.Physical;

namespace Emulator.Machine.Acpi;

/// <summary>
/// The Intel MultiProcessor Specification 1.4 tables, for guests that read them instead of ACPI's
/// MADT: the floating pointer (chapter 4.1) at <see cref="FloatingPointerAddress"/>, in the BIOS
/// ROM area an OS searches, and the configuration table (chapter 4.2) right after it, listing the
/// CPU, the ISA bus, the I/O APIC and how the ISA IRQs reach the I/O APIC's pins and the local
/// APIC's LINT pins (the same routing as the MADT: IRQ 0 on pin 2, the SCI level-triggered).
/// </summary>
public static class MpTable
{
    public const uint FloatingPointerAddress = 0xF0000;
    public const uint ConfigTableAddress = FloatingPointerAddress + 16;

    // Entry types (table 4-3) and interrupt types (table 4-10).
    public const byte ProcessorEntry = 0;
    public const byte BusEntry = 1;
    public const byte IoApicEntry = 2;
    public const byte IoInterruptEntry = 3;
    public const byte LocalInterruptEntry = 4;
    public const byte IntTypeInt = 0;
    public const byte IntTypeNmi = 1;
    public const byte IntTypeExtInt = 3;

    public const byte LocalApicVersion = 0x14;
    public const byte IoApicVersion = 0x11;

    /// <summary>Builds both structures and writes them into guest memory.</summary>
    /// <param name="cpuSignature">CPUID.1:EAX of the processor.</param>
    /// <param name="cpuFeatures">CPUID.1:EDX of the processor.</param>
    public static byte[] Install(PhysicalMemory memory, uint cpuSignature, uint cpuFeatures)
    {
        byte[] image = Build(cpuSignature, cpuFeatures);
        memory.WriteBytes(FloatingPointerAddress, image);
        return image;
    }

    /// <summary>The floating pointer followed by the configuration table, as one image at <see cref="FloatingPointerAddress"/>.</summary>
    public static byte[] Build(uint cpuSignature, uint cpuFeatures)
    {
        var entries = new List<byte[]>();
        // Processor: the bootstrap processor, enabled (CPU flags bit 0 EN, bit 1 BP).
        entries.Add([ProcessorEntry, PlatformLayout.BootCpuApicId, LocalApicVersion, 0x03, .. Le(cpuSignature, 4), .. Le(cpuFeatures, 4), .. new byte[8]]);
        entries.Add([BusEntry, 0, .. "ISA   "u8]);
        entries.Add([IoApicEntry, PlatformLayout.IoApicId, IoApicVersion, 0x01, .. Le(PlatformLayout.IoApicBase, 4)]);

        // I/O interrupts (section 4.3.4): the 8259's INTR as ExtINT on pin 0, then ISA IRQ n on pin n,
        // except IRQ 0 (the PIT) on pin 2 and IRQ 2 (the cascade), which has no pin.
        entries.Add(IoInterrupt(IntTypeExtInt, 0, 0, 0));
        for (byte irq = 0; irq < 16; irq++)
        {
            if (irq == 2)
            {
                continue;
            }

            ushort flags = irq == PlatformLayout.SciIrq ? (ushort)(AcpiTables.IntiActiveHigh | AcpiTables.IntiLevel) : (ushort)0;
            entries.Add(IoInterrupt(IntTypeInt, flags, irq, irq == 0 ? (byte)2 : irq));
        }

        // Local interrupts: ExtINT on LINT0, NMI on LINT1 of every local APIC (ID 0xFF).
        entries.Add([LocalInterruptEntry, IntTypeExtInt, 0, 0, 0, 0, 0xFF, 0]);
        entries.Add([LocalInterruptEntry, IntTypeNmi, 0, 0, 0, 0, 0xFF, 1]);

        byte[] body = Aml.Concat(entries);
        var config = new byte[44 + body.Length];
        Encoding.ASCII.GetBytes("PCMP", config);
        BinaryPrimitives.WriteUInt16LittleEndian(config.AsSpan(4), (ushort)config.Length);
        config[6] = 4; // specification revision 1.4
        Encoding.ASCII.GetBytes("EMU     ", config.AsSpan(8)); // OEM ID, 8 characters
        Encoding.ASCII.GetBytes("EMU-PC      ", config.AsSpan(16)); // product ID, 12 characters
        BinaryPrimitives.WriteUInt16LittleEndian(config.AsSpan(34), (ushort)entries.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(config.AsSpan(36), PlatformLayout.LocalApicBase);
        body.CopyTo(config, 44);
        config[7] = AcpiTables.Checksum(config);

        var pointer = new byte[16];
        Encoding.ASCII.GetBytes("_MP_", pointer);
        BinaryPrimitives.WriteUInt32LittleEndian(pointer.AsSpan(4), ConfigTableAddress);
        pointer[8] = 1; // length in 16-byte units
        pointer[9] = 4; // specification revision 1.4
        // Feature bytes 1-5 stay 0: a configuration table is present; no IMCR (virtual wire mode).
        pointer[10] = AcpiTables.Checksum(pointer);
        return [.. pointer, .. config];
    }

    private static byte[] IoInterrupt(byte type, ushort flags, byte sourceIrq, byte pin) =>
        [IoInterruptEntry, type, (byte)flags, (byte)(flags >> 8), 0, sourceIrq, PlatformLayout.IoApicId, pin];

    private static byte[] Le(uint value, int size)
    {
        var bytes = new byte[size];
        for (int k = 0; k < size; k++)
        {
            bytes[k] = (byte)(value >> (8 * k));
        }

        return bytes;
    }
}
