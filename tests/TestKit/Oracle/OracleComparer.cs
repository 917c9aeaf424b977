using System.Text;

namespace Emulator.TestKit.Oracle;

/// <summary>
/// Compares the host's end state with ours: everything the SDM defines. Masked, with the reason:
/// status flags the case leaves undefined (Iced's per-instruction information, tracked through
/// the sequence); x87 C0, C2 and C3 where the last x87 instruction leaves them undefined (SDM
/// Vol. 1 8.1.3.1 and each instruction's "FPU Flags Affected"); C1 where the SDM leaves it
/// undefined too (FFREE, FCLEX, FNOP, FLDCW, ...) or where vendors differ (after FCOMI on an AMD
/// host; see OracleGenerator.C1Masked); the x87 last-instruction and
/// last-operand pointers and opcode in the FXSAVE image (FOP, FIP, FDP: SDM Vol. 1 8.1.8-8.1.10;
/// AMD saves them only while an exception is pending, APM Vol. 5 FXSAVE); MXCSR_MASK (a host
/// property); RFLAGS bits other than the status flags and DF (IF, RF and the reserved bits
/// reflect the CPL and the fault path); after an exception, the bytes the guest's exception
/// frame overwrote below RSP (the host's signal frame is on its own stack).
/// </summary>
public static class OracleComparer
{
    public const ulong ComparedFlags = 0xCD5; // CF PF AF ZF SF DF OF

    /// <summary>The differences, one clause each; empty when the states agree.</summary>
    public static string Compare(OracleCase c, OracleState host, OracleState ours, bool ymm)
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

        var (undefinedFlags, x87Undefined, c1Undefined) = c.UndefinedAt(faulted ? host.Rip : null);
        ulong flags = ComparedFlags & ~undefinedFlags;
        if ((host.Rflags & flags) != (ours.Rflags & flags))
        {
            report.Append($" rflags (mask {flags:x}) host {host.Rflags & flags:x} ours {ours.Rflags & flags:x};");
        }

        if (host.Fcw != ours.Fcw)
        {
            report.Append($" fcw host {host.Fcw:x4} ours {ours.Fcw:x4};");
        }

        bool premInvalid = c.X87ConditionFromPrem && (host.Fsw & 1) != 0;
        ushort fswMask = (ushort)((x87Undefined || premInvalid ? ~0x4500 : 0xFFFF) & (c1Undefined ? ~0x0200 : 0xFFFF));
        if ((host.Fsw & fswMask) != (ours.Fsw & fswMask))
        {
            report.Append($" fsw (mask {fswMask:x4}) host {host.Fsw:x4} ours {ours.Fsw:x4};");
        }

        if (host.Fx[OracleState.FxFtw] != ours.Fx[OracleState.FxFtw])
        {
            report.Append($" ftw host {host.Fx[OracleState.FxFtw]:x2} ours {ours.Fx[OracleState.FxFtw]:x2};");
        }

        if (host.Mxcsr != ours.Mxcsr)
        {
            report.Append($" mxcsr host {host.Mxcsr:x} ours {ours.Mxcsr:x};");
        }

        for (int k = 0; k < 8; k++)
        {
            if (!host.St(k).SequenceEqual(ours.St(k)))
            {
                report.Append($" st{k} host {Hex(host.St(k))} ours {Hex(ours.St(k))};");
            }
        }

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
