using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Emulator.Cpu.State;

/// <summary>
/// One x87 data register as it is stored in memory by FXSAVE: a 64-bit significand with an
/// explicit integer bit, then sign (bit 15) and a 15-bit biased exponent (SDM Vol. 1 4.2.2,
/// figure 4-3). Padded to 16 bytes, as in the FXSAVE image. The MMX registers are the
/// significands of these registers (SDM Vol. 1 9.2.2).
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 16)]
public struct X87Register
{
    public ulong Significand;
    public ushort SignExponent;
}

/// <summary>The eight physical x87 data registers R0..R7 (not stack-relative: ST(i) is R((TOP + i) mod 8)).</summary>
[InlineArray(8)]
public struct X87RegisterFile
{
    private X87Register _element0;
}

/// <summary>
/// The x87 FPU environment and data registers (SDM Vol. 1 8.1). <see cref="Ftw"/> is the full
/// 16-bit tag word (two bits per physical register: 00 valid, 01 zero, 10 special, 11 empty);
/// FXSAVE stores the abridged form. <see cref="Fip"/>/<see cref="Fdp"/> hold the last
/// instruction and data pointers (offsets in 64-bit mode; with <see cref="Fcs"/>/<see cref="Fds"/> otherwise).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct X87State
{
    public X87RegisterFile Registers;
    public ulong Fip;
    public ulong Fdp;
    public ushort Fcw;
    public ushort Fsw;
    public ushort Ftw;
    public ushort Fop;
    public ushort Fcs;
    public ushort Fds;

    /// <summary>The state after RESET (SDM Vol. 3A 9.1.1, table 9-1): FCW 0040H, FSW 0, FTW 5555H.</summary>
    public void Reset()
    {
        this = default;
        Fcw = 0x0040;
        Ftw = 0x5555;
    }

    /// <summary>The state FNINIT/FINIT leave (SDM Vol. 1 8.1.7, table 8-1 "FINIT"): FCW 037FH, FSW 0, all registers empty.</summary>
    public void Initialize()
    {
        Fcw = 0x037F;
        Fsw = 0;
        Ftw = 0xFFFF;
        Fop = 0;
        Fip = 0;
        Fdp = 0;
        Fcs = 0;
        Fds = 0;
    }
}
