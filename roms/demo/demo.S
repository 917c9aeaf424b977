/*
 * demo.S - a tiny 64 KiB firmware ROM that walks an x86-64 CPU from the
 * reset vector through real mode, 32-bit protected mode and 64-bit long
 * mode, then takes and recovers from a #UD and a #PF exception.
 *
 * Everything it has to say goes out on COM1 (a 16550 UART at I/O 0x3F8).
 * When all checks pass it writes "Shutdown" to the Bochs/APM power-off
 * port 0x8900; if the machine is still running after that, it writes 0
 * to the isa-debug-exit port 0xF4 (QEMU: exit status 1) and halts.  On a
 * failure it writes 1 to port 0xF4 (QEMU: exit status 3) and halts.
 *
 * Memory map assumed by the ROM (the machine provides nothing else):
 *   0xFFFF0000-0xFFFFFFFF  this ROM (the CPU fetches the reset vector here)
 *   0x000F0000-0x000FFFFF  the same ROM again, reachable from real mode
 *   0x00000000-...         RAM (at least 16 MiB), completely uninitialized
 *
 * RAM used by the demo (all below 64 KiB, so real mode can reach it too):
 *   0x0500-0x051F  a few 8-byte variables (exception counters etc.)
 *   0x1000         PML4  (page-map level 4)
 *   0x2000         PDPT  (page-directory-pointer table)
 *   0x3000         PD    (page directory: 512 x 2 MiB = first 1 GiB)
 *   0x4000         IDT   (256 x 16-byte gates, only vectors 0-31 filled)
 *   0x5000         PD built by the #PF handler for the 1 GiB..2 GiB range
 *   0x6000-0x6FFF  stack (grows down from 0x7000)
 *   0x8000         a magic value read back through the #PF mapping
 *
 * The ROM is linked at 0xF0000 (see demo.ld), i.e. every label's value is
 * its linear address in the low copy.  16-bit code runs with CS = 0xF000,
 * so it uses "label - rom_base" (the offset within the segment); 32-bit and
 * 64-bit code use flat segments with base 0, so they use labels directly.
 *
 * References are to the Intel 64 and IA-32 Architectures Software
 * Developer's Manual (SDM), volume 3A, numbered as in the 2016-2023
 * editions (the section titles are stable if your edition numbers differ).
 */

/* ---- constants ------------------------------------------------------- */

// COM1 16550 UART registers (I/O ports)
#define COM1_THR        0x3F8   // transmit holding register (write)
#define COM1_IER        0x3F9   // interrupt enable register
#define COM1_LCR        0x3FB   // line control register
#define COM1_LSR        0x3FD   // line status register
#define LSR_THR_EMPTY   0x20    // LSR bit 5: THR can take another byte

#define SHUTDOWN_PORT   0x8900  // Bochs/APM: write "Shutdown" to power off
#define DEBUG_EXIT_PORT 0xF4    // isa-debug-exit: pass/fail for QEMU

// GDT selectors (index * 8, TI = 0, RPL = 0); see the GDT at the end
#define CODE32_SEL      0x08
#define DATA_SEL        0x10
#define CODE64_SEL      0x18

// RAM layout (see the table above)
#define VAR_UD_COUNT    0x500   // number of #UD exceptions taken
#define VAR_UD_RIP      0x508   // RIP the #UD handler saw
#define VAR_PF_COUNT    0x510   // number of #PF exceptions taken
#define PML4_ADDR       0x1000
#define PDPT_ADDR       0x2000
#define PD_ADDR         0x3000
#define IDT_ADDR        0x4000
#define PD_ALIAS_ADDR   0x5000
#define STACK_TOP       0x7000
#define MAGIC_ADDR      0x8000

#define MAGIC_VALUE     0x600DF00D
// 1 GiB + 0x8000: just above the identity map, so not present at first.
// The #PF handler maps 1 GiB..2 GiB onto physical 0..1 GiB, after which
// this address reads the magic value stored at physical MAGIC_ADDR.
#define FAULT_ADDR      0x40008000

// page-table entry bits (SDM 4.5, tables 4-14 to 4-19)
#define PTE_P           0x001   // present
#define PTE_RW          0x002   // writable
#define PTE_PS          0x080   // page size: this PDE maps a 2 MiB page

