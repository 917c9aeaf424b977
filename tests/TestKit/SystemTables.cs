using Emulator.Cpu;
using Emulator.Cpu.State;

namespace Emulator.TestKit;

/// <summary>
/// Descriptors and privilege-level setup for system-architecture tests: segment, gate and TSS
/// descriptors packed as SDM Vol. 3A figures 3-8, 5-8, 5-9 and 8-3/8-4 show them, ring-3
/// segments and a TSS added to the <see cref="TestMachine"/> GDT, and a way to start a test
/// program at CPL 3. The GDT grows to 32 entries; slots from <see cref="FirstFree"/> are free
/// for a test's own descriptors.
/// </summary>
public static class SystemTables
{
    /// <summary>Ring-3 selectors in the layout SYSRET expects from STAR[63:48] = 30h (SDM Vol. 2B, SYSRET).</summary>
    public const ushort UserCode32 = 0x30, UserData = 0x38, UserCode64 = 0x40;

    /// <summary>The TSS descriptor (16 bytes in IA-32e mode, so 48h and 50h).</summary>
    public const ushort Tss = 0x48;

    /// <summary>The first GDT selector a test may use for its own descriptors (up to F8h).</summary>
    public const ushort FirstFree = 0x58;

    public const ulong TssAddress = 0x3000;
    public const ulong Ring0Stack = 0x7000;
    public const ulong Ring1Stack = 0x6800;
    public const ulong Ring3Stack = 0x6000;

    /// <summary>Descriptor types (SDM Vol. 3A tables 3-1 and 3-2).</summary>
    public const int DataReadOnly = 0x1, DataReadWrite = 0x3, DataReadOnlyExpandDown = 0x5, DataReadWriteExpandDown = 0x7;
    public const int CodeExecuteOnly = 0x9, CodeExecuteRead = 0xB, CodeConformingExecuteOnly = 0xD, CodeConformingExecuteRead = 0xF;
    public const int Tss32Available = 0x9, Tss32Busy = 0xB, CallGate16 = 0x4, CallGate32 = 0xC, Ldt = 0x2;

    /// <summary>
    /// A code or data segment descriptor. <paramref name="limit"/> is the 20-bit field (in 4 KiB
    /// units when <paramref name="granular"/>); <paramref name="big"/> is D/B.
    /// </summary>
    public static ulong Segment(uint segmentBase, uint limit, int type, int dpl = 0, bool big = true, bool granular = true, bool long64 = false, bool present = true)
    {
        ulong d = (limit & 0xFFFFUL) | ((ulong)(segmentBase & 0xFFFFFF) << 16);
        d |= (ulong)(type & 0xF) << 40;
        d |= 1UL << 44; // S: code or data
        d |= (ulong)(dpl & 3) << 45;
        d |= present ? 1UL << 47 : 0;
        d |= (ulong)((limit >> 16) & 0xF) << 48;
        d |= long64 ? 1UL << 53 : 0;
        d |= big ? 1UL << 54 : 0;
        d |= granular ? 1UL << 55 : 0;
        d |= (ulong)(segmentBase >> 24) << 56;
        return d;
    }

    /// <summary>A system descriptor (TSS, LDT) with S = 0 and byte granularity.</summary>
    public static ulong System(uint segmentBase, uint limit, int type, int dpl = 0, bool present = true)
    {
        return Segment(segmentBase, limit, type, dpl, big: false, granular: false, present: present) & ~(1UL << 44);
    }

    /// <summary>A 16- or 32-bit call gate (SDM Vol. 3A figure 5-8) with a parameter count.</summary>
    public static ulong CallGate(ushort selector, uint offset, int dpl, int parameters = 0, bool is32 = true, bool present = true)
    {
        ulong d = (offset & 0xFFFFUL) | ((ulong)selector << 16) | ((ulong)(parameters & 0x1F) << 32);
        d |= (ulong)(is32 ? CallGate32 : CallGate16) << 40;
        d |= (ulong)(dpl & 3) << 45;
        d |= present ? 1UL << 47 : 0;
        d |= (ulong)(offset >> 16) << 48;
        return d;
    }

