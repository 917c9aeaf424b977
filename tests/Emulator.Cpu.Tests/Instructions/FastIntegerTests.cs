using Emulator.Cpu.Instructions;
using Emulator.Cpu.State;
using Emulator.TestKit;
using Iced.Intel;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Emulator.Cpu.Tests.Instructions;

/// <summary>
/// The interpreter's specialised handlers (<see cref="FastInteger"/>) against the table's generic
/// handlers: each instruction runs once through each, from the same random registers, flags and
/// memory, in real mode, 32-bit protected mode and long mode, and every GPR, RFLAGS, RIP, the
/// recorded fault, ExitRequest and the memory around the operands must agree. Memory operands
/// are based on RBX (or BX), which points into the data area; 8-bit and high-byte register sources,
/// indirect jumps to random targets (some past the CS limit or not canonical: #GP) and a
/// non-canonical 64-bit data address (#GP) are among the cases.
/// </summary>
public unsafe class FastIntegerTests
{
    private const int Cases = 40;

    public static TheoryData<int> Modes => new() { 16, 32, 64 };

    [Theory]
    [MemberData(nameof(Modes))]
    public void SpecialisedHandlersMatchTheGenericOnes(int bitness)
    {
        var programs = Programs(bitness);
        int specialised = 0;
        using var generic = new TestMachine();
        using var fast = new TestMachine();
        var random = new System.Random(bitness);
        foreach (var instruction in programs)
        {
            var handler = FastInteger.Select(in instruction);
            if (handler == null)
            {
                continue;
            }

            specialised++;
            var table = InstructionTable.Handlers[(int)instruction.Code];
            for (int n = 0; n < Cases; n++)
            {
                ulong[] gpr = new ulong[16];
                for (int r = 0; r < 16; r++)
                {
                    gpr[r] = random.Next(4) == 0 ? (ulong)random.Next(-2, 40) : (ulong)random.NextInt64() ^ ((ulong)random.Next() << 33);
                }

                // RBX is the memory operands' base: the data area, or now and then a non-canonical address.
                gpr[CpuState.RBX] = bitness == 64 && n == 7 ? 0x8000_0000_0000_0000UL : TestMachine.DataAddress + (ulong)random.Next(0, 0x100);
                gpr[CpuState.RSI] = (ulong)random.Next(0, 16);
                gpr[CpuState.RSP] = TestMachine.StackTop - (ulong)(8 * random.Next(2, 8));
                ulong flags = Flags.Reserved1 | ((ulong)random.Next() & Flags.Arith);
                byte[] data = new byte[0x200];
                random.NextBytes(data);

                var before = Prepare(generic, bitness, gpr, flags, data, instruction);
                Prepare(fast, bitness, gpr, flags, data, instruction);
                table(generic.Cpu, in instruction);
                handler(fast.Cpu, in instruction);
                string what = $"{instruction} ({instruction.Code}) in {bitness}-bit mode, case {n}";
                for (int r = 0; r < 16; r++)
                {
                    Assert.True(generic.S.Gpr[r] == fast.S.Gpr[r], $"{what}: register {r} {generic.S.Gpr[r]:x} (generic) != {fast.S.Gpr[r]:x}");
                }

                Assert.True(generic.S.Rflags == fast.S.Rflags, $"{what}: RFLAGS {generic.S.Rflags:x} (generic) != {fast.S.Rflags:x} (from {before:x})");
                Assert.True(generic.S.Rip == fast.S.Rip, $"{what}: RIP {generic.S.Rip:x} (generic) != {fast.S.Rip:x}");
                Assert.True(generic.Cpu.FaultVector == fast.Cpu.FaultVector, $"{what}: fault {generic.Cpu.FaultVector} (generic) != {fast.Cpu.FaultVector}");
                Assert.True(generic.S.ExitRequest == fast.S.ExitRequest, $"{what}: ExitRequest {generic.S.ExitRequest} (generic) != {fast.S.ExitRequest}");
                Assert.Equal(Read(generic, TestMachine.DataAddress, 0x300), Read(fast, TestMachine.DataAddress, 0x300));
                Assert.Equal(Read(generic, TestMachine.StackTop - 0x80, 0x80), Read(fast, TestMachine.StackTop - 0x80, 0x80));
            }
        }

        // Most of the list has a specialised handler (the rest checks that Select declines).
        Assert.True(specialised > programs.Count / 2, $"only {specialised} of {programs.Count} instructions were specialised");
    }

