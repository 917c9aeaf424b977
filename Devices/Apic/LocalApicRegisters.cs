namespace Emulator.Devices.Apic;

/// <summary>
/// Local APIC register offsets in the xAPIC MMIO page (SDM Vol. 3A table 10-1); in x2APIC mode register
/// at offset X is MSR 0x800 + X / 16 (SDM Vol. 3A table 10-6). Bits of the LVT, SVR and ICR follow.
/// </summary>
public static class LocalApicRegisters
{
    public const int Id = 0x020, Ver = 0x030, Tpr = 0x080, Apr = 0x090, Ppr = 0x0A0, Eoi = 0x0B0, Rrd = 0x0C0;
    public const int Ldr = 0x0D0, Dfr = 0x0E0, Svr = 0x0F0, Isr = 0x100, Tmr = 0x180, Irr = 0x200, Esr = 0x280;
    public const int LvtCmci = 0x2F0, IcrLow = 0x300, IcrHigh = 0x310, LvtTimer = 0x320, LvtThermal = 0x330, LvtPerf = 0x340;
    public const int LvtLint0 = 0x350, LvtLint1 = 0x360, LvtError = 0x370, TimerInitialCount = 0x380, TimerCurrentCount = 0x390;
    public const int TimerDivide = 0x3E0, SelfIpi = 0x3F0;

    /// <summary>Version register: 0x14 (an integrated APIC), 6 LVT entries - 1 = 5 in bits 23:16 (QEMU's value).</summary>
    public const uint VersionValue = 0x50014;

    // LVT bits (SDM Vol. 3A figure 10-8).
    public const uint LvtVectorMask = 0xFF, LvtDeliveryModeMask = 0x700, LvtDeliveryStatus = 1u << 12;
    public const uint LvtPolarity = 1u << 13, LvtRemoteIrr = 1u << 14, LvtLevel = 1u << 15, LvtMasked = 1u << 16;
    public const uint LvtTimerModeMask = 3u << 17, TimerOneShot = 0, TimerPeriodic = 1u << 17, TimerTscDeadline = 2u << 17;

    // Delivery modes (bits 10:8).
    public const uint DeliveryFixed = 0, DeliveryLowest = 1, DeliverySmi = 2, DeliveryNmi = 4, DeliveryInit = 5, DeliveryStartup = 6, DeliveryExtInt = 7;

    // SVR: APIC software enable (bit 8), focus checking disabled (bit 9), spurious vector (7:0).
    public const uint SvrEnable = 1u << 8, SvrFocusDisable = 1u << 9;

    // ICR: destination mode (bit 11, 1 = logical), level (14), trigger (15), shorthand (19:18).
    public const uint IcrLogical = 1u << 11, IcrShorthandMask = 3u << 18;
    public const uint ShorthandNone = 0, ShorthandSelf = 1u << 18, ShorthandAll = 2u << 18, ShorthandOthers = 3u << 18;

    // ESR bits (SDM Vol. 3A figure 10-9).
    public const uint EsrSendIllegalVector = 1u << 5, EsrReceiveIllegalVector = 1u << 6, EsrIllegalRegister = 1u << 7;
}
