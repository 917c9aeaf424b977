using System.IO.Compression;
using System.Text.Json;
using Emulator.Cpu.State;
using Emulator.TestKit;
using Xunit;

namespace Emulator.Cpu.Tests.Vectors;

/// <summary>
/// Hardware-recorded single-step vectors from an 80C286 in real mode (SingleStepTests/80286; see
/// /work/shared/vectors/80286-real/README.md). Each case loads its registers and RAM into a
/// real-mode machine, executes the one instruction under test and then the planted HLT, and
/// compares registers, memory and FLAGS under the metadata's undefined-flags mask. One theory row
/// per opcode file. Opcodes listed in known-failures.txt are expected to fail; a listed opcode
/// that passes completely fails the test so the list shrinks.
/// </summary>
public class Vector286Tests
{
    public const string DirectoryVariable = "EMU_VECTORS_286";

    /// <summary>Prefix bytes of the 286: segment overrides, LOCK, REPNE, REP.</summary>
    private static readonly HashSet<byte> s_prefixes = [0x26, 0x2E, 0x36, 0x3E, 0xF0, 0xF2, 0xF3];

    private static readonly string[] s_registers = ["ax", "bx", "cx", "dx", "cs", "ss", "ds", "es", "sp", "bp", "si", "di", "ip", "flags"];

    private static readonly Lazy<string> s_directory = new(() => FindDirectory() ?? throw new DirectoryNotFoundException($"80286 vectors not found: set {DirectoryVariable}"));
    private static readonly Lazy<JsonElement> s_metadata = new(() => JsonDocument.Parse(File.ReadAllText(Path.Combine(s_directory.Value, "metadata.json"))).RootElement.GetProperty("opcodes"));
    private static readonly Lazy<Dictionary<string, string>> s_knownFailures = new(LoadKnownFailures);

    public static TheoryData<Engine, string> Files
    {
        get
        {
            var data = new TheoryData<Engine, string>();
            foreach (var engine in Enum.GetValues<Engine>())
            {
                foreach (string path in Directory.GetFiles(s_directory.Value, "*.jsonl.gz").Order(StringComparer.Ordinal))
                {
                    string name = Path.GetFileName(path)[..^".jsonl.gz".Length];
                    // README: D8 is an FPU escape run without a coprocessor; only decode length was observable.
                    if (name != "D8")
                    {
                        data.Add(engine, name);
                    }
                }
            }

            return data;
        }
    }

    [RequiresVectorsTheory]
    [MemberData(nameof(Files))]
    public void OpcodeMatchesHardware(Engine engine, string opcode)
    {
        using var m = new TestMachine();
        var failures = new List<string>();
        int ran = 0;
        using var file = new GZipStream(File.OpenRead(Path.Combine(s_directory.Value, opcode + ".jsonl.gz")), CompressionMode.Decompress);
        using var reader = new StreamReader(file);
        while (reader.ReadLine() is { } line)
        {
            using var json = JsonDocument.Parse(line);
            var test = json.RootElement;
            byte[] bytes = [.. test.GetProperty("bytes").EnumerateArray().Select(b => (byte)b.GetInt32())];
            if (Skip(opcode, bytes, out int modrmReg))
            {
                continue;
            }

            if (OverrunInStringInstruction(bytes, test))
            {
                continue;
            }

            ran++;
            string? failure = RunOne(m, engine, test, FlagsMask(opcode, modrmReg));
            if (failure is not null)
            {
                failures.Add($"{test.GetProperty("name").GetString()} [{string.Join(' ', bytes.Select(b => b.ToString("X2")))}]: {failure}");
            }
        }

        Assert.True(ran > 0, $"no applicable cases in {opcode}");
        if (s_knownFailures.Value.TryGetValue(opcode, out string? reason))
        {
            Assert.True(failures.Count > 0, $"{opcode} is listed in known-failures.txt ({reason}) but all {ran} cases pass now: remove it from the list");
            return;
        }

        Assert.True(failures.Count == 0, $"{opcode}: {failures.Count} of {ran} cases fail:\n{string.Join("\n", failures.Take(15))}");
    }

