namespace Emulator.Cpu;

/// <summary>
/// The machine-check architecture's MSRs (SDM Vol. 3B 15.3; Vol. 4 table 2-2): IA32_MCG_CAP,
/// IA32_MCG_STATUS, IA32_MCG_CTL and <see cref="BankCount"/> banks of IA32_MCi_CTL, _STATUS, _ADDR,
/// _MISC at 400h + 4i. No error is ever logged (a software CPU has no hardware faults to report),
/// but the registers hold what software writes, with hardware's rules: MCG_CAP is read-only, status
/// registers accept only zeros (15.3.2.2: writing 1s is #GP(0)), reserved MCG_STATUS bits are
/// #GP(0). The capabilities are QEMU's: 10 banks, MCG_CTL present, software error recovery.
/// </summary>
public sealed class MachineCheck
{
    public const uint McgCap = 0x179, McgStatus = 0x17A, McgCtl = 0x17B;
    public const uint Mc0Ctl = 0x400;
    public const int BankCount = 10;

    /// <summary>IA32_MCG_CAP bits: count (7:0), MCG_CTL_P (8), MCG_SER_P (24).</summary>
    public const ulong McgCtlP = 1UL << 8, McgSerP = 1UL << 24;

    public const ulong Capabilities = McgSerP | McgCtlP | BankCount;

    /// <summary>IA32_MCG_STATUS: RIPV, EIPV, MCIP (bits 2:0), LMCE_S (3, reserved without LMCE_P); the rest reserved.</summary>
    public const ulong McgStatusWritable = 0x7;

    private readonly ulong[] _banks = new ulong[BankCount * 4];
    private ulong _status;
    private ulong _control;

    public MachineCheck()
    {
        Reset();
    }

    /// <summary>The last MSR index of the banks (MC9_MISC).</summary>
    public const uint LastBankMsr = Mc0Ctl + (4 * BankCount) - 1;

    public static bool Owns(uint index) => index is McgCap or McgStatus or McgCtl or (>= Mc0Ctl and <= LastBankMsr);

    /// <summary>
    /// Power-on values: every bank and MCG_CTL enabled (all ones, as QEMU and a BIOS leave them),
    /// status, address and misc registers clear.
    /// </summary>
    public void Reset()
    {
        Array.Clear(_banks);
        for (int i = 0; i < BankCount; i++)
        {
            _banks[4 * i] = ulong.MaxValue;
        }

        _status = 0;
        _control = ulong.MaxValue;
    }

    public ulong Read(uint index) => index switch
    {
        McgCap => Capabilities,
        McgStatus => _status,
        McgCtl => _control,
        _ => _banks[index - Mc0Ctl],
    };

    /// <summary>False when the write is #GP(0).</summary>
    public bool TryWrite(uint index, ulong value)
    {
        switch (index)
        {
            case McgCap:
                return false; // read-only
            case McgStatus:
                if ((value & ~McgStatusWritable) != 0)
                {
                    return false;
                }

                _status = value;
                return true;
            case McgCtl:
                _control = value;
                return true;
        }

        int offset = (int)(index - Mc0Ctl);
        if ((offset & 3) == 1 && value != 0)
        {
            return false; // IA32_MCi_STATUS: only zeros may be written (SDM 15.3.2.2)
        }

        _banks[offset] = value;
        return true;
    }
}
