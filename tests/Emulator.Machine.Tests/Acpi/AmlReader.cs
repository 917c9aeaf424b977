using System.Text;

namespace Emulator.Machine.Tests.Acpi;

/// <summary>
/// A small, independent decoder for the AML a static DSDT uses (ACPI 6.5 section 20.2): Scope,
/// Device, Name, integers, strings, packages and buffers. It flattens the namespace into
/// absolute paths ("\_SB_.PCI0._HID" -> value) and throws on any byte it does not know, so an
/// unexpected encoding fails the test instead of being skipped.
/// </summary>
public sealed class AmlReader
{
    private readonly byte[] _aml;
    private int _pos;

    private AmlReader(byte[] aml) => _aml = aml;

    /// <summary>Named objects by absolute path; the values are ulong, string, byte[] (buffer) or object[] (package).</summary>
    public Dictionary<string, object> Names { get; } = [];

    /// <summary>Devices by absolute path.</summary>
    public List<string> Devices { get; } = [];

    public static AmlReader Read(byte[] aml)
    {
        var reader = new AmlReader(aml);
        reader.TermList(aml.Length, "\\");
        return reader;
    }

    private void TermList(int end, string scope)
    {
        while (_pos < end)
        {
            byte op = _aml[_pos++];
            switch (op)
            {
                case 0x08: // NameOp
                    {
                        string name = Resolve(scope, NameString());
                        Names[name] = DataObject();
                        break;
                    }

                case 0x10: // ScopeOp
                    {
                        int bodyEnd = PkgLength();
                        string path = Resolve(scope, NameString());
                        TermList(bodyEnd, path);
                        break;
                    }

                case 0x5B when _aml[_pos] == 0x82: // DeviceOp
                    {
                        _pos++;
                        int bodyEnd = PkgLength();
                        string path = Resolve(scope, NameString());
                        Devices.Add(path);
                        TermList(bodyEnd, path);
                        break;
                    }

                default:
                    throw new InvalidDataException($"AML opcode 0x{op:x2} at offset {_pos - 1} is not understood by the test reader");
            }
        }

        if (_pos != end)
        {
            throw new InvalidDataException($"a term list overran its PkgLength (at {_pos}, should end at {end})");
        }
    }

    private object DataObject()
    {
        byte op = _aml[_pos++];
        switch (op)
        {
            case 0x00: return 0UL;
            case 0x01: return 1UL;
            case 0xFF: return ulong.MaxValue;
            case 0x0A: return Little(1);
            case 0x0B: return Little(2);
            case 0x0C: return Little(4);
            case 0x0E: return Little(8);
            case 0x0D:
                {
                    int start = _pos;
                    while (_aml[_pos] != 0)
                    {
                        _pos++;
                    }

                    return Encoding.ASCII.GetString(_aml, start, _pos++ - start);
                }

            case 0x11: // BufferOp PkgLength BufferSize ByteList
                {
                    int end = PkgLength();
                    int size = (int)(ulong)DataObject();
                    if (end - _pos != size)
                    {
                        throw new InvalidDataException($"buffer size {size} does not match its PkgLength ({end - _pos} bytes)");
                    }

                    byte[] data = _aml[_pos..end];
                    _pos = end;
                    return data;
                }

            case 0x12: // PackageOp PkgLength NumElements PackageElementList
                {
                    int end = PkgLength();
                    int count = _aml[_pos++];
                    var elements = new List<object>();
                    while (_pos < end)
                    {
                        elements.Add(DataObject());
                    }

                    if (elements.Count != count || _pos != end)
                    {
                        throw new InvalidDataException($"package says {count} elements, holds {elements.Count}");
                    }

                    return elements.ToArray();
                }

            default:
                throw new InvalidDataException($"AML data opcode 0x{op:x2} at offset {_pos - 1} is not understood by the test reader");
        }
    }

    private ulong Little(int size)
    {
        ulong value = 0;
        for (int k = 0; k < size; k++)
        {
            value |= (ulong)_aml[_pos++] << (8 * k);
        }

        return value;
    }

    /// <summary>Returns the absolute end offset of the package the PkgLength at the cursor starts.</summary>
    private int PkgLength()
    {
        int start = _pos;
        byte lead = _aml[_pos++];
        int follow = lead >> 6;
        int length = follow == 0 ? lead & 0x3F : lead & 0x0F;
        for (int k = 0; k < follow; k++)
        {
            length |= _aml[_pos++] << (4 + (8 * k));
        }

        return start + length;
    }

    private string NameString()
    {
        var sb = new StringBuilder();
        while (_aml[_pos] is (byte)'\\' or (byte)'^')
        {
            sb.Append((char)_aml[_pos++]);
        }

        int segments = 1;
        if (_aml[_pos] == 0x2E)
        {
            _pos++;
            segments = 2;
        }
        else if (_aml[_pos] == 0x2F)
        {
            _pos++;
            segments = _aml[_pos++];
        }
        else if (_aml[_pos] == 0)
        {
            _pos++;
            segments = 0;
        }

        for (int k = 0; k < segments; k++)
        {
            if (k > 0)
            {
                sb.Append('.');
            }

            sb.Append(Encoding.ASCII.GetString(_aml, _pos, 4));
            _pos += 4;
        }

        return sb.ToString();
    }

    private static string Resolve(string scope, string name)
    {
        if (name.StartsWith('\\'))
        {
            return name;
        }

        return scope == "\\" ? "\\" + name : scope + "." + name;
    }
}
