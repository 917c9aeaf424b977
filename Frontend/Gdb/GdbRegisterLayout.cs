using System.Buffers.Binary;
using Emulator.Machine.Debugging;

namespace Emulator.Frontend.Gdb;

/// <summary>
/// The register file GDB is told about, feature by feature. GDB numbers registers in the order the
/// target description lists them ("Target Descriptions", "Registers": regnum defaults to one more
/// than the previous register), and the <c>g</c> packet holds them in that order, each in target
/// byte order (little-endian). The features and widths follow GDB's own
/// <c>features/i386/64bit-core.xml</c>, <c>64bit-sse.xml</c> and <c>64bit-segments.xml</c>:
/// eflags and the selectors are 32 bits, st0-st7 80 bits, xmm0-xmm15 128 bits.
/// </summary>
public static class GdbRegisterLayout
{
    public const string CoreFeature = "org.gnu.gdb.i386.core";
    public const string SseFeature = "org.gnu.gdb.i386.sse";
    public const string SegmentsFeature = "org.gnu.gdb.i386.segments";

    /// <summary>QEMU's name for its x86 system-register block; GDB has no standard feature for it.</summary>
    public const string SystemFeature = "org.gnu.gdb.i386.sys";

    /// <summary>x87 control word after FNINIT (SDM Vol. 1, 8.1.5): all exceptions masked, 64-bit precision, round to nearest.</summary>
    private const ulong FninitControlWord = 0x37F;

    /// <summary>x87 tag word after FNINIT: every register empty (SDM Vol. 1, 8.1.7).</summary>
    private const ulong FninitTagWord = 0xFFFF;

    /// <summary>MXCSR at reset (SDM Vol. 1, 10.2.3.1): all SIMD exceptions masked.</summary>
    private const ulong ResetMxcsr = 0x1F80;

    public static IReadOnlyList<(string Feature, IReadOnlyList<GdbRegister> Registers)> Features { get; } = BuildFeatures();

    /// <summary>All registers in GDB's numbering.</summary>
    public static IReadOnlyList<GdbRegister> Registers { get; } = [.. Features.SelectMany(f => f.Registers)];

    /// <summary>Byte offset of each register in the <c>g</c> packet's data.</summary>
    public static IReadOnlyList<int> Offsets { get; } = BuildOffsets();

    /// <summary>Length of the <c>g</c> packet's data in bytes (twice that in hex digits).</summary>
    public static int TotalSize { get; } = Registers.Sum(r => r.Size);

    /// <summary>Writes register <paramref name="number"/>'s value, little-endian, into <paramref name="destination"/>.</summary>
    public static void Read(IDebugTarget target, int number, Span<byte> destination)
    {
        var register = Registers[number];
        ulong value = register.Source is { } source ? target.GetRegister(source) : register.FixedValue;
        destination[..register.Size].Clear();
        if (register.Size >= 8)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(destination, value);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)value);
        }
    }

    /// <summary>Sets register <paramref name="number"/> from its little-endian bytes; false when the target refuses.</summary>
    public static bool Write(IDebugTarget target, int number, ReadOnlySpan<byte> source)
    {
        var register = Registers[number];
        if (register.Source is not { } debugRegister)
        {
            return true;
        }

        ulong value = register.Size >= 8
            ? BinaryPrimitives.ReadUInt64LittleEndian(source)
            : BinaryPrimitives.ReadUInt32LittleEndian(source);
        return target.SetRegister(debugRegister, value);
    }

    private static List<(string, IReadOnlyList<GdbRegister>)> BuildFeatures()
    {
        var core = new List<GdbRegister>();
        string[] general = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];
        for (int i = 0; i < general.Length; i++)
        {
            string type = general[i] is "rbp" or "rsp" ? "data_ptr" : "int64";
            core.Add(new GdbRegister(general[i], 64, type, null, DebugRegister.Rax + i));
        }

        core.Add(new GdbRegister("rip", 64, "code_ptr", null, DebugRegister.Rip));
        core.Add(new GdbRegister("eflags", 32, "i386_eflags", null, DebugRegister.Rflags));
        string[] selectors = ["cs", "ss", "ds", "es", "fs", "gs"];
        for (int i = 0; i < selectors.Length; i++)
        {
            core.Add(new GdbRegister(selectors[i], 32, "int32", null, DebugRegister.Cs + i));
        }

        // No x87 in the CPU yet: report the state FNINIT leaves.
        for (int i = 0; i < 8; i++)
        {
            core.Add(new GdbRegister($"st{i}", 80, "i387_ext", null, null));
        }

        core.Add(new GdbRegister("fctrl", 32, "int", "float", null, FninitControlWord));
        core.Add(new GdbRegister("fstat", 32, "int", "float", null));
        core.Add(new GdbRegister("ftag", 32, "int", "float", null, FninitTagWord));
        foreach (string name in (string[])["fiseg", "fioff", "foseg", "fooff", "fop"])
        {
            core.Add(new GdbRegister(name, 32, "int", "float", null));
        }

        var sse = new List<GdbRegister>();
        for (int i = 0; i < 16; i++)
        {
            sse.Add(new GdbRegister($"xmm{i}", 128, "vec128", null, null));
        }

        sse.Add(new GdbRegister("mxcsr", 32, "i386_mxcsr", "vector", null, ResetMxcsr));

        List<GdbRegister> segments =
        [
            new("fs_base", 64, "int", null, DebugRegister.FsBase),
            new("gs_base", 64, "int", null, DebugRegister.GsBase),
        ];

        // GDB's built-in "system" register group, so "info registers system" lists them.
        List<GdbRegister> system =
        [
            new("k_gs_base", 64, "int", "system", DebugRegister.KernelGsBase),
            new("cr0", 64, "x64_cr0", "system", DebugRegister.Cr0),
            new("cr2", 64, "int", "system", DebugRegister.Cr2),
            new("cr3", 64, "int", "system", DebugRegister.Cr3),
            new("cr4", 64, "x64_cr4", "system", DebugRegister.Cr4),
            new("cr8", 64, "int", "system", DebugRegister.Cr8),
            new("efer", 64, "x64_efer", "system", DebugRegister.Efer),
        ];

        return [(CoreFeature, core), (SseFeature, sse), (SegmentsFeature, segments), (SystemFeature, system)];
    }

    private static int[] BuildOffsets()
    {
        var offsets = new int[Registers.Count];
        int offset = 0;
        for (int i = 0; i < offsets.Length; i++)
        {
            offsets[i] = offset;
            offset += Registers[i].Size;
        }

        return offsets;
    }
}
