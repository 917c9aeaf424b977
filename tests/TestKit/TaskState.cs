namespace Emulator.TestKit;

/// <summary>
/// The 32-bit TSS (SDM Vol. 3A 8.2.1, figure 8-2): field offsets, and a writer for a ring-0 task
/// image on the <see cref="TestMachine"/>'s flat segments, for task-switching tests.
/// </summary>
public static class TaskState
{
    public const int Link = 0x00, Esp0 = 0x04, Ss0 = 0x08, Cr3 = 0x1C, Eip = 0x20, Eflags = 0x24;
    public const int Eax = 0x28, Ecx = 0x2C, Edx = 0x30, Ebx = 0x34, Esp = 0x38, Ebp = 0x3C, Esi = 0x40, Edi = 0x44;
    public const int Es = 0x48, Cs = 0x4C, Ss = 0x50, Ds = 0x54, Fs = 0x58, Gs = 0x5C, Ldt = 0x60, IoMapBase = 0x66;

    /// <summary>The size of the TSS without an I/O bit map; its limit is this minus 1 (67h).</summary>
    public const int Size = 0x68;

    /// <summary>
    /// Writes a task that starts at <paramref name="eip"/> at CPL 0 with CS = 32-bit code, the
    /// flat data segment in SS, DS, ES, FS and GS, ESP = <paramref name="esp"/> (also ESP0),
    /// EFLAGS = <paramref name="eflags"/>, and the I/O map base past the limit (no bit map).
    /// </summary>
    public static void WriteKernelTask(TestMachine m, ulong address, ulong eip, ulong esp, uint eflags = 2)
    {
        for (int k = 0; k < Size; k += 4)
        {
            m.Memory.Write(address + (ulong)k, 4, 0);
        }

        Set(m, address, Esp0, esp);
        Set(m, address, Ss0, TestMachine.Data);
        Set(m, address, Eip, eip);
        Set(m, address, Eflags, eflags);
        Set(m, address, Esp, esp);
        Set(m, address, Cs, TestMachine.Code32);
        foreach (int field in (int[])[Ss, Ds, Es, Fs, Gs])
        {
            Set(m, address, field, TestMachine.Data);
        }

        m.Memory.Write(address + IoMapBase, 2, Size);
    }

    public static void Set(TestMachine m, ulong tss, int field, ulong value) => m.Memory.Write(tss + (ulong)field, field == IoMapBase ? 2 : 4, value);

    public static ulong Get(TestMachine m, ulong tss, int field) => m.Memory.Read(tss + (ulong)field, 4);
}
