using System.Reflection.Emit;

namespace Emulator.Jit.Emit;

/// <summary>
/// Read sites: in a translation that loops (a one-block loop or a region with a branch back),
/// an inline read remembers the page it read last, as the key of its access
/// (<see cref="EmitRead"/>) and the difference between host and linear address on that page, in
/// two locals of its own. When the next read at the same instruction falls in the same page it
/// loads through the difference at once: a compare and an add instead of the TLB probe's index
/// computation, table load, tag compare and host-page load, so a loop walking an array probes
/// the TLB once per page. A site is filled by a hit of the TLB probe that follows it and lives
/// as long as one run of the method: it starts empty (0, which no access's key equals; the
/// method's locals are zero-initialised, <see cref="BlockMethod"/>), and whatever changes what
/// the TLB maps ends the translation: INVLPG, MOV CR3/CR0/CR4, WRMSR EFER, a task switch, the
/// A20 gate (X86Cpu.OnA20Changed) all call EndBlock, which the code after every handler call
/// checks (ReadSiteTests pins INVLPG inside a loop). Only reads: a write must keep meeting the
/// TLB's write tags, which a page turning into code takes away.
/// </summary>
public sealed partial class BlockEmitter
{
    /// <summary>Read sites per translation at most: each holds two locals live across the whole loop.</summary>
    internal const int MaxReadSites = 4;

    private sealed record ReadSite(LocalBuilder Key, LocalBuilder Delta);

    private int _readSites;
    private LocalBuilder? _siteKey;
    private LocalBuilder? _siteHost;

    private LocalBuilder SiteKey => _siteKey ??= _il.DeclareLocal(typeof(ulong));

    private LocalBuilder SiteHost => _siteHost ??= _il.DeclareLocal(typeof(nint));

    /// <summary>A new site for a read that gets an inline TLB probe in a translation that loops, else null.</summary>
    private ReadSite? NewReadSite(int segment)
    {
        if (_budget is null || _readSites >= MaxReadSites || !WillProbe(segment))
        {
            return null;
        }

        _readSites++;
        return new ReadSite(_il.DeclareLocal(typeof(ulong)), _il.DeclareLocal(typeof(ulong)));
    }
}
