using System.Text;

namespace Emulator.Frontend.Gdb;

/// <summary>
/// The target description GDB fetches with <c>qXfer:features:read:target.xml</c> (GDB manual,
/// "Target Descriptions"). One document with all features inline, generated from
/// <see cref="GdbRegisterLayout"/> so the XML order and the <c>g</c> packet order cannot drift apart.
/// The types are defined here, not in GDB's files: GDB's i386 code checks feature and register
/// names, and takes types from the description.
/// </summary>
public static class GdbTargetDescription
{
    public const string Annex = "target.xml";

    // Flag fields named as in the SDM (Vol. 1 3.4.3 EFLAGS, 10.2.3 MXCSR; Vol. 3A 2.5 CR0/CR4, 2.2.1 EFER).
    private static readonly (string Name, int Bit)[] s_eflags =
    [
        ("CF", 0), ("", 1), ("PF", 2), ("AF", 4), ("ZF", 6), ("SF", 7), ("TF", 8), ("IF", 9), ("DF", 10), ("OF", 11),
        ("NT", 14), ("RF", 16), ("VM", 17), ("AC", 18), ("VIF", 19), ("VIP", 20), ("ID", 21),
    ];

    private static readonly (string Name, int Bit)[] s_mxcsr =
    [
        ("IE", 0), ("DE", 1), ("ZE", 2), ("OE", 3), ("UE", 4), ("PE", 5), ("DAZ", 6),
        ("IM", 7), ("DM", 8), ("ZM", 9), ("OM", 10), ("UM", 11), ("PM", 12), ("FZ", 15),
    ];

    private static readonly (string Name, int Bit)[] s_cr0 =
    [
        ("PE", 0), ("MP", 1), ("EM", 2), ("TS", 3), ("ET", 4), ("NE", 5), ("WP", 16), ("AM", 18), ("NW", 29), ("CD", 30), ("PG", 31),
    ];

    private static readonly (string Name, int Bit)[] s_cr4 =
    [
        ("VME", 0), ("PVI", 1), ("TSD", 2), ("DE", 3), ("PSE", 4), ("PAE", 5), ("MCE", 6), ("PGE", 7), ("PCE", 8),
        ("OSFXSR", 9), ("OSXMMEXCPT", 10), ("UMIP", 11), ("LA57", 12), ("VMXE", 13), ("SMXE", 14), ("FSGSBASE", 16),
        ("PCIDE", 17), ("OSXSAVE", 18), ("SMEP", 20), ("SMAP", 21), ("PKE", 22),
    ];

    private static readonly (string Name, int Bit)[] s_efer =
    [
        ("SCE", 0), ("LME", 8), ("LMA", 10), ("NXE", 11), ("SVME", 12), ("LMSLE", 13), ("FFXSR", 14), ("TCE", 15),
    ];

    // Declared after the tables: static initializers run in text order.
    public static string Xml { get; } = Build();

    public static byte[] Bytes { get; } = Encoding.UTF8.GetBytes(Xml);

    private static string Build()
    {
        var xml = new StringBuilder();
        xml.Append("<?xml version=\"1.0\"?>\n");
        xml.Append("<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n");
        xml.Append("<target version=\"1.0\">\n");
        xml.Append("  <architecture>i386:x86-64</architecture>\n");
        foreach (var (feature, registers) in GdbRegisterLayout.Features)
        {
            xml.Append($"  <feature name=\"{feature}\">\n");
            switch (feature)
            {
                case GdbRegisterLayout.CoreFeature:
                    AppendFlags(xml, "i386_eflags", 4, s_eflags);
                    break;
                case GdbRegisterLayout.SseFeature:
                    AppendVec128(xml);
                    AppendFlags(xml, "i386_mxcsr", 4, s_mxcsr);
                    break;
                case GdbRegisterLayout.SystemFeature:
                    AppendFlags(xml, "x64_cr0", 8, s_cr0);
                    AppendFlags(xml, "x64_cr4", 8, s_cr4);
                    AppendFlags(xml, "x64_efer", 8, s_efer);
                    break;
            }

            foreach (var register in registers)
            {
                string group = register.Group is null ? "" : $" group=\"{register.Group}\"";
                xml.Append($"    <reg name=\"{register.Name}\" bitsize=\"{register.BitSize}\" type=\"{register.Type}\"{group}/>\n");
            }

            xml.Append("  </feature>\n");
        }

        xml.Append("</target>\n");
        return xml.ToString();
    }

    private static void AppendFlags(StringBuilder xml, string id, int size, (string Name, int Bit)[] fields)
    {
        xml.Append($"    <flags id=\"{id}\" size=\"{size}\">\n");
        foreach (var (name, bit) in fields)
        {
            xml.Append($"      <field name=\"{name}\" start=\"{bit}\" end=\"{bit}\"/>\n");
        }

        xml.Append("    </flags>\n");
    }

    /// <summary>The xmm view GDB's 64bit-sse.xml defines, without the bfloat16 and half lanes older GDBs lack.</summary>
    private static void AppendVec128(StringBuilder xml)
    {
        xml.Append("    <vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>\n");
        xml.Append("    <vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>\n");
        xml.Append("    <vector id=\"v16i8\" type=\"int8\" count=\"16\"/>\n");
        xml.Append("    <vector id=\"v8i16\" type=\"int16\" count=\"8\"/>\n");
        xml.Append("    <vector id=\"v4i32\" type=\"int32\" count=\"4\"/>\n");
        xml.Append("    <vector id=\"v2i64\" type=\"int64\" count=\"2\"/>\n");
        xml.Append("    <union id=\"vec128\">\n");
        xml.Append("      <field name=\"v4_float\" type=\"v4f\"/>\n");
        xml.Append("      <field name=\"v2_double\" type=\"v2d\"/>\n");
        xml.Append("      <field name=\"v16_int8\" type=\"v16i8\"/>\n");
        xml.Append("      <field name=\"v8_int16\" type=\"v8i16\"/>\n");
        xml.Append("      <field name=\"v4_int32\" type=\"v4i32\"/>\n");
        xml.Append("      <field name=\"v2_int64\" type=\"v2i64\"/>\n");
        xml.Append("      <field name=\"uint128\" type=\"uint128\"/>\n");
        xml.Append("    </union>\n");
    }
}