    /// <summary>A task gate (SDM Vol. 3A figure 8-5): the TSS selector, DPL and P; the offset is unused.</summary>
    public static ulong TaskGate(ushort tssSelector, int dpl, bool present = true)
    {
        return ((ulong)tssSelector << 16) | (0x5UL << 40) | ((ulong)(dpl & 3) << 45) | (present ? 1UL << 47 : 0);
    }

    /// <summary>The two halves of a 64-bit call gate (SDM Vol. 3A figure 5-9).</summary>
    public static (ulong Low, ulong High) CallGate64(ushort selector, ulong offset, int dpl)
    {
        return (CallGate(selector, (uint)offset, dpl), offset >> 32);
    }

    /// <summary>Writes GDT entry <paramref name="index"/> and makes the GDT limit cover 32 entries.</summary>
    public static void SetGdt(TestMachine m, int index, ulong descriptor)
    {
        m.Memory.Write(TestMachine.GdtAddress + (ulong)(8 * index), 8, descriptor);
        m.S.Gdtr.Limit = Math.Max(m.S.Gdtr.Limit, (ushort)((32 * 8) - 1));
    }

    public static void SetGdt(TestMachine m, ushort selector, ulong descriptor) => SetGdt(m, selector >> 3, descriptor);

    /// <summary>
    /// Adds the ring-3 segments and a TSS to the machine's GDT and loads TR: a 32-bit TSS
    /// (ESP0 = <see cref="Ring0Stack"/>, SS0 = Data; ESP1/SS1 for ring 1) in protected mode, or
    /// the 64-bit TSS (RSP0) in long mode (SDM Vol. 3A figures 8-2 and 8-11).
    /// </summary>
    public static void InstallRing3(TestMachine m)
    {
        SetGdt(m, UserCode32, Segment(0, 0xFFFFF, CodeExecuteRead, dpl: 3));
        SetGdt(m, UserData, Segment(0, 0xFFFFF, DataReadWrite, dpl: 3));
        SetGdt(m, UserCode64, Segment(0, 0xFFFFF, CodeExecuteRead, dpl: 3, big: false, long64: true));
        for (ulong k = 0; k < 0x68; k += 8)
        {
            m.Memory.Write(TssAddress + k, 8, 0);
        }

        if (m.Bitness == 64)
        {
            m.Memory.Write(TssAddress + 4, 8, Ring0Stack);
            SetGdt(m, Tss, System((uint)TssAddress, 0x67, Tss32Busy));
            SetGdt(m, (Tss >> 3) + 1, 0);
        }
        else
        {
            m.Memory.Write(TssAddress + 4, 4, Ring0Stack);
            m.Memory.Write(TssAddress + 8, 2, TestMachine.Data);
            SetGdt(m, Tss, System((uint)TssAddress, 0x67, Tss32Busy));
        }

        m.S.Tr = X86Cpu.FromDescriptor(Tss, System((uint)TssAddress, 0x67, Tss32Busy));
    }

    /// <summary>Sets ring 1's stack (SS1:ESP1) in the 32-bit TSS.</summary>
    public static void SetRing1Stack(TestMachine m, ushort ss, uint esp)
    {
        m.Memory.Write(TssAddress + 12, 4, esp);
        m.Memory.Write(TssAddress + 16, 2, ss);
    }

    /// <summary>
    /// Starts the program at <paramref name="rip"/> at CPL 3: CS = the ring-3 code segment of the
    /// current mode, SS = DS = ES = FS = GS = the ring-3 data segment, RSP = <see cref="Ring3Stack"/>.
    /// </summary>
    public static void EnterRing3(TestMachine m, ulong rip = TestMachine.CodeAddress)
    {
        ref CpuState s = ref m.S;
        ushort code = m.Bitness == 64 ? UserCode64 : UserCode32;
        s.Cs = X86Cpu.FromDescriptor((ushort)(code | 3), m.Memory.Read(TestMachine.GdtAddress + code, 8));
        var data = X86Cpu.FromDescriptor(UserData | 3, m.Memory.Read(TestMachine.GdtAddress + UserData, 8));
        s.Ss = s.Ds = s.Es = s.Fs = s.Gs = data;
        s.Rip = rip;
        s.Gpr[CpuState.RSP] = Ring3Stack;
        m.Cpu.Tlb.FlushAll();
    }
}
