using System.Buffers.Binary;

namespace Emulator.TestKit.Oracle;

/// <summary>
/// Everything a case starts from and ends with, in the binary form the host runner and the guest
/// wrapper exchange (<see cref="OracleLayout"/>): the 16 general registers (encoding order RAX,
/// RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8-R15), RIP (where a fault stopped), RFLAGS, the exception
/// vector, an FXSAVE image (x87 control, status and tag words, ST0-ST7, MXCSR, XMM0-15), bits
/// 255:128 of YMM0-15, and the 1 KiB data region at <see cref="OracleLayout.Data"/>.
/// </summary>
public sealed class OracleState
{
    public byte[] Block { get; } = new byte[OracleLayout.BlockSize];

    public byte[] Data { get; } = new byte[OracleLayout.DataSize];

    public static readonly string[] GprNames = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];

    /// <summary>FXSAVE image offsets (SDM Vol. 2A FXSAVE, table 3-53).</summary>
    public const int FxFcw = 0, FxFsw = 2, FxFtw = 4, FxFop = 6, FxFip = 8, FxFdp = 16, FxMxcsr = 24, FxMxcsrMask = 28, FxSt = 32, FxXmm = 160;

    public OracleState Clone()
    {
        var copy = new OracleState();
        Block.CopyTo(copy.Block, 0);
        Data.CopyTo(copy.Data, 0);
        return copy;
    }

    public ulong Gpr(int index) => U64(8 * index);

    public void SetGpr(int index, ulong value) => SetU64(8 * index, value);

    public ulong Rip
    {
        get => U64(OracleLayout.OffRip);
        set => SetU64(OracleLayout.OffRip, value);
    }

    public ulong Rflags
    {
        get => U64(OracleLayout.OffRflags);
        set => SetU64(OracleLayout.OffRflags, value);
    }

    public ulong Vector
    {
        get => U64(OracleLayout.OffVector);
        set => SetU64(OracleLayout.OffVector, value);
    }

    public int CodeLength
    {
        get => (int)BinaryPrimitives.ReadUInt32LittleEndian(Block.AsSpan(OracleLayout.OffCodeLength));
        set => BinaryPrimitives.WriteUInt32LittleEndian(Block.AsSpan(OracleLayout.OffCodeLength), (uint)value);
    }

    /// <summary>The 512-byte FXSAVE image.</summary>
    public Span<byte> Fx => Block.AsSpan(OracleLayout.OffFx, 512);

    /// <summary>Bits 255:128 of YMM0-15, 16 bytes each.</summary>
    public Span<byte> Upper => Block.AsSpan(OracleLayout.OffUpper, 256);

    public ushort Fcw
    {
        get => BinaryPrimitives.ReadUInt16LittleEndian(Fx[FxFcw..]);
        set => BinaryPrimitives.WriteUInt16LittleEndian(Fx[FxFcw..], value);
    }

    public ushort Fsw
    {
        get => BinaryPrimitives.ReadUInt16LittleEndian(Fx[FxFsw..]);
        set => BinaryPrimitives.WriteUInt16LittleEndian(Fx[FxFsw..], value);
    }

    public uint Mxcsr
    {
        get => BinaryPrimitives.ReadUInt32LittleEndian(Fx[FxMxcsr..]);
        set => BinaryPrimitives.WriteUInt32LittleEndian(Fx[FxMxcsr..], value);
    }

    /// <summary>ST(i) (FXSAVE keeps the stack order), 10 bytes: significand then sign and exponent.</summary>
    public Span<byte> St(int i) => Fx.Slice(FxSt + (16 * i), 10);

    public Span<byte> Xmm(int i) => Fx.Slice(FxXmm + (16 * i), 16);

    private ulong U64(int offset) => BinaryPrimitives.ReadUInt64LittleEndian(Block.AsSpan(offset));

    private void SetU64(int offset, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(Block.AsSpan(offset), value);
}
