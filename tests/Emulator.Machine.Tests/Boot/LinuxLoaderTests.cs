using System.Buffers.Binary;
using System.Text;
using Emulator.Cpu.State;
using Emulator.Machine.Boot;
using Emulator.Machine.Config;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Machine.Tests.Boot;

/// <summary>
/// The Linux boot protocol loader (Documentation/arch/x86/boot.rst) on fake bzImages: where it
/// puts things, the entry state, and a payload that runs at the 64-bit (or 32-bit) entry point and
/// reports through the debug console what it was handed.
/// </summary>
public sealed class LinuxLoaderTests : IDisposable
{
    private const ulong Ram = 64UL << 20;
    private readonly List<string> _files = [];

    public void Dispose()
    {
        foreach (string file in _files)
        {
            File.Delete(file);
        }
    }

    private string Temp(byte[] bytes)
    {
        string path = Path.Combine(Path.GetTempPath(), $"emu-linux-test-{Guid.NewGuid():N}");
        File.WriteAllBytes(path, bytes);
        _files.Add(path);
        return path;
    }

    private MachineConfig Config(FakeBzImage kernel, string append = "console=ttyS0", byte[]? initrd = null, ulong ram = Ram) => new()
    {
        KernelPath = Temp(kernel.Build()),
        Initrds = initrd is null ? [] : [Temp(initrd)],
        Append = append,
        MemoryBytes = ram,
        Serial = SerialTarget.None,
        Debugcon = SerialTarget.Stdio,
        ExitDevice = new ExitDeviceConfig(0xF4, 4),
        MaxInstructions = 1_000_000,
    };

    private static byte[] Initrd(int size)
    {
        var bytes = new byte[size];
        for (int k = 0; k < size; k++)
        {
            bytes[k] = (byte)(k * 7);
        }

        return bytes;
    }

    private static byte[] Read(VirtualMachine vm, ulong address, int length)
    {
        var bytes = new byte[length];
        vm.Board.Memory.ReadBytes(address, bytes);
        return bytes;
    }

    [Fact]
    public void LoaderPlacesKernelBootParamsCommandLineAndInitrdAsTheProtocolSays()
    {
        var kernel = new FakeBzImage { Entry64 = [0x90, 0x90, 0xF4] };
        byte[] initrd = Initrd(100_000);
        using var vm = new VirtualMachine(Config(kernel, "console=ttyS0 quiet", initrd), new MemoryStream(), new StringWriter());

        // The protected-mode kernel at pref_address (relocatable), its 64-bit entry at +0x200.
        byte[] image = kernel.Build();
        Assert.Equal(image[(5 * 512)..], Read(vm, 0x200000, image.Length - (5 * 512)));

        byte[] bp = Read(vm, LinuxLoader.BootParamsAddress, 4096);
        Assert.Equal(image[0x1F1..0x210], bp[0x1F1..0x210]); // the setup header, copied
        Assert.Equal("HdrS", Encoding.ASCII.GetString(bp, 0x202, 4));
        Assert.Equal(0xFF, bp[0x210]); // type_of_loader
        Assert.Equal(0x200000u, BinaryPrimitives.ReadUInt32LittleEndian(bp.AsSpan(0x214))); // code32_start = load address
        uint cmdline = BinaryPrimitives.ReadUInt32LittleEndian(bp.AsSpan(0x228));
        Assert.Equal("console=ttyS0 quiet\0", Encoding.ASCII.GetString(Read(vm, cmdline, 20)));

        // The initrd as high as possible below the end of RAM, 4 KiB aligned.
        uint ramdisk = BinaryPrimitives.ReadUInt32LittleEndian(bp.AsSpan(0x218));
        Assert.Equal(100_000u, BinaryPrimitives.ReadUInt32LittleEndian(bp.AsSpan(0x21C)));
        Assert.Equal(0u, ramdisk % 4096);
        Assert.True(ramdisk + 100_000 <= Ram && ramdisk + 100_000 + 4096 > Ram, $"initrd at 0x{ramdisk:x}");
        Assert.Equal(initrd, Read(vm, ramdisk, initrd.Length));

        // acpi_rsdp_addr points at the RSDP.
        ulong rsdp = BinaryPrimitives.ReadUInt64LittleEndian(bp.AsSpan(0x70));
        Assert.Equal("RSD PTR ", Encoding.ASCII.GetString(Read(vm, rsdp, 8)));

        // The E820 map: low RAM, the EBDA and BIOS area reserved, RAM from 1 MiB to the end.
        int entries = bp[0x1E8];
        var map = Enumerable.Range(0, entries).Select(k => (
            Base: BinaryPrimitives.ReadUInt64LittleEndian(bp.AsSpan(0x2D0 + (20 * k))),
            Length: BinaryPrimitives.ReadUInt64LittleEndian(bp.AsSpan(0x2D0 + (20 * k) + 8)),
            Type: BinaryPrimitives.ReadUInt32LittleEndian(bp.AsSpan(0x2D0 + (20 * k) + 16)))).ToList();
        Assert.Equal([(0UL, 0x9FC00UL, 1u), (0x9FC00UL, 0x400UL, 2u), (0xE0000UL, 0x20000UL, 2u), (0x100000UL, Ram - 0x100000, 1u)], map);
        Assert.InRange(rsdp, 0xE0000UL, 0xFFFFFUL);

        // The MP floating pointer, for guests that look for it instead.
        Assert.Equal("_MP_", Encoding.ASCII.GetString(Read(vm, 0xF0000, 4)));
    }