    private static ulong Prepare(TestMachine m, int bitness, ulong[] gpr, ulong flags, byte[] data, in Instruction instruction)
    {
        m.Mode(bitness);
        m.Cpu.ClearFault();
        ref CpuState s = ref m.S;
        for (int r = 0; r < 16; r++)
        {
            s.Gpr[r] = bitness == 64 ? gpr[r] : gpr[r] & 0xFFFF_FFFF;
        }

        if (bitness == 16)
        {
            s.Gpr[CpuState.RBX] &= 0xFFFF;
            s.Gpr[CpuState.RSP] &= 0xFFFF;
            s.Ds = s.Ss = s.Es = SegmentRegister.RealMode((ushort)(TestMachine.DataAddress >> 4));
            s.Gpr[CpuState.RBX] = (s.Gpr[CpuState.RBX] - TestMachine.DataAddress) & 0xFFFF;
        }

        s.Rflags = flags;
        s.ExitRequest = 0;
        m.Memory.WriteBytes(TestMachine.DataAddress, data);
        m.Memory.WriteBytes(TestMachine.StackTop - 0x80, new byte[0x80]);
        if (bitness == 16)
        {
            // The real-mode stack is SS:SP with SS at the data area: keep SP inside the data area's segment.
            s.Gpr[CpuState.RSP] = 0x1F0;
        }

        // As the run loop does before a handler: RIP past the instruction.
        s.Rip = instruction.NextIP;
        return flags;
    }

    private static byte[] Read(TestMachine m, ulong address, int length)
    {
        byte[] bytes = new byte[length];
        m.Memory.ReadBytes(address, bytes);
        return bytes;
    }

