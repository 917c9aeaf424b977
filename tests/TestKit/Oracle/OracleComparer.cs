using System.Text;

namespace Emulator.TestKit.Oracle;

/// <summary>
/// Compares the host's end state with ours: everything the SDM defines. Masked, with the reason:
/// status flags the case leaves undefined (Iced's per-instruction information, tracked through
/// the sequence); x87 C0, C2 and C3 where the last x87 instruction leaves them undefined (SDM
/// Vol. 1 8.1.3.1 and each instruction's "FPU Flags Affected"); the x87 last-instruction and
/// last-operand pointers and opcode in the FXSAVE image (FOP, FIP, FDP: SDM Vol. 1 8.1.8-8.1.10;
/// AMD saves them only while an exception is pending, APM Vol. 5 FXSAVE); MXCSR_MASK (a host
/// property); RFLAGS bits other than the status flags and DF (IF, RF and the reserved bits
/// reflect the CPL and the fault path); MXCSR flags a case leaves out (DPPS/DPPD's DE, see the generator); after an exception, the bytes the guest's exception
/// frame overwrote below RSP (the host's signal frame is on its own stack).
///
/// One tolerance, for the results of the transcendental instructions (FSIN, FCOS, FSINCOS, FPTAN,
/// FPATAN, F2XM1, FYL2X, FYL2XP1): their bits are not architectural. SDM Vol. 1 8.3.10
/// "Transcendental Instruction Accuracy" bounds their error on the Pentium and later at less than
/// 1 ulp of the extended format (FSIN/FCOS/FSINCOS/FPTAN within the documented operand range) and
/// says nothing of how to round; AMD parts round their own way. Two results that are both within
/// 1 ulp of the true value (strictly) differ by at most 1 ulp, and so do ours and the AMD host's:
/// over 200,000 x87trans cases (seed 20261207) 1,035 results differed, every one by exactly 1 ulp
/// (the harness prints this distribution with its summary). So a register that may hold a
/// transcendental result (<see cref="OracleCase.TranscendentalSt"/>)
/// may differ from the host's in its 64-bit significand by at most <see cref="TranscendentalUlps"/>
/// units in the last place, with sign and exponent equal; when one does, C1 (the round-up bit,
/// which then simply reports the other rounding) and PE (one result may be exact where the other
/// is not) are not compared. Every other register, the tags, TOP, C0/C2/C3, the other exception
/// flags, and the tolerated registers' sign, exponent and upper bits stay exact.
/// </summary>
public static class OracleComparer
{
    public const ulong ComparedFlags = 0xCD5; // CF PF AF ZF SF DF OF

    /// <summary>How far a transcendental result's significand may be from the host's (see the class summary).</summary>
    public const ulong TranscendentalUlps = 1;

    private const ushort FswC1 = 0x200, FswPe = 0x20, FswSf = 0x40;