// control register / MSR bits
#define CR0_PE          0x00000001      // protection enable
#define CR0_PG          0x80000000      // paging
#define CR4_PAE         0x00000020      // physical address extension
#define MSR_EFER        0xC0000080      // extended feature enable register
#define EFER_LME        0x00000100      // long mode enable (bit 8)
#define EFER_LMA        0x00000400      // long mode active (bit 10, read-only)

        .section .rom, "ax"
rom_base:                       // offset 0 of the image = linear 0xF0000

/* ======================================================================
 * 16-bit real mode
 * ====================================================================== */
        .code16

/*
 * We arrive here from the reset vector (at the end of the file) with
 * CS = 0xF000, so IP = offset within the ROM.  Nothing is set up yet:
 * no stack, DS/ES/SS hold 0 (base 0), interrupts are disabled by the cli
 * at the reset vector and there is no BIOS.
 */
start16:
        cld                             // string instructions count upward

        xorw    %ax, %ax                // stack at 0000:7000, in RAM
        movw    %ax, %ss
        movw    $STACK_TOP, %sp

        movw    %cs, %ax                // DS = 0xF000: data lives in the ROM
        movw    %ax, %ds

        call    serial_init16
        movw    $(msg_real - rom_base), %si
        call    puts16

/*
 * Switch to protected mode, SDM 9.9.1 "Switching to Protected Mode":
 *   1. disable interrupts (done: cli at the reset vector; we have no IDT)
 *   2. LGDT with a GDT holding at least a code and a data descriptor
 *   3. set CR0.PE
 *   4. immediately far JMP to load CS with a protected-mode code selector
 *      (this also discards instructions fetched in real mode)
 *   5. load the data segment registers (done in start32)
 * The 0x66 operand-size prefix ("lgdtl") makes LGDT load a full 32-bit
 * base; the GDT is in the ROM, below 1 MiB, so either form would do.
 */
        lgdtl   (gdt_desc - rom_base)   // DS:offset -> linear 0xF0000+offset

        movl    %cr0, %eax
        orl     $CR0_PE, %eax
        movl    %eax, %cr0

        // ljmpl = 0x66 prefix: 32-bit offset.  start32 is a linear address
        // and the CODE32 segment has base 0.
        ljmpl   $CODE32_SEL, $start32

/* serial_init16: minimal 16550 setup: no interrupts, 8 data bits, no
 * parity, 1 stop bit (LCR = 3).  The baud-rate divisor is left as is;
 * an emulated UART does not care. */
serial_init16:
        movw    $COM1_IER, %dx
        movb    $0x00, %al
        outb    %al, %dx
        movw    $COM1_LCR, %dx
        movb    $0x03, %al
        outb    %al, %dx
        ret

/* putc16: send AL to COM1, waiting until the transmitter is ready. */
putc16:
        pushw   %dx
        pushw   %ax
        movw    $COM1_LSR, %dx
1:      inb     %dx, %al
        testb   $LSR_THR_EMPTY, %al
        jz      1b                      // THR still busy: poll again
        popw    %ax
        movw    $COM1_THR, %dx
        outb    %al, %dx
        popw    %dx
        ret

/* puts16: send the NUL-terminated string at DS:SI to COM1. */
puts16:
        pushw   %ax
        pushw   %si
1:      lodsb                           // AL = [DS:SI], SI++
        testb   %al, %al
        jz      2f
        call    putc16
        jmp     1b
2:      popw    %si
        popw    %ax
        ret

/* ======================================================================
 * 32-bit protected mode (paging off, flat 4 GiB segments)
 * ====================================================================== */
        .code32

start32:
        movw    $DATA_SEL, %ax          // SDM 9.9.1 step 9: reload the data
        movw    %ax, %ds                // segment registers with the flat
        movw    %ax, %es                // data descriptor
        movw    %ax, %fs
        movw    %ax, %gs
        movw    %ax, %ss
        movl    $STACK_TOP, %esp        // same stack, now with base 0

        movl    $msg_prot, %esi
        call    puts32

/*
 * Does the CPU support long mode?  CPUID leaf 0x80000001, EDX bit 29 (LM)
 * (SDM vol. 2A, CPUID).  First check that the extended leaf exists.
 */
        movl    $0x80000000, %eax
        cpuid
        cmpl    $0x80000001, %eax
        jb      no_long_mode
        movl    $0x80000001, %eax
        cpuid
        testl   $(1 << 29), %edx
        jz      no_long_mode

