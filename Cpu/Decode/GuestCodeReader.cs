using Emulator.Mmu.Paging;
using Iced.Intel;

namespace Emulator.Cpu.Decode;

/// <summary>
/// Feeds Iced's decoder with guest code bytes, translating each code page for execute access as
/// the decoder reaches it. A page that cannot be fetched ends the stream (Iced reports NoMoreBytes)
/// and is remembered, so the block builder can raise the fault for the first instruction only.
/// </summary>
internal sealed unsafe class GuestCodeReader : CodeReader
{
    private readonly X86Cpu _cpu;
    private ulong _linear;
    private ulong _pageLinear = 1; // never page-aligned: forces a translation on the first byte
    private byte* _page;

    public GuestCodeReader(X86Cpu cpu, ulong linear)
    {
        _cpu = cpu;
        _linear = linear;
    }

    public List<ulong> PhysicalPages { get; } = [];

    /// <summary>The linear page of each of <see cref="PhysicalPages"/>, in the same order.</summary>
    public List<ulong> LinearPages { get; } = [];

    /// <summary>True when the stream ended because a page could not be fetched (a fault is pending in the CPU).</summary>
    public bool FetchFaulted { get; private set; }

    /// <summary>True when the stream ended at memory that is not RAM or ROM.</summary>
    public bool NotMemory { get; private set; }

    public override int ReadByte()
    {
        if (FetchFaulted || NotMemory)
        {
            return -1;
        }

        ulong page = _linear & ~0xFFFUL;
        if (page != _pageLinear)
        {
            if (!_cpu.Translate(_linear, AccessKind.Execute, out ulong physical))
            {
                FetchFaulted = true;
                return -1;
            }

            _page = _cpu.Memory.HostPage(physical & ~0xFFFUL, forWrite: false);
            if (_page == null)
            {
                NotMemory = true;
                return -1;
            }

            _pageLinear = page;
            PhysicalPages.Add(physical & ~0xFFFUL);
            LinearPages.Add(page);
        }

        // SAFETY: _page is a 4 KiB host page and the offset is below 4096.
        int value = _page[_linear & 0xFFF];
        _linear++;
        return value;
    }
}