    /// <summary>The README's "skip on a 386+" rules. Returns the ModRM reg field (or -1) for the flag mask lookup.</summary>
    private static bool Skip(string opcode, byte[] bytes, out int modrmReg)
    {
        modrmReg = -1;
        int at = 0;
        bool locked = false;
        while (at < bytes.Length && s_prefixes.Contains(bytes[at]))
        {
            locked |= bytes[at] == 0xF0;
            at++;
        }

        if (at + 1 < bytes.Length)
        {
            modrmReg = (bytes[at + 1] >> 3) & 7;
        }

        // LOCK: a 386+ raises #UD for most of these. Length: the 286 limit is 10 bytes, the 386's 15.
        if (locked || bytes.Length - 1 > 10)
        {
            return true;
        }

        return opcode switch
        {
            // Invalid ModRM reg values fault on the 286 but mean other things later.
            "8F" or "C6" or "C7" => modrmReg != 0,
            // MOV to or from segment registers 4 and 5: FS and GS on a 386+.
            "8C" or "8E" => modrmReg is 4 or 5,
            _ => false,
        };
    }

    /// <summary>
    /// A string instruction that hits the segment end at offset FFFF: the 286 has already stepped
    /// SI or DI when it raises exception 13, while a 386+ faults before changing anything (the
    /// instruction must be restartable, SDM Vol. 3A 6.5 "faults"). A 286-only behaviour, skipped.
    /// </summary>
    private static bool OverrunInStringInstruction(byte[] bytes, JsonElement test)
    {
        if (!test.TryGetProperty("exception", out var exception) || exception.GetProperty("number").GetInt32() != 13)
        {
            return false;
        }

        byte op = bytes.SkipWhile(s_prefixes.Contains).First();
        return op is >= 0xA4 and <= 0xA7 or >= 0xAA and <= 0xAF or >= 0x6C and <= 0x6F;
    }

