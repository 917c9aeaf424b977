using Emulator.Machine.Acpi;
using Xunit;

namespace Emulator.Machine.Tests.Acpi;

/// <summary>AML encodings checked against encodings derived by hand from ACPI 6.5 section 20.2.</summary>
public class AmlTests
{
    [Fact]
    public void PkgLengthUsesOneByteUpTo63AndCountsItself()
    {
        Assert.Equal([0x01], Aml.WithPkgLength([]));
        byte[] encoded = Aml.WithPkgLength(new byte[62]);
        Assert.Equal(0x3F, encoded[0]);
        Assert.Equal(63, encoded.Length);
    }

    [Fact]
    public void PkgLengthOfTwoBytesPutsTheLowNibbleInTheLeadByte()
    {
        // 63 body bytes + 2 length bytes = 65 = 0x41: lead 0b01_00_0001, then 0x41 >> 4 = 0x04.
        byte[] encoded = Aml.WithPkgLength(new byte[63]);
        Assert.Equal([0x41, 0x04], encoded[..2]);
        Assert.Equal(65, encoded.Length);
    }

    [Fact]
    public void PkgLengthOfThreeBytes()
    {
        // 5000 body bytes + 3 = 5003 = 0x138B: lead 0b10_00_1011, then 0x38, then 0x01.
        byte[] encoded = Aml.WithPkgLength(new byte[5000]);
        Assert.Equal([0x8B, 0x38, 0x01], encoded[..3]);
    }

    [Theory]
    [InlineData(0UL, new byte[] { 0x00 })]
    [InlineData(1UL, new byte[] { 0x01 })]
    [InlineData(2UL, new byte[] { 0x0A, 0x02 })]
    [InlineData(0x3F8UL, new byte[] { 0x0B, 0xF8, 0x03 })]
    [InlineData(0xFED00000UL, new byte[] { 0x0C, 0x00, 0x00, 0xD0, 0xFE })]
    [InlineData(0x1_0000_0000UL, new byte[] { 0x0E, 0, 0, 0, 0, 1, 0, 0, 0 })]
    public void IntegersUseTheShortestConstant(ulong value, byte[] expected)
    {
        Assert.Equal(expected, Aml.Integer(value));
    }

    [Fact]
    public void EisaIdCompressesLettersAndHexDigits()
    {
        // P=0x10, N=0x0E, P=0x10: 0b10000_01110_10000 = 0x41D0, big-endian; then 0x0A, 0x03.
        Assert.Equal([0x0C, 0x41, 0xD0, 0x0A, 0x03], Aml.EisaId("PNP0A03"));
    }

    [Fact]
    public void NameStringsPadSegmentsAndUsePrefixes()
    {
        Assert.Equal("_S5_"u8.ToArray(), Aml.NameString("_S5"));
        Assert.Equal("\\_SB_"u8.ToArray(), Aml.NameString("\\_SB"));
        Assert.Equal([(byte)'\\', 0x2E, .. "_SB_PCI0"u8], Aml.NameString("\\_SB.PCI0"));
        Assert.Equal([0x2F, 3, .. "_SB_PCI0RTC_"u8], Aml.NameString("_SB.PCI0.RTC"));
        Assert.Throws<ArgumentException>(() => Aml.NameString("TOOLONG"));
    }

    [Fact]
    public void S5PackageMatchesTheHandAssembledBytes()
    {
        // Name (_S5, Package (4) { 0, 0, 0, 0 }) as iasl assembles it.
        byte[] expected = [0x08, .. "_S5_"u8, 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00];
        Assert.Equal(expected, Aml.Name("_S5", Aml.Package(Aml.Integer(0), Aml.Integer(0), Aml.Integer(0), Aml.Integer(0))));
    }

    [Fact]
    public void ResourceTemplateEndsWithAnEndTag()
    {
        // ResourceTemplate () { IO (Decode16, 0x70, 0x70, 1, 2) IRQNoFlags () { 8 } }
        byte[] expected = [0x11, 0x10, 0x0A, 0x0D, 0x47, 0x01, 0x70, 0x00, 0x70, 0x00, 0x01, 0x02, 0x22, 0x00, 0x01, 0x79, 0x00];
        Assert.Equal(expected, Resources.Template(Resources.Io(0x70, 0x70, 1, 2), Resources.IrqNoFlags(8)));
    }
}