    [Fact]
    public void EntryStateIsLongModeAtStartup64WithRsiOnBootParams()
    {
        using var vm = new VirtualMachine(Config(new FakeBzImage()), new MemoryStream(), new StringWriter());
        ref CpuState s = ref vm.Cpu.S;
        Assert.Equal(0x200200UL, s.Rip);
        Assert.Equal(LinuxLoader.BootParamsAddress, s.Gpr[CpuState.RSI]);
        Assert.Equal(0x10, s.Cs.Selector);
        Assert.Equal(0x18, s.Ds.Selector);
        Assert.Equal(0x18, s.Ss.Selector);
        Assert.Equal(0x18, s.Es.Selector);
        Assert.NotEqual(0UL, s.Cr0 & ControlBits.Cr0PG);
        Assert.NotEqual(0UL, s.Efer & ControlBits.EferLMA);
        Assert.Equal(0UL, s.Rflags & Flags.IF);
    }

    [Fact]
    public void MtrrsAreProgrammedAsSeaBiosLeavesThem()
    {
        // Linux reads MTRRs blank as "virtualized system" and then keeps PAT off; a BIOS enables them.
        using var vm = new VirtualMachine(Config(new FakeBzImage()), new MemoryStream(), new StringWriter());
        ref CpuState s = ref vm.Cpu.S;
        Assert.Equal(0xC06UL, Cpu.Mtrr.Read(ref s, Cpu.Mtrr.DefType)); // enabled, fixed enabled, default WB
        Assert.Equal(0x0606_0606_0606_0606UL, Cpu.Mtrr.Read(ref s, Cpu.Mtrr.Fix64K00000));
        Assert.Equal(0UL, Cpu.Mtrr.Read(ref s, Cpu.Mtrr.Fix16KA0000)); // VGA window uncached
        Assert.Equal(0x0505_0505_0505_0505UL, Cpu.Mtrr.Read(ref s, Cpu.Mtrr.Fix4KF8000));
        Assert.Equal(0x8000_0000UL, Cpu.Mtrr.Read(ref s, Cpu.Mtrr.PhysBase0)); // 2-4 GiB uncached (type 0)
        Assert.Equal(0xFF_8000_0800UL, Cpu.Mtrr.Read(ref s, Cpu.Mtrr.PhysBase0 + 1));
    }