    private static int FlagsMask(string opcode, int modrmReg)
    {
        var metadata = s_metadata.Value;
        string key = opcode.Length > 2 ? opcode[..2] : opcode;
        var entry = metadata.GetProperty(key);
        if (opcode.Length > 2)
        {
            entry = entry.GetProperty("reg").GetProperty(opcode[3..]);
        }
        else if (entry.TryGetProperty("reg", out var byReg))
        {
            entry = byReg.GetProperty(modrmReg.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        int mask = entry.TryGetProperty("flags-mask", out var value) ? value.GetInt32() : 0xFFFF;
        // README: bits 12-15 differ between a 286 and a 386+ in real mode.
        return mask & 0x0FFF;
    }

    private static string? RunOne(TestMachine m, Engine engine, JsonElement test, int flagsMask)
    {
        var initial = test.GetProperty("initial");
        var final = test.GetProperty("final");
        var regs = initial.GetProperty("regs");
        int Reg(string name) => regs.GetProperty(name).GetInt32();

        m.RealMode();
        m.Log.Clear();
        ref CpuState s = ref m.S;
        s.Gpr[CpuState.RAX] = (ulong)Reg("ax");
        s.Gpr[CpuState.RBX] = (ulong)Reg("bx");
        s.Gpr[CpuState.RCX] = (ulong)Reg("cx");
        s.Gpr[CpuState.RDX] = (ulong)Reg("dx");
        s.Gpr[CpuState.RSP] = (ulong)Reg("sp");
        s.Gpr[CpuState.RBP] = (ulong)Reg("bp");
        s.Gpr[CpuState.RSI] = (ulong)Reg("si");
        s.Gpr[CpuState.RDI] = (ulong)Reg("di");
        s.Cs = SegmentRegister.RealMode((ushort)Reg("cs"), code: true);
        s.Ss = SegmentRegister.RealMode((ushort)Reg("ss"));
        s.Ds = SegmentRegister.RealMode((ushort)Reg("ds"));
        s.Es = SegmentRegister.RealMode((ushort)Reg("es"));
        s.Rip = (ulong)Reg("ip");
        s.Rflags = ((ulong)Reg("flags") & 0x0FFF) | Flags.Reserved1;

        var expectedRam = new Dictionary<ulong, byte>();
        foreach (var pair in initial.GetProperty("ram").EnumerateArray())
        {
            var address = (ulong)pair[0].GetInt64();
            var value = (byte)pair[1].GetInt32();
            m.Memory.Write(address, 1, value);
            expectedRam[address] = value;
        }

        foreach (var pair in final.GetProperty("ram").EnumerateArray())
        {
            expectedRam[(ulong)pair[0].GetInt64()] = (byte)pair[1].GetInt32();
        }

        long flagAddress = -1;
        if (test.TryGetProperty("exception", out var exception))
        {
            // The pushed FLAGS sit at SS:SP+4 after delivery. The record's flag_address is the
            // even bus-word address, one below the real one when SP is odd, so it is not used.
            var finalRegisters = final.GetProperty("regs");
            int ss = finalRegisters.TryGetProperty("ss", out var newSs) ? newSs.GetInt32() : Reg("ss");
            int sp = finalRegisters.TryGetProperty("sp", out var newSp) ? newSp.GetInt32() : Reg("sp");
            flagAddress = (ss << 4) + ((sp + 4) & 0xFFFF);
            if (exception.GetProperty("number").GetInt32() == 13)
            {
                // README: a 386+ raises #SS (12) where the 286 raised 13 for SS-relative segment
                // overruns; both vectors lead to the recorded handler.
                m.Memory.Write(12 * 4, 4, m.Memory.Read(13 * 4, 4));
            }
        }

        m.Run(engine, 1);
        if (m.S.Halted == 0)
        {
            // The instruction under test ran (a fault's delivery also runs the handler's HLT); now the planted HLT.
            if (m.Memory.Read((m.S.Cs.Base + m.S.Rip) & 0xFFFFFF, 1) != 0xF4)
            {
                return $"did not reach the planted HLT: CS:IP {m.S.Cs.Selector:x4}:{m.S.Rip:x4}; log: {string.Join(" | ", m.Log)}";
            }

            m.Run(engine, 1);
        }

        var report = new List<string>();
        var finalRegs = final.GetProperty("regs");
        s = ref m.S;
        foreach (string name in s_registers)
        {
            int expected = finalRegs.TryGetProperty(name, out var v) ? v.GetInt32() : Reg(name);
            ulong actual = name switch
            {
                "ax" => s.Gpr[CpuState.RAX],
                "bx" => s.Gpr[CpuState.RBX],
                "cx" => s.Gpr[CpuState.RCX],
                "dx" => s.Gpr[CpuState.RDX],
                "sp" => s.Gpr[CpuState.RSP],
                "bp" => s.Gpr[CpuState.RBP],
                "si" => s.Gpr[CpuState.RSI],
                "di" => s.Gpr[CpuState.RDI],
                "cs" => s.Cs.Selector,
                "ss" => s.Ss.Selector,
                "ds" => s.Ds.Selector,
                "es" => s.Es.Selector,
                "ip" => s.Rip,
                _ => s.Rflags,
            };
            int mask = name == "flags" ? flagsMask : 0xFFFF;
            if (((int)actual & mask) != (expected & mask) || (name != "flags" && actual > 0xFFFF))
            {
                report.Add($"{name} expected {expected & mask:x4} got {actual & (ulong)mask:x4}");
            }
        }

        foreach (var (address, value) in expectedRam)
        {
            int mask = 0xFF;
            if (flagAddress >= 0 && (long)address == flagAddress)
            {
                mask = flagsMask & 0xFF;
            }
            else if (flagAddress >= 0 && (long)address == flagAddress + 1)
            {
                mask = flagsMask >> 8;
            }

            var actual = (byte)m.Memory.Read(address, 1);
            if ((actual & mask) != (value & mask))
            {
                report.Add($"[{address:x6}] expected {value:x2} got {actual:x2}");
            }
        }

        return report.Count == 0 ? null : string.Join(", ", report);
    }

    /// <summary>The vectors folder: $EMU_VECTORS_286, or shared/vectors/80286-real beside or above the repository; null when absent.</summary>
    public static string? FindDirectory()
    {
        if (Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } configured)
        {
            return configured;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            foreach (string candidate in new[] { Path.Combine(dir.FullName, "shared", "vectors", "80286-real"), Path.Combine(dir.FullName, "vectors", "80286-real") })
            {
                if (File.Exists(Path.Combine(candidate, "metadata.json")))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    /// <summary>known-failures.txt: one opcode file name per line, then its reason; '#' starts a comment.</summary>
    private static Dictionary<string, string> LoadKnownFailures()
    {
        var list = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string raw in File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Vectors", "known-failures.txt")))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            int space = line.IndexOfAny([' ', '\t']);
            list[space < 0 ? line : line[..space]] = space < 0 ? "" : line[space..].Trim();
        }

        return list;
    }
}
