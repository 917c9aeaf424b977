using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Emulator.Cpu.State;

/// <summary>
/// One 256-bit YMM register as four little-endian quadwords; the low two are the XMM register
/// (SDM Vol. 1 14.1). Legacy SSE instructions leave bits 255:128 alone, VEX-encoded 128-bit ones
/// zero them (SDM Vol. 1 14.1.2).
/// </summary>
[InlineArray(4)]
public struct YmmRegister
{
    private ulong _element0;
}

/// <summary>The sixteen YMM registers, in encoding order.</summary>
[InlineArray(16)]
public struct YmmRegisterFile
{
    private YmmRegister _element0;
}

/// <summary>The SSE/AVX register state: YMM0-15, MXCSR and XCR0 (SDM Vol. 1 10.2.3, 13.3).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VectorState
{
    public YmmRegisterFile Ymm;

    /// <summary>MXCSR: 1F80H after RESET (all exceptions masked, round to nearest).</summary>
    public uint Mxcsr;

    private readonly uint _padding;

    /// <summary>XCR0, written by XSETBV: bit 0 (x87) is always set (SDM Vol. 1 13.3).</summary>
    public ulong Xcr0;

    public const uint MxcsrResetValue = 0x1F80;

    public void Reset()
    {
        this = default;
        Mxcsr = MxcsrResetValue;
        Xcr0 = 1;
    }
}
