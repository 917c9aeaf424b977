using System.Buffers.Binary;
using System.Text;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Fpu;

/// <summary>
/// The x87 differential harness: each case runs one wrapped body (<see cref="HostX87.Wrap"/>)
/// natively and on an engine in long mode, from the same FSAVE image, RFLAGS, RAX and 64-byte
/// data area, and compares the resulting FSAVE images, data areas, RAX and the status flags.
/// Masked: the FIP/FCS/FOP/FDP/FDS fields (bytes 12-27). The host is an AMD EPYC, whose FOP and
/// pointers are kept only when an exception is pending (AMD APM Vol. 2 11.4.4); our model always
/// records them as Intel does (SDM Vol. 1 8.1.8-8.1.9), so the two cannot be compared.
/// </summary>
public sealed class X87Oracle : IDisposable
{
    private const ulong Block = TestMachine.DataAddress;
    private readonly TestMachine _machine = new();
    private readonly Engine _engine;
    private readonly List<string> _failures = [];

    public X87Oracle(Engine engine)
    {
        _engine = engine;
    }

    public int Cases { get; private set; }

    public IReadOnlyList<string> Failures => _failures;

    /// <summary>Builds an FSAVE image (32-bit format): FCW, FSW with TOP, the registers ST(0).. given (the rest empty).</summary>
    public static byte[] State(ushort fcw, int top, IReadOnlyList<(ulong Significand, ushort SignExponent)> stack, ushort fswFlags = 0)
    {
        var image = new byte[HostX87.StateSize];
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(0), fcw);
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(4), (ushort)(fswFlags | ((top & 7) << 11)));
        int ftw = 0xFFFF;
        for (int st = 0; st < stack.Count; st++)
        {
            int physical = (top + st) & 7;
            ftw &= ~(3 << (2 * physical));
            BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(28 + (10 * st)), stack[st].Significand);
            BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(36 + (10 * st)), stack[st].SignExponent);
        }

        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(8), (ushort)ftw);
        return image;
    }

    /// <summary>Runs one case on the host and on the engine and records any difference.</summary>
    public void Check(string name, Action<Assembler> body, byte[] state, byte[]? data = null, ulong flags = 0x202, ulong rax = 0, bool withinOneUlp = false, ushort fswMask = 0xFFFF)
    {
        Cases++;
        var host = new byte[HostX87.BlockSize];
        state.CopyTo(host, HostX87.StateIn);
        data?.CopyTo(host, HostX87.Data);
        BinaryPrimitives.WriteUInt64LittleEndian(host.AsSpan(HostX87.FlagsSlot), flags);
        BinaryPrimitives.WriteUInt64LittleEndian(host.AsSpan(HostX87.RaxSlot), rax);
        byte[] guest = (byte[])host.Clone();

        HostX87.Execute(body, host);

        _machine.LongMode();
        _machine.Memory.WriteBytes(Block, guest);
        _machine.Load(asm =>
        {
            var wrapper = asm.CreateLabel();
            asm.mov(rdi, Block);
            asm.call(wrapper);
            asm.hlt();
            asm.Label(ref wrapper);
            HostX87.Wrap(asm, body);
        });
        _machine.Log.Clear();
        StopReason reason = _machine.Run(_engine, 10_000);
        if (reason != StopReason.Halted || _machine.Log.Count > 0)
        {
            _failures.Add($"{name}: stopped by {reason} at {_machine.S.Rip:x}; {string.Join(" | ", _machine.Log)}");
            return;
        }

        _machine.Memory.ReadBytes(Block, guest);
        string? diff = Compare(host, guest, withinOneUlp, fswMask);
        if (diff is not null)
        {
            _failures.Add($"{name}: in {Describe(state)} data {Convert.ToHexString(data ?? [])}: {diff}");
        }
    }

    /// <summary>
    /// The 80-bit value's position on the number line among values of its sign: adjacent finite
    /// values (across binades too) differ by one.
    /// </summary>
    private static System.Numerics.BigInteger Ordinal(ReadOnlySpan<byte> register)
    {
        ulong significand = BinaryPrimitives.ReadUInt64LittleEndian(register);
        int exponent = BinaryPrimitives.ReadUInt16LittleEndian(register[8..]) & 0x7FFF;
        return ((System.Numerics.BigInteger)exponent << 63) + (significand & 0x7FFF_FFFF_FFFF_FFFF) + (exponent == 0 && (significand >> 63) != 0 ? 1UL << 63 : 0);
    }

    private static bool WithinOneUlp(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        return (a[9] & 0x80) == (b[9] & 0x80) && System.Numerics.BigInteger.Abs(Ordinal(a) - Ordinal(b)) <= 1;
    }

    private static string? Compare(byte[] host, byte[] guest, bool withinOneUlp, ushort fswMask)
    {
        var sb = new StringBuilder();
        ReadOnlySpan<byte> h = host.AsSpan(HostX87.StateOut, HostX87.StateSize), g = guest.AsSpan(HostX87.StateOut, HostX87.StateSize);
        ushort Word(ReadOnlySpan<byte> s, int at) => BinaryPrimitives.ReadUInt16LittleEndian(s[at..]);
        foreach (var (name, at) in new[] { ("FCW", 0), ("FSW", 4), ("FTW", 8) })
        {
            if (((Word(h, at) ^ Word(g, at)) & (at == 4 ? fswMask : 0xFFFF)) != 0)
            {
                sb.Append($"{name} host {Word(h, at):x4} ours {Word(g, at):x4}; ");
            }
        }

        for (int st = 0; st < 8; st++)
        {
            int at = 28 + (10 * st);
            if (!h.Slice(at, 10).SequenceEqual(g.Slice(at, 10)) && !(withinOneUlp && WithinOneUlp(h.Slice(at, 10), g.Slice(at, 10))))
            {
                sb.Append($"ST{st} host {Word(h, at + 8):x4}:{BinaryPrimitives.ReadUInt64LittleEndian(h[at..]):x16} ours {Word(g, at + 8):x4}:{BinaryPrimitives.ReadUInt64LittleEndian(g[at..]):x16}; ");
            }
        }

        if (!host.AsSpan(HostX87.Data, HostX87.DataSize).SequenceEqual(guest.AsSpan(HostX87.Data, HostX87.DataSize)))
        {
            sb.Append($"data host {Convert.ToHexString(host, HostX87.Data, 16)} ours {Convert.ToHexString(guest, HostX87.Data, 16)}; ");
        }

        ulong hf = BinaryPrimitives.ReadUInt64LittleEndian(host.AsSpan(HostX87.FlagsSlot)), gf = BinaryPrimitives.ReadUInt64LittleEndian(guest.AsSpan(HostX87.FlagsSlot));
        if ((hf & 0x8D5) != (gf & 0x8D5))
        {
            sb.Append($"flags host {hf:x} ours {gf:x}; ");
        }

        ulong ha = BinaryPrimitives.ReadUInt64LittleEndian(host.AsSpan(HostX87.RaxSlot)), ga = BinaryPrimitives.ReadUInt64LittleEndian(guest.AsSpan(HostX87.RaxSlot));
        if (ha != ga)
        {
            sb.Append($"rax host {ha:x} ours {ga:x}; ");
        }

        return sb.Length == 0 ? null : sb.ToString();
    }

    private static string Describe(byte[] state)
    {
        var sb = new StringBuilder();
        sb.Append($"FCW {BinaryPrimitives.ReadUInt16LittleEndian(state):x4} FSW {BinaryPrimitives.ReadUInt16LittleEndian(state.AsSpan(4)):x4} FTW {BinaryPrimitives.ReadUInt16LittleEndian(state.AsSpan(8)):x4}");
        for (int st = 0; st < 3; st++)
        {
            sb.Append($" ST{st} {BinaryPrimitives.ReadUInt16LittleEndian(state.AsSpan(36 + (10 * st))):x4}:{BinaryPrimitives.ReadUInt64LittleEndian(state.AsSpan(28 + (10 * st))):x16}");
        }

        return sb.ToString();
    }

    public void AssertAllMatched(int maxShown = 25)
    {
        if (Environment.GetEnvironmentVariable("X87_FAILURES") is { Length: > 0 } dump)
        {
            File.AppendAllLines(dump, _failures);
        }

        Assert.True(_failures.Count == 0, $"{_failures.Count} of {Cases} cases differ from the host:\n{string.Join("\n", _failures.Take(maxShown))}");
    }

    public void Dispose() => _machine.Dispose();
}