    /// <summary>The instructions under test, decoded at the code address for <paramref name="bitness"/>.</summary>
    private static List<Instruction> Programs(int bitness)
    {
        var a = new Assembler(bitness);
        if (bitness == 64)
        {
            foreach (var (d, s) in new[] { (rax, rcx), (r9, rdx) })
            {
                a.add(d, s);
                a.adc(d, s);
                a.sub(d, s);
                a.sbb(d, s);
                a.and(d, s);
                a.or(d, s);
                a.xor(d, s);
                a.cmp(d, s);
                a.test(d, s);
                a.mov(d, s);
                a.imul(d, s);
            }

            a.add(rax, 0x12345678);
            a.sub(rcx, -5);
            a.cmp(rdx, 7);
            a.mov(rax, 0x1122334455667788);
            a.mov(r10, -3);
            a.add(__qword_ptr[rbx + rsi * 8 + 8], rax);
            a.add(rax, __qword_ptr[rbx + 16]);
            a.cmp(__qword_ptr[rbx], 3);
            a.inc(rcx);
            a.dec(__qword_ptr[rbx + 8]);
            a.lea(rax, __[rbx + rsi * 4 + 0x40]);
            a.lea(eax, __[rbx + rsi * 2 - 4]);
            a.shl(rax, 13);
            a.shr(rdx, 1);
            a.sar(rcx, 63);
            a.shl(rax, cl);
            a.sar(__qword_ptr[rbx + 24], cl);
            a.imul(rax, __qword_ptr[rbx], 1000);
            a.imul(rcx, rdx, -7);
            a.movzx(rax, __byte_ptr[rbx + 3]);
            a.movzx(rcx, dx);
            a.movsx(rax, cl);
            a.movsx(rdx, __word_ptr[rbx]);
            a.movsxd(rax, ecx);
            a.push(rax);
            a.pop(r11);
            a.jmp(__qword_ptr[rbx + 0x80]);
            a.jmp(rdx);
        }

        foreach (var (d, s) in new[] { (eax, ecx), (esi, edx) })
        {
            a.add(d, s);
            a.adc(d, s);
            a.sub(d, s);
            a.sbb(d, s);
            a.and(d, s);
            a.or(d, s);
            a.xor(d, s);
            a.cmp(d, s);
            a.test(d, s);
            a.mov(d, s);
            a.imul(d, s);
        }

        foreach (var (d, s) in new[] { (ax, cx), (si, dx) })
        {
            a.add(d, s);
            a.sbb(d, s);
            a.xor(d, s);
            a.cmp(d, s);
            a.mov(d, s);
            a.imul(d, s);
        }

        a.add(eax, 0x12345678);
        a.sub(ecx, -5);
        a.and(edx, 511);
        a.add(ax, 0x1234);
        a.cmp(si, -2);
        a.inc(edx);
        a.dec(ax);
        a.shl(eax, 5);
        a.shr(ecx, 1);
        a.sar(edx, 31);
        a.shr(eax, cl);
        a.imul(eax, ecx, 0x10001);
        a.imul(ax, dx, 300);
        a.movzx(eax, cl);
        a.movzx(ecx, ah);
        a.movsx(edx, bh);
        a.movsx(eax, cx);
        a.movzx(ax, dl);
        a.push(cx);
        a.pop(si);
        if (bitness != 64)
        {
            a.push(ecx);
            a.pop(edx);
            a.jmp(edx);
            a.add(__dword_ptr[ebx + 8], eax);
            a.sub(eax, __dword_ptr[ebx + esi * 4]);
            a.cmp(__dword_ptr[ebx], 0x100);
            a.test(__dword_ptr[ebx + 4], 0xFF00);
            a.mov(__dword_ptr[ebx + 12], ecx);
            a.mov(edx, __dword_ptr[ebx + 16]);
            a.inc(__dword_ptr[ebx + 20]);
            a.lea(eax, __[ebx + esi * 8 + 3]);
            a.shl(__dword_ptr[ebx + 4], 3);
            a.imul(ecx, __dword_ptr[ebx + 32]);
            a.movzx(eax, __word_ptr[ebx + 2]);
            a.movsx(ecx, __byte_ptr[ebx + 5]);
            a.jmp(__dword_ptr[ebx + 0x80]);
        }

        if (bitness == 16)
        {
            a.add(__word_ptr[bx + si + 8], ax);
            a.mov(cx, __word_ptr[bx + 2]);
            a.lea(ax, __[bx + si + 0x40]);
            a.inc(__word_ptr[bx]);
            a.jmp(__word_ptr[bx + 0x80]);
        }

        a.add(al, bl);
        a.adc(ah, cl);
        a.sub(dh, bh);
        a.cmp(cl, 0x80);
        a.test(al, al);
        a.xor(bl, ah);
        a.mov(ch, dl);
        a.mov(al, 0xFE);
        a.inc(ah);
        a.dec(bl);
        a.cmp(__byte_ptr[ebx + 3], 5);
        a.add(__byte_ptr[ebx + 1], dh);
        a.sub(cl, __byte_ptr[ebx + 2]);
        a.mov(__byte_ptr[ebx + 7], ah);
        a.dec(__byte_ptr[ebx + 9]);
        if (bitness == 64)
        {
            a.add(sil, r9b);
            a.mov(dil, 3);
            a.and(__byte_ptr[rbx + rsi], r12b);
        }

        // Declined: a LOCK prefix, a segment register, a far jump.
        a.@lock.add(__dword_ptr[ebx], eax);
        a.mov(ax, ds);
        a.AddInstruction(Instruction.Create(Code.Jmp_m1632, new MemoryOperand(bitness == 64 ? Register.RBX : Register.EBX)));

        var labelTarget = a.CreateLabel();
        a.je(labelTarget);
        a.jne(labelTarget);
        a.jl(labelTarget);
        a.jg(labelTarget);
        a.jbe(labelTarget);
        a.jp(labelTarget);
        a.jmp(labelTarget);
        a.call(labelTarget);
        a.ret();
        a.ret(8);
        a.Label(ref labelTarget);
        a.nop();

        ulong origin = bitness == 16 ? 0 : TestMachine.CodeAddress;
        byte[] bytes = a.AssembleBytes(origin);
        var decoder = Decoder.Create(bitness, bytes, origin);
        var list = new List<Instruction>();
        while (decoder.IP < origin + (ulong)bytes.Length)
        {
            decoder.Decode(out var instruction);
            list.Add(instruction);
        }

        return list;
    }
}