    /// <summary>
    /// A 64-bit payload that stores what it sees (RSI, segment selectors, CR0, CR4, EFER, RFLAGS,
    /// its own RIP, a byte read through the identity map just below 4 GiB) and sends it, then
    /// boot_params, 64 bytes of the command line and 16 of the initrd, to the debug console
    /// (port 0xE9), and exits through isa-debug-exit with 0x21.
    /// </summary>
    private static byte[] Reporter64(ulong entry)
    {
        var a = new Assembler(64);
        const int report = 0x50000;
        a.mov(rsp, 0x80000);
        a.mov(ebx, report);
        a.mov(__qword_ptr[rbx], rsi);
        a.mov(ax, cs);
        a.mov(__word_ptr[rbx + 8], ax);
        a.mov(ax, ds);
        a.mov(__word_ptr[rbx + 10], ax);
        a.mov(ax, ss);
        a.mov(__word_ptr[rbx + 12], ax);
        a.mov(ax, es);
        a.mov(__word_ptr[rbx + 14], ax);
        a.mov(rax, cr0);
        a.mov(__qword_ptr[rbx + 16], rax);
        a.mov(rax, cr4);
        a.mov(__qword_ptr[rbx + 24], rax);
        a.mov(ecx, 0xC0000080);
        a.rdmsr();
        a.mov(__dword_ptr[rbx + 32], eax);
        a.mov(__dword_ptr[rbx + 36], edx);
        a.pushfq();
        a.pop(rax);
        a.mov(__qword_ptr[rbx + 40], rax);
        var here = a.CreateLabel();
        a.Label(ref here);
        a.lea(rax, __[here]);
        a.mov(__qword_ptr[rbx + 48], rax);
        a.mov(edx, 0xFFFFF000);
        a.mov(al, __byte_ptr[rdx]);
        a.mov(__byte_ptr[rbx + 56], al);

        a.mov(dx, 0xE9);
        a.mov(rsi, rbx);
        a.mov(ecx, 64);
        a.rep.outsb();
        a.mov(rsi, __qword_ptr[rbx]);
        a.mov(ecx, 4096);
        a.rep.outsb();
        a.mov(rdi, __qword_ptr[rbx]);
        a.mov(esi, __dword_ptr[rdi + 0x228]);
        a.mov(ecx, 64);
        a.rep.outsb();
        a.mov(esi, __dword_ptr[rdi + 0x218]);
        a.mov(ecx, 16);
        a.rep.outsb();
        a.mov(dx, 0xF4);
        a.mov(al, 0x21);
        a.@out(dx, al);
        a.hlt();
        return a.AssembleBytes(entry);
    }

    private static (int Status, byte[] Output, string Diagnostics) Run(MachineConfig config)
    {
        var stdout = new MemoryStream();
        var diagnostics = new StringWriter();
        int status;
        using (var vm = new VirtualMachine(config, stdout, diagnostics))
        {
            status = vm.Run();
        }

        return (status, stdout.ToArray(), diagnostics.ToString());
    }

    [Fact]
    public void SixtyFourBitPayloadSeesTheEntryStateTheProtocolPromises()
    {
        var kernel = new FakeBzImage { Entry64 = Reporter64(0x200200) };
        byte[] initrd = Initrd(5000);
        var (status, output, diagnostics) = Run(Config(kernel, "root=/dev/ram0 console=ttyS0", initrd));

        Assert.True(status == 0x43, $"exit {status}: {diagnostics}");
        Assert.Equal(64 + 4096 + 64 + 16, output.Length);
        var r = output.AsSpan();
        Assert.Equal(LinuxLoader.BootParamsAddress, BinaryPrimitives.ReadUInt64LittleEndian(r));
        Assert.Equal(0x10, BinaryPrimitives.ReadUInt16LittleEndian(r[8..])); // CS = __BOOT_CS
        Assert.Equal(0x18, BinaryPrimitives.ReadUInt16LittleEndian(r[10..])); // DS = __BOOT_DS
        Assert.Equal(0x18, BinaryPrimitives.ReadUInt16LittleEndian(r[12..])); // SS
        Assert.Equal(0x18, BinaryPrimitives.ReadUInt16LittleEndian(r[14..])); // ES
        ulong cr0 = BinaryPrimitives.ReadUInt64LittleEndian(r[16..]);
        Assert.Equal(ControlBits.Cr0PE | ControlBits.Cr0PG, cr0 & (ControlBits.Cr0PE | ControlBits.Cr0PG));
        Assert.NotEqual(0UL, BinaryPrimitives.ReadUInt64LittleEndian(r[24..]) & ControlBits.Cr4PAE);
        ulong efer = BinaryPrimitives.ReadUInt64LittleEndian(r[32..]);
        Assert.Equal(ControlBits.EferLME | ControlBits.EferLMA, efer & (ControlBits.EferLME | ControlBits.EferLMA));
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(r[40..]) & Flags.IF);
        ulong rip = BinaryPrimitives.ReadUInt64LittleEndian(r[48..]);
        Assert.InRange(rip, 0x200200UL, 0x200300UL); // running at load address + 0x200