/*
 * Build identity-mapped 4-level page tables (SDM 4.5 "4-Level Paging"):
 *   PML4[0] -> PDPT, PDPT[0] -> PD, PD[i] = 2 MiB page at i * 2 MiB,
 * which maps linear 0..1 GiB to physical 0..1 GiB.  Everything else
 * (in particular 1 GiB and up) stays not-present.
 */
        movl    $PML4_ADDR, %edi        // zero the three tables (12 KiB)
        xorl    %eax, %eax
        movl    $(3 * 4096 / 4), %ecx
        rep stosl

        movl    $(PDPT_ADDR | PTE_P | PTE_RW), PML4_ADDR
        movl    $(PD_ADDR | PTE_P | PTE_RW), PDPT_ADDR

        movl    $PD_ADDR, %edi
        movl    $(PTE_P | PTE_RW | PTE_PS), %eax  // physical 0, 2 MiB page
        movl    $512, %ecx
fill_pd:
        movl    %eax, (%edi)            // low half of the 8-byte entry; the
                                        // high half is already 0
        addl    $0x200000, %eax         // next 2 MiB
        addl    $8, %edi
        loop    fill_pd

/*
 * Enter IA-32e (long) mode, SDM 9.8.5 "Initializing IA-32e Mode":
 *   1. be in protected mode with paging off (we are)
 *   2. set CR4.PAE
 *   3. load CR3 with the physical address of the PML4
 *   4. set IA32_EFER.LME (MSR 0xC0000080, bit 8)
 *   5. set CR0.PG; the CPU now sets EFER.LMA and runs in compatibility
 *      mode (we still have a 32-bit CS)
 *   6. far jump to a code segment with L = 1 to reach 64-bit mode
 * This code is identity mapped, so the instruction after the MOV to CR0
 * is fetched from the same address with paging on.
 */
        movl    %cr4, %eax
        orl     $CR4_PAE, %eax
        movl    %eax, %cr4

        movl    $PML4_ADDR, %eax
        movl    %eax, %cr3

        movl    $MSR_EFER, %ecx
        rdmsr                           // EDX:EAX = EFER
        orl     $EFER_LME, %eax
        wrmsr

        movl    %cr0, %eax
        orl     $CR0_PG, %eax
        movl    %eax, %cr0

        ljmp    $CODE64_SEL, $start64

no_long_mode:
        movl    $msg_no_lm, %esi
        call    puts32
        movl    $1, %eax                // report failure if the machine
        movw    $DEBUG_EXIT_PORT, %dx   // has an isa-debug-exit device
        outl    %eax, %dx
1:      cli
        hlt
        jmp     1b

/* putc32: send AL to COM1, waiting until the transmitter is ready. */
putc32:
        pushl   %edx
        pushl   %eax
        movw    $COM1_LSR, %dx
1:      inb     %dx, %al
        testb   $LSR_THR_EMPTY, %al
        jz      1b
        popl    %eax
        movw    $COM1_THR, %dx
        outb    %al, %dx
        popl    %edx
        ret

/* puts32: send the NUL-terminated string at ESI to COM1. */
puts32:
        pushl   %eax
        pushl   %esi
1:      lodsb
        testb   %al, %al
        jz      2f
        call    putc32
        jmp     1b
2:      popl    %esi
        popl    %eax
        ret

/* ======================================================================
 * 64-bit long mode
 * ====================================================================== */
        .code64

start64:
        // In 64-bit mode DS/ES/SS bases are ignored (treated as 0), but
        // loading them with a valid selector keeps IRETQ happy with SS.
        movw    $DATA_SEL, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        movl    $STACK_TOP, %esp        // writing ESP zero-extends into RSP

        movl    $msg_long, %esi
        call    puts64

        // Paranoia: EFER.LMA must now read as 1.
        movl    $MSR_EFER, %ecx
        rdmsr
        testl   $EFER_LMA, %eax
        movl    $msg_fail_lma, %esi
        jz      fail64

        xorl    %eax, %eax              // clear the counters
        movq    %rax, VAR_UD_COUNT
        movq    %rax, VAR_UD_RIP
        movq    %rax, VAR_PF_COUNT

