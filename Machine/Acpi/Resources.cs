namespace Emulator.Machine.Acpi;

/// <summary>
/// Resource descriptors for _CRS buffers (ACPI 6.5 section 6.4, "Resource Data Types for ACPI"),
/// each method one descriptor, as ASL's ResourceTemplate() macros produce them.
/// </summary>
public static class Resources
{
    // Small item tags (section 6.4.2): bits 6-3 item name, bits 2-0 length.
    public const byte IrqNoFlagsTag = 0x22;
    public const byte IoTag = 0x47;
    public const byte EndTag = 0x79;

    // Large item tags (section 6.4.3).
    public const byte Memory32FixedTag = 0x86;
    public const byte DWordAddressTag = 0x87;
    public const byte WordAddressTag = 0x88;

    // Address space resource types (table 6.48).
    public const byte MemoryRange = 0;
    public const byte IoRange = 1;
    public const byte BusNumberRange = 2;

    /// <summary>General flags of a bridge's windows: producer, positive decode, min and max fixed (bits 0-3 = 0b1100).</summary>
    public const byte ProducerMinMaxFixed = 0x0C;

    /// <summary>ResourceTemplate(): the descriptors, an end tag with checksum 0 ("treated as correct"), in a Buffer.</summary>
    public static byte[] Template(params byte[][] descriptors) => Aml.Buffer([.. Aml.Concat(descriptors), EndTag, 0]);

    /// <summary>IO(Decode16, min, max, alignment, length) (section 6.4.2.5).</summary>
    public static byte[] Io(ushort min, ushort max, byte alignment, byte length) =>
        [IoTag, 0x01, (byte)min, (byte)(min >> 8), (byte)max, (byte)(max >> 8), alignment, length];

    /// <summary>IRQNoFlags() { irq }: edge-triggered, active-high (section 6.4.2.1).</summary>
    public static byte[] IrqNoFlags(int irq) => [IrqNoFlagsTag, (byte)(1 << irq), (byte)((1 << irq) >> 8)];

    /// <summary>Memory32Fixed(ReadWrite or ReadOnly, base, length) (section 6.4.3.4).</summary>
    public static byte[] Memory32Fixed(bool writable, uint baseAddress, uint length) =>
        [Memory32FixedTag, 9, 0, (byte)(writable ? 1 : 0), .. Le(baseAddress, 4), .. Le(length, 4)];

    /// <summary>WordBusNumber(ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, min, max, 0, count) (section 6.4.3.5.3).</summary>
    public static byte[] WordBusNumber(ushort min, ushort max) => WordAddress(BusNumberRange, 0, min, max);

    /// <summary>WordIO(ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0, min, max, 0, length).</summary>
    public static byte[] WordIo(ushort min, ushort max) => WordAddress(IoRange, 0x03, min, max);

    /// <summary>
    /// DWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable or NonCacheable,
    /// ReadWrite, 0, min, max, 0, length) (section 6.4.3.5.2; type-specific flags table 6.50:
    /// bit 0 read-write, bits 2-1 cacheability).
    /// </summary>
    public static byte[] DWordMemory(bool cacheable, uint min, uint max)
    {
        byte typeFlags = (byte)(0x01 | (cacheable ? 0x02 : 0x00));
        return
        [
            DWordAddressTag, 0x17, 0x00, MemoryRange, ProducerMinMaxFixed, typeFlags,
            .. Le(0, 4), .. Le(min, 4), .. Le(max, 4), .. Le(0, 4), .. Le(max - min + 1, 4),
        ];
    }

    private static byte[] WordAddress(byte type, byte typeFlags, ushort min, ushort max) =>
    [
        WordAddressTag, 0x0D, 0x00, type, ProducerMinMaxFixed, typeFlags,
        .. Le(0, 2), .. Le(min, 2), .. Le(max, 2), .. Le(0, 2), .. Le((uint)(max - min + 1), 2),
    ];

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