        var bp = r.Slice(64, 4096);
        Assert.Equal(0xFF, bp[0x210]);
        Assert.Equal("HdrS", Encoding.ASCII.GetString(bp.Slice(0x202, 4)));
        Assert.Equal(5000u, BinaryPrimitives.ReadUInt32LittleEndian(bp[0x21C..]));
        Assert.Equal("root=/dev/ram0 console=ttyS0\0", Encoding.ASCII.GetString(r.Slice(64 + 4096, 29)));
        Assert.Equal(Initrd(16), r.Slice(64 + 4096 + 64, 16).ToArray());
    }

    /// <summary>A 32-bit payload at the 32-bit entry: reports ESI, CS, CR0 and its EIP, then exits with 0x22.</summary>
    private static byte[] Reporter32(uint entry)
    {
        var a = new Assembler(32);
        a.mov(ebx, 0x50000);
        a.mov(__dword_ptr[ebx], esi);
        a.mov(ax, cs);
        a.mov(__word_ptr[ebx + 4], ax);
        a.mov(eax, cr0);
        a.mov(__dword_ptr[ebx + 8], eax);
        a.mov(esp, 0x80000);
        var here = a.CreateLabel();
        a.call(here);
        a.Label(ref here);
        a.pop(eax); // the address of this instruction
        a.mov(__dword_ptr[ebx + 12], eax);
        a.mov(dx, 0xE9);
        a.mov(esi, ebx);
        a.mov(ecx, 16);
        a.rep.outsb();
        a.mov(dx, 0xF4);
        a.mov(al, 0x22);
        a.@out(dx, al);
        a.hlt();
        return a.AssembleBytes(entry);
    }

    [Fact]
    public void KernelWithoutXlfKernel64IsEnteredAtTheThirtyTwoBitEntryWithoutPaging()
    {
        var kernel = new FakeBzImage { XLoadFlags = 0, Relocatable = false, Entry32 = Reporter32(0x100000) };
        var (status, output, diagnostics) = Run(Config(kernel));
        Assert.True(status == 0x45, $"exit {status}: {diagnostics}");
        Assert.Equal(LinuxLoader.BootParamsAddress, BinaryPrimitives.ReadUInt32LittleEndian(output));
        Assert.Equal(0x10, BinaryPrimitives.ReadUInt16LittleEndian(output.AsSpan(4)));
        uint cr0 = BinaryPrimitives.ReadUInt32LittleEndian(output.AsSpan(8));
        Assert.Equal(1u, cr0 & 1);
        Assert.Equal(0u, cr0 & 0x8000_0000);
        Assert.Equal(0x100000u, BinaryPrimitives.ReadUInt32LittleEndian(output.AsSpan(12)) & 0xFFF00000);
    }

    [Fact]
    public void NonRelocatableKernelLoadsAtOneMegabyte()
    {
        var kernel = new FakeBzImage { Relocatable = false, PrefAddress = 0x1000000 };
        using var vm = new VirtualMachine(Config(kernel), new MemoryStream(), new StringWriter());
        Assert.Equal(0x100200UL, vm.Cpu.S.Rip);
    }

    [Fact]
    public void SeveralInitrdsAreConcatenatedOnFourByteBoundaries()
    {
        var config = Config(new FakeBzImage()) with { Initrds = [Temp([1, 2, 3]), Temp([4, 5, 6, 7, 8])] };
        using var vm = new VirtualMachine(config, new MemoryStream(), new StringWriter());
        byte[] bp = Read(vm, LinuxLoader.BootParamsAddress, 4096);
        uint at = BinaryPrimitives.ReadUInt32LittleEndian(bp.AsSpan(0x218));
        Assert.Equal(12u, BinaryPrimitives.ReadUInt32LittleEndian(bp.AsSpan(0x21C)));
        Assert.Equal([1, 2, 3, 0, 4, 5, 6, 7, 8, 0, 0, 0], Read(vm, at, 12));
    }

    [Fact]
    public void TruncatedImageIsRefused()
    {
        byte[] image = new FakeBzImage().Build()[..0x400];
        var e = Assert.Throws<ConfigException>(() => new VirtualMachine(Config(new FakeBzImage()) with { KernelPath = Temp(image) }, new MemoryStream(), new StringWriter()));
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0x0204, "boot protocol 2.04")]
    [InlineData(0x0200, "boot protocol 2.00")]
    public void OldProtocolIsRefused(int version, string message)
    {
        var e = Assert.Throws<ConfigException>(() => new VirtualMachine(Config(new FakeBzImage { Version = (ushort)version }), new MemoryStream(), new StringWriter()));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ZImageIsRefused()
    {
        var e = Assert.Throws<ConfigException>(() => new VirtualMachine(Config(new FakeBzImage { LoadFlags = 0 }), new MemoryStream(), new StringWriter()));
        Assert.Contains("zImage", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InitrdTooBigIsRefused()
    {
        var e = Assert.Throws<ConfigException>(() => new VirtualMachine(Config(new FakeBzImage(), initrd: new byte[62 << 20]), new MemoryStream(), new StringWriter()));
        Assert.Contains("initrd", e.Message, StringComparison.Ordinal);
        Assert.Contains("does not fit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InitrdAboveInitrdAddrMaxIsNotUsed()
    {
        // initrd_addr_max 16 MiB - 1: the initrd must end below 16 MiB even with 64 MiB of RAM.
        var config = Config(new FakeBzImage { InitrdAddrMax = 0xFFFFFF }, initrd: Initrd(8192));
        using var vm = new VirtualMachine(config, new MemoryStream(), new StringWriter());
        uint at = BinaryPrimitives.ReadUInt32LittleEndian(Read(vm, LinuxLoader.BootParamsAddress + 0x218, 4));
        Assert.Equal(0x1000000u - 8192, at);
    }

    [Fact]
    public void CommandLineLongerThanCmdlineSizeIsRefused()
    {
        var e = Assert.Throws<ConfigException>(() => new VirtualMachine(Config(new FakeBzImage { CmdlineSize = 16 }, new string('x', 17)), new MemoryStream(), new StringWriter()));
        Assert.Contains("at most 16", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void KernelNeedingMoreRamThanTheGuestHasIsRefused()
    {
        var e = Assert.Throws<ConfigException>(() => new VirtualMachine(Config(new FakeBzImage { InitSize = 0x4000000 }, ram: 32UL << 20), new MemoryStream(), new StringWriter()));
        Assert.Contains("init_size", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ElfWithoutMultibootHeaderGetsAClearError()
    {
        byte[] elf = new byte[64];
        elf[0] = 0x7F;
        "ELF"u8.CopyTo(elf.AsSpan(1));
        var e = Assert.Throws<ConfigException>(() => new VirtualMachine(Config(new FakeBzImage()) with { KernelPath = Temp(elf) }, new MemoryStream(), new StringWriter()));
        Assert.Contains("vmlinuz", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FormatsAreToldApartByTheirHeaders()
    {
        Assert.Equal(KernelFormat.BzImage, KernelImage.Detect(new FakeBzImage().Build()));
        Assert.Equal(KernelFormat.Multiboot, KernelImage.Detect(File.ReadAllBytes(RepoPaths.Rom("multiboot", "mbtest.elf"))));
        Assert.Equal(KernelFormat.Unknown, KernelImage.Detect(File.ReadAllBytes(RepoPaths.Rom("demo", "demo.S"))));
    }
}