/*
 * Build the 64-bit IDT (SDM 6.14.1 "64-Bit Mode IDT").  Each gate is
 * 16 bytes:
 *   bytes 0-1   handler offset bits 15:0
 *   bytes 2-3   code segment selector
 *   byte  4     IST index (0 = no stack switch)
 *   byte  5     P=1, DPL=0, type 0xE (64-bit interrupt gate) -> 0x8E
 *   bytes 6-7   offset bits 31:16
 *   bytes 8-11  offset bits 63:32
 *   bytes 12-15 reserved (0)
 * Vectors 0-31 (the exceptions) all get a stub; 32-255 stay not-present.
 */
        movl    $IDT_ADDR, %edi         // zero the whole 4 KiB IDT
        xorl    %eax, %eax
        movl    $(4096 / 4), %ecx
        rep stosl

        movl    $IDT_ADDR, %edi
        movl    $isr_stub_table, %esi
        movl    $32, %ecx
fill_idt:
        movq    (%rsi), %rax            // handler address
        movw    %ax, (%rdi)             // offset 15:0
        movw    $CODE64_SEL, 2(%rdi)
        movw    $0x8E00, 4(%rdi)        // IST = 0, P/DPL/type = 0x8E
        shrq    $16, %rax
        movw    %ax, 6(%rdi)            // offset 31:16
        shrq    $16, %rax
        movl    %eax, 8(%rdi)           // offset 63:32
        movl    $0, 12(%rdi)
        addq    $8, %rsi
        addq    $16, %rdi
        loop    fill_idt                // RCX-- until 0

        lidt    idt_desc

/* ---- test 1: an invalid opcode --------------------------------------- */
/*
 * UD2 always raises #UD (vector 6, a fault: the saved RIP points at the
 * UD2 itself).  The handler prints that RIP and moves it past the 2-byte
 * instruction, so execution continues right after it.
 */
ud2_site:
        ud2
after_ud2:
        movl    $msg_fail_ud, %esi
        cmpq    $1, VAR_UD_COUNT        // exactly one #UD taken...
        jne     fail64
        movl    $ud2_site, %eax
        cmpq    %rax, VAR_UD_RIP        // ...reported at the UD2
        jne     fail64

/* ---- test 2: a page fault --------------------------------------------- */
/*
 * Reading FAULT_ADDR (1 GiB + 0x8000) hits a not-present PDPT entry, so
 * #PF (vector 14) is raised with CR2 = FAULT_ADDR.  The handler maps the
 * page and returns to the same MOV, which is then retried and succeeds.
 */
        movl    $MAGIC_VALUE, MAGIC_ADDR  // store the value to look for
        movl    $FAULT_ADDR, %ebx
        movl    (%rbx), %eax            // faults once, then reads the magic

        movl    $msg_fail_pf, %esi
        cmpl    $MAGIC_VALUE, %eax
        jne     fail64
        cmpq    $1, VAR_PF_COUNT
        jne     fail64

        pushq   %rax
        movl    $msg_readback, %esi
        call    puts64
        movl    %ebx, %eax
        call    print_hex64
        movl    $msg_readback_2, %esi
        call    puts64
        popq    %rax
        call    print_hex64
        call    newline64

/* ---- done -------------------------------------------------------------- */
        movl    $msg_passed, %esi
        call    puts64

        // Power off: write "Shutdown" byte by byte to port 0x8900.
        movl    $shutdown_string, %esi
        movw    $SHUTDOWN_PORT, %dx
1:      lodsb
        testb   %al, %al
        jz      2f
        outb    %al, %dx
        jmp     1b

        // Still running (QEMU ignores port 0x8900)?  Report success (0)
        // on the isa-debug-exit port, if the machine has one: QEMU then
        // exits with status 1.  Otherwise just halt.
2:      xorl    %eax, %eax
        movw    $DEBUG_EXIT_PORT, %dx
        outl    %eax, %dx

halt_forever:                           // if nothing powered us off
        cli
        hlt
        jmp     halt_forever

/* fail64: print "demo: FAILED: " and the message at RSI, signal failure
 * on the isa-debug-exit port (if there is one), then halt. */
fail64:
        pushq   %rsi
        movl    $msg_failed, %esi
        call    puts64
        popq    %rsi
        call    puts64
        movl    $1, %eax
        movw    $DEBUG_EXIT_PORT, %dx
        outl    %eax, %dx
        jmp     halt_forever