    /// <summary>The differences, one clause each; empty when the states agree.</summary>
    /// <param name="ulps">If given, counts each transcendental result that differs from the host's by its distance in ulps (tolerated or not).</param>
    public static string Compare(OracleCase c, OracleState host, OracleState ours, bool ymm, Dictionary<ulong, int>? ulps = null)
    {
        var report = new StringBuilder();
        if (host.Vector != ours.Vector)
        {
            report.Append($" vector host {Vector(host.Vector)} ours {Vector(ours.Vector)};");
            if (host.Vector == HostRunner.Crashed || ours.Vector == GuestRunner.NoHalt)
            {
                return report.ToString();
            }
        }

        bool faulted = host.Vector != OracleLayout.NoVector;
        if (faulted && host.Rip != ours.Rip)
        {
            report.Append($" rip host {host.Rip:x} ours {ours.Rip:x};");
        }

        for (int k = 0; k < 16; k++)
        {
            if (host.Gpr(k) != ours.Gpr(k))
            {
                report.Append($" {OracleState.GprNames[k]} host {host.Gpr(k):x} ours {ours.Gpr(k):x};");
            }
        }

        var (undefinedFlags, x87Undefined) = c.UndefinedAt(faulted ? host.Rip : null);
        ulong flags = ComparedFlags & ~undefinedFlags;
        if ((host.Rflags & flags) != (ours.Rflags & flags))
        {
            report.Append($" rflags (mask {flags:x}) host {host.Rflags & flags:x} ours {ours.Rflags & flags:x};");
        }

        if (host.Fcw != ours.Fcw)
        {
            report.Append($" fcw host {host.Fcw:x4} ours {ours.Fcw:x4};");
        }

        byte rounded = c.TranscendentalAt(faulted ? host.Rip : null);
        bool tolerated = false;
        var stReport = new StringBuilder();
        for (int k = 0; k < 8; k++)
        {
            if (host.St(k).SequenceEqual(ours.St(k)))
            {
                continue;
            }

            if ((rounded & (1 << k)) != 0 && UlpDistance(host.St(k), ours.St(k)) is { } distance)
            {
                if (ulps is not null)
                {
                    ulps[distance] = ulps.GetValueOrDefault(distance) + 1;
                }

                if (distance <= TranscendentalUlps)
                {
                    tolerated = true;
                    continue;
                }
            }

            stReport.Append($" st{k} host {Hex(host.St(k))} ours {Hex(ours.St(k))};");
        }

        // C1 after a transcendental without a stack fault is the round-up bit of a result whose
        // rounding is the vendor's (SDM Vol. 2A FSIN etc., "FPU Flags Affected": "set if result
        // was rounded up"); the AMD host reports it differently even for equal results.
        bool roundUpBit = (rounded & 1) != 0 && (host.Fsw & FswSf) == 0 && LastIsTranscendental(c, faulted ? host.Rip : null);
        ushort fswMask = (ushort)(~x87Undefined & (tolerated ? ~(FswC1 | FswPe) : 0xFFFF) & (roundUpBit ? ~FswC1 : 0xFFFF));
        if ((host.Fsw & fswMask) != (ours.Fsw & fswMask))
        {
            report.Append($" fsw (mask {fswMask:x4}) host {host.Fsw:x4} ours {ours.Fsw:x4};");
        }

        if (host.Fx[OracleState.FxFtw] != ours.Fx[OracleState.FxFtw])
        {
            report.Append($" ftw host {host.Fx[OracleState.FxFtw]:x2} ours {ours.Fx[OracleState.FxFtw]:x2};");
        }

        uint mxcsrMask = ~0x3Fu | c.MxcsrFlagMask;
        if ((host.Mxcsr & mxcsrMask) != (ours.Mxcsr & mxcsrMask))
        {
            report.Append($" mxcsr (mask {mxcsrMask:x}) host {host.Mxcsr:x} ours {ours.Mxcsr:x};");
        }

        report.Append(stReport);

        for (int k = 0; k < 16; k++)
        {
            if (!host.Xmm(k).SequenceEqual(ours.Xmm(k)))
            {
                report.Append($" xmm{k} host {Hex(host.Xmm(k))} ours {Hex(ours.Xmm(k))};");
            }

            if (ymm && !host.Upper.Slice(16 * k, 16).SequenceEqual(ours.Upper.Slice(16 * k, 16)))
            {
                report.Append($" ymm{k}[255:128] host {Hex(host.Upper.Slice(16 * k, 16))} ours {Hex(ours.Upper.Slice(16 * k, 16))};");
            }
        }

        // The guest's exception frame: SS, RSP, RFLAGS, CS, RIP and the error code, pushed below the 16-byte aligned RSP.
        long frameEnd = faulted ? (long)((ours.Gpr(4) & ~15UL) - OracleLayout.Data) : -1;
        long frameStart = frameEnd - 48;
        int differing = 0;
        int first = -1;
        for (int k = 0; k < OracleLayout.DataSize; k++)
        {
            if (k >= frameStart && k < frameEnd)
            {
                continue;
            }

            if (host.Data[k] != ours.Data[k])
            {
                differing++;
                first = first < 0 ? k : first;
            }
        }

        if (differing > 0)
        {
            int end = Math.Min(first + 16, OracleLayout.DataSize);
            report.Append($" data: {differing} bytes differ, first at +{first:x}: host {Hex(host.Data.AsSpan(first, end - first))} ours {Hex(ours.Data.AsSpan(first, end - first))};");
        }

        return report.ToString();
    }

    /// <summary>Whether the last instruction executed (before <paramref name="faultRip"/>, if it faulted) is a transcendental one.</summary>
    private static bool LastIsTranscendental(OracleCase c, ulong? faultRip)
    {
        int end = c.Instructions.Count;
        if (faultRip is { } rip)
        {
            for (int k = 0; k < c.Addresses.Count; k++)
            {
                if (c.Addresses[k] == rip)
                {
                    end = k;
                }
            }
        }

        return end > 0 && c.Instructions[end - 1].Mnemonic is Iced.Intel.Mnemonic.Fsin or Iced.Intel.Mnemonic.Fcos or Iced.Intel.Mnemonic.Fsincos
            or Iced.Intel.Mnemonic.Fptan or Iced.Intel.Mnemonic.Fpatan or Iced.Intel.Mnemonic.Fyl2x or Iced.Intel.Mnemonic.Fyl2xp1 or Iced.Intel.Mnemonic.F2xm1;
    }

    /// <summary>How many ulps apart two 80-bit values with the same sign and exponent are, or null.</summary>
    public static ulong? UlpDistance(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if (BitConverter.ToUInt16(a[8..]) != BitConverter.ToUInt16(b[8..]))
        {
            return null;
        }

        ulong x = BitConverter.ToUInt64(a), y = BitConverter.ToUInt64(b);
        return x > y ? x - y : y - x;
    }

    private static string Vector(ulong vector) => vector switch
    {
        OracleLayout.NoVector => "none",
        HostRunner.Crashed => "runner-crashed",
        GuestRunner.NoHalt => "did-not-halt",
        255 => "timeout",
        _ => $"#{vector}",
    };

    private static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes).ToLowerInvariant();
}