/* ---- exception entry stubs -------------------------------------------- */
/*
 * On an exception in 64-bit mode at CPL 0 the CPU pushes (SDM 6.14.2,
 * figure 6-9) SS, RSP, RFLAGS, CS, RIP and, for some vectors, an error
 * code.  To give every handler the same frame, stubs for vectors without
 * an error code push a dummy 0, then every stub pushes its vector number
 * and jumps to isr_common.  Vectors with an error code (SDM 6.15):
 * 8 #DF, 10 #TS, 11 #NP, 12 #SS, 13 #GP, 14 #PF, 17 #AC, 21 #CP,
 * 29 #VC, 30 #SX.
 */
        .macro ISR_NOERR vec
isr_\vec:
        pushq   $0                      // dummy error code
        pushq   $\vec
        jmp     isr_common
        .endm

        .macro ISR_ERR vec
isr_\vec:
        pushq   $\vec                   // CPU already pushed the error code
        jmp     isr_common
        .endm

        .irp v, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,31
        ISR_NOERR \v
        .endr
        .irp v, 8,10,11,12,13,14,17,21,29,30
        ISR_ERR \v
        .endr

/*
 * isr_common: save all general registers, then dispatch on the vector.
 * Stack layout after the 15 pushes (offsets from RSP):
 */
#define FRAME_VECTOR    120
#define FRAME_ERROR     128
#define FRAME_RIP       136     // pushed by the CPU from here on
#define FRAME_CS        144
#define FRAME_RFLAGS    152
#define FRAME_RSP       160
#define FRAME_SS        168

isr_common:
        pushq   %rax
        pushq   %rbx
        pushq   %rcx
        pushq   %rdx
        pushq   %rsi
        pushq   %rdi
        pushq   %rbp
        pushq   %r8
        pushq   %r9
        pushq   %r10
        pushq   %r11
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15

        movq    FRAME_VECTOR(%rsp), %rax
        cmpq    $6, %rax
        je      handle_ud
        cmpq    $13, %rax
        je      handle_gp
        cmpq    $14, %rax
        je      handle_pf
        jmp     handle_unexpected

isr_return:
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %r11
        popq    %r10
        popq    %r9
        popq    %r8
        popq    %rbp
        popq    %rdi
        popq    %rsi
        popq    %rdx
        popq    %rcx
        popq    %rbx
        popq    %rax
        addq    $16, %rsp               // drop vector number and error code
        iretq                           // pops RIP, CS, RFLAGS, RSP, SS

/* #UD, vector 6 (SDM 6.15 "Interrupt 6"): report, then skip the UD2. */
handle_ud:
        movl    $msg_ud, %esi
        call    puts64
        movq    FRAME_RIP(%rsp), %rax
        call    print_hex64
        call    newline64

        movq    %rax, VAR_UD_RIP
        incq    VAR_UD_COUNT
        addq    $2, FRAME_RIP(%rsp)     // UD2 is 2 bytes (0F 0B)
        jmp     isr_return

/*
 * #PF, vector 14 (SDM 6.15 "Interrupt 14", 4.7 "Page-Fault Exceptions"):
 * CR2 holds the faulting linear address; the error code says why
 * (bit 0 P: 0 = not present, bit 1 W/R: 1 = write, bit 2 U/S: 1 = user,
 * bit 4 I/D: instruction fetch).
 */
handle_pf:
        movq    %cr2, %rbx
        movl    $msg_pf, %esi
        call    puts64
        movq    %rbx, %rax
        call    print_hex64
        movl    $msg_pf_error, %esi
        call    puts64
        movq    FRAME_ERROR(%rsp), %rax
        call    print_hex64
        call    newline64

        incq    VAR_PF_COUNT
        movl    $msg_fail_pf_again, %esi
        cmpq    $1, VAR_PF_COUNT        // a second fault means the mapping
        jne     fail64                  // did not help: give up
        movq    %rbx, %rax
        shrq    $30, %rax               // only 1 GiB..2 GiB is expected
        cmpq    $1, %rax
        movl    $msg_fail_pf_addr, %esi
        jne     fail64

        /*
         * Fix it: a new page directory for PDPT[1] (linear 1..2 GiB) whose
         * entry for the faulting 2 MiB region points to physical
         * (CR2 - 1 GiB) rounded down to 2 MiB, i.e. an alias of low RAM.
         */
        movl    $PD_ALIAS_ADDR, %edi    // zero the new PD
        xorl    %eax, %eax
        movl    $(4096 / 4), %ecx
        rep stosl

        movq    %rbx, %rax
        shrq    $21, %rax
        andl    $511, %eax              // RAX = PD index of CR2
        movq    %rax, %rdx
        shlq    $21, %rdx               // RDX = physical 2 MiB frame
        orq     $(PTE_P | PTE_RW | PTE_PS), %rdx
        movq    %rdx, PD_ALIAS_ADDR(,%rax,8)
        movq    $(PD_ALIAS_ADDR | PTE_P | PTE_RW), PDPT_ADDR + 8

        /*
         * A not-present entry is never cached in the TLB and the #PF
         * itself invalidates the faulting address (SDM 4.10.4.1 and
         * 4.10.4.3), so no flush is strictly needed; reloading CR3 is
         * cheap insurance.
         */
        movq    %cr3, %rax
        movq    %rax, %cr3

        movl    $msg_pf_mapped, %esi
        call    puts64
        movq    %rbx, %rax
        andq    $~0x1FFFFF, %rax        // start of the 2 MiB page
        call    print_hex64
        movl    $msg_pf_mapped_2, %esi
        call    puts64
        andq    $~0x1FFFFF, %rdx
        movq    %rdx, %rax
        call    print_hex64
        movl    $msg_pf_mapped_3, %esi
        call    puts64

        jmp     isr_return              // RIP unchanged: retry the access

/* #GP, vector 13: not expected in this demo; report and stop. */
handle_gp:
        movl    $msg_gp, %esi
        call    puts64
        movq    FRAME_ERROR(%rsp), %rax
        call    print_hex64
        movl    $msg_at_rip, %esi
        call    puts64
        movq    FRAME_RIP(%rsp), %rax
        call    print_hex64
        call    newline64
        movl    $msg_fail_exception, %esi
        jmp     fail64

/* Any other exception: print vector, error code and RIP, then stop. */
handle_unexpected:
        movl    $msg_unexpected, %esi
        call    puts64
        movq    FRAME_VECTOR(%rsp), %rax
        call    print_hex64
        movl    $msg_error, %esi
        call    puts64
        movq    FRAME_ERROR(%rsp), %rax
        call    print_hex64
        movl    $msg_at_rip, %esi
        call    puts64
        movq    FRAME_RIP(%rsp), %rax
        call    print_hex64
        call    newline64
        movl    $msg_fail_exception, %esi
        jmp     fail64

/* ---- 64-bit serial output helpers -------------------------------------- */

/* putc64: send AL to COM1, waiting until the transmitter is ready. */
putc64:
        pushq   %rdx
        pushq   %rax
        movw    $COM1_LSR, %dx
1:      inb     %dx, %al
        testb   $LSR_THR_EMPTY, %al
        jz      1b
        popq    %rax
        movw    $COM1_THR, %dx
        outb    %al, %dx
        popq    %rdx
        ret

/* puts64: send the NUL-terminated string at RSI to COM1. */
puts64:
        pushq   %rax
        pushq   %rsi
1:      lodsb
        testb   %al, %al
        jz      2f
        call    putc64
        jmp     1b
2:      popq    %rsi
        popq    %rax
        ret

/* newline64: send "\r\n". */
newline64:
        pushq   %rsi
        movl    $msg_crlf, %esi
        call    puts64
        popq    %rsi
        ret

/* print_hex64: print RAX in lower-case hex without leading zeros
 * (at least one digit).  All registers are preserved. */
print_hex64:
        pushq   %rax
        pushq   %rbx
        pushq   %rcx
        pushq   %rdx
        movq    %rax, %rdx              // RDX = value, top nibble first
        movl    $16, %ecx               // 16 nibbles
        xorl    %ebx, %ebx              // BL = 1 once a digit was printed
1:      rolq    $4, %rdx                // bring the next nibble to the bottom
        movb    %dl, %al
        andb    $0x0F, %al
        testb   %bl, %bl
        jnz     2f                      // already printing: print all
        testb   %al, %al
        jnz     2f                      // first non-zero nibble
        cmpl    $1, %ecx
        jne     4f                      // leading zero: skip it
2:      movb    $1, %bl                 // (last nibble is always printed)
        cmpb    $10, %al
        jb      3f
        addb    $('a' - '0' - 10), %al
3:      addb    $'0', %al
        call    putc64
4:      loop    1b
        popq    %rdx
        popq    %rcx
        popq    %rbx
        popq    %rax
        ret

/* ======================================================================
 * Read-only data (in the ROM)
 * ====================================================================== */

msg_real:       .asciz "demo: real mode\r\n"
msg_prot:       .asciz "demo: protected mode (32-bit)\r\n"
msg_no_lm:      .asciz "demo: FAILED: CPU does not support long mode\r\n"
msg_long:       .asciz "demo: long mode (64-bit)\r\n"
msg_ud:         .asciz "demo: caught #UD at 0x"
msg_pf:         .asciz "demo: caught #PF at cr2=0x"
msg_pf_error:   .asciz " error=0x"
msg_pf_mapped:  .asciz "demo: #PF handler mapped 2 MiB page 0x"
msg_pf_mapped_2: .asciz " -> phys 0x"
msg_pf_mapped_3: .asciz ", retrying\r\n"
msg_readback:   .asciz "demo: read at 0x"
msg_readback_2: .asciz " after the fault: 0x"
msg_gp:         .asciz "demo: caught #GP error=0x"
msg_unexpected: .asciz "demo: unexpected exception vector=0x"
msg_error:      .asciz " error=0x"
msg_at_rip:     .asciz " rip=0x"
msg_passed:     .asciz "demo: all checks passed\r\n"
msg_failed:     .asciz "demo: FAILED: "
msg_fail_lma:   .asciz "EFER.LMA is not set\r\n"
msg_fail_ud:    .asciz "#UD was not handled as expected\r\n"
msg_fail_pf:    .asciz "#PF was not handled as expected\r\n"
msg_fail_pf_again: .asciz "#PF repeated after mapping the page\r\n"
msg_fail_pf_addr: .asciz "#PF at an unexpected address\r\n"
msg_fail_exception: .asciz "unexpected exception\r\n"
msg_crlf:       .asciz "\r\n"
shutdown_string: .asciz "Shutdown"

/* Addresses of the 32 exception stubs, used to fill the IDT. */
        .p2align 3
isr_stub_table:
        .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        .quad   isr_\v
        .endr

/* IDTR image for LIDT in 64-bit mode: 16-bit limit, 64-bit base. */
idt_desc:
        .word   256 * 16 - 1
        .quad   IDT_ADDR

/*
 * The GDT (SDM 3.4.5 "Segment Descriptors", 5.2.1 for the L bit).
 * Base 0 and limit 0xFFFFF with G = 1 (4 KiB units) make flat 4 GiB
 * segments.  Access byte 0x9B = present, DPL 0, code, execute/read,
 * accessed; 0x93 = present, DPL 0, data, read/write, accessed.  Flags
 * nibble 0xC = G, D/B (32-bit); 0xA = G, L (64-bit code, D must be 0).
 * The "accessed" bit is preset because this GDT lives in ROM: otherwise
 * the CPU would try to set it (a memory write) when loading a segment.
 */
        .p2align 3
gdt:
        .quad   0x0000000000000000      // 0x00: null descriptor
        .quad   0x00CF9B000000FFFF      // 0x08: 32-bit code
        .quad   0x00CF93000000FFFF      // 0x10: data (32-bit / flat)
        .quad   0x00AF9B000000FFFF      // 0x18: 64-bit code
gdt_end:

/* GDTR image for LGDT: 16-bit limit, 32-bit linear base. */
gdt_desc:
        .word   gdt_end - gdt - 1
        .long   gdt

/* ======================================================================
 * Reset vector: the last 16 bytes of the ROM (linear 0xFFFFFFF0)
 * ====================================================================== */
/*
 * After reset (SDM 9.1.4 "First Instruction Executed") CS.selector =
 * 0xF000 but CS.base = 0xFFFF0000 and IP = 0xFFF0, so the CPU fetches
 * from 0xFFFFFFF0 even though it is in real mode.  The first far jump
 * reloads CS the real-mode way (base = 0xF000 * 16 = 0xF0000), after
 * which we run from the copy of the ROM below 1 MiB.
 */
        .code16
        .org    0xFFF0
        .globl  reset_vector
reset_vector:
        cli                             // no interrupts: there is no IVT
        ljmp    $0xF000, $(start16 - rom_base)

        .org    0x10000                 // pad the image to exactly 64 KiB
