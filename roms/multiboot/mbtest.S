/*
 * mbtest.S - a Multiboot (version 1, spec 0.6.96) test kernel.
 *
 * One source, two builds (see ../Makefile):
 *   mbtest.elf       ELF32 i386 kernel linked at 1 MiB; the loader reads
 *                    the ELF program headers (header flag bit 16 clear).
 *   mbtest-aout.bin  flat binary built with -DAOUT_KLUDGE: header flag
 *                    bit 16 set and the address fields filled in, so the
 *                    loader needs nothing but the header to load it.
 *
 * The kernel checks what the boot loader handed over, prints a report on
 * COM1 (16550 UART at 0x3F8) and exits through the isa-debug-exit device
 * at I/O port 0xF4 by writing a 32-bit value:
 *   0  every check passed (or N if the command line contains "exit=N")
 *   1  EAX did not hold the loader magic 0x2BADB002
 *   2  the info structure has no mem_lower/mem_upper (flags bit 0 clear)
 *   3  the .bss was not zero-filled by the loader
 *   4  "exit=" on the command line is not a number in 0..127
 *   5  a module has end < start or is not page aligned (we asked for that)
 *   6  the memory map is malformed (entry size < 20) or has no RAM
 * QEMU (and the emulator) then exits with status (value << 1) | 1.
 *
 * Machine state on entry (Multiboot spec 3.2 "Machine state"): 32-bit
 * protected mode, paging off, interrupts off, flat CS/DS/ES/FS/GS/SS,
 * EAX = 0x2BADB002, EBX = physical address of the multiboot info.
 * ESP and GDTR are undefined, so we set up our own stack and GDT.
 */

/* ---- Multiboot header ------------------------------------------------- */

#define MB_HEADER_MAGIC         0x1BADB002
#define MB_LOADER_MAGIC         0x2BADB002
#define MB_PAGE_ALIGN           (1 << 0)   // align modules on 4 KiB
#define MB_MEMORY_INFO          (1 << 1)   // we want mem_* (and mmap_*)
#define MB_AOUT_KLUDGE          (1 << 16)  // address fields are valid

#ifdef AOUT_KLUDGE
#define MB_HEADER_FLAGS         (MB_PAGE_ALIGN | MB_MEMORY_INFO | MB_AOUT_KLUDGE)
#else
#define MB_HEADER_FLAGS         (MB_PAGE_ALIGN | MB_MEMORY_INFO)
#endif

/* multiboot_info fields (spec 3.3 "Boot information format") */
#define MBI_FLAGS               0
#define MBI_MEM_LOWER           4       // valid if flags bit 0
#define MBI_MEM_UPPER           8
#define MBI_CMDLINE             16      // valid if flags bit 2
#define MBI_MODS_COUNT          20      // valid if flags bit 3
#define MBI_MODS_ADDR           24
#define MBI_MMAP_LENGTH         44      // valid if flags bit 6
#define MBI_MMAP_ADDR           48
#define MBI_BOOT_LOADER_NAME    64      // valid if flags bit 9

#define MBI_FLAG_MEM            (1 << 0)
#define MBI_FLAG_CMDLINE        (1 << 2)
#define MBI_FLAG_MODS           (1 << 3)
#define MBI_FLAG_MMAP           (1 << 6)
#define MBI_FLAG_LOADER_NAME    (1 << 9)

/* module entry: 16 bytes */
#define MOD_START               0
#define MOD_END                 4
#define MOD_STRING              8
#define MOD_ENTRY_SIZE          16

/* memory map entry: "size" is at offset -4 relative to base_addr and does
 * not count itself; we point at the size field, so offsets are +4 */
#define MMAP_SIZE               0
#define MMAP_BASE_LOW           4
#define MMAP_BASE_HIGH          8
#define MMAP_LENGTH_LOW         12
#define MMAP_LENGTH_HIGH        16
#define MMAP_TYPE               20
#define MMAP_TYPE_AVAILABLE     1

/* exit values written to the isa-debug-exit port */
#define EXIT_OK                 0
#define EXIT_BAD_MAGIC          1
#define EXIT_NO_MEMINFO         2
#define EXIT_BSS_NOT_ZERO       3
#define EXIT_BAD_EXIT_ARG       4
#define EXIT_BAD_MODULE         5
#define EXIT_BAD_MMAP           6

#define DEBUG_EXIT_PORT         0xF4

/* COM1 16550 UART */
#define COM1_THR                0x3F8
#define COM1_IER                0x3F9
#define COM1_LCR                0x3FB
#define COM1_LSR                0x3FD
#define LSR_THR_EMPTY           0x20

#define CODE_SEL                0x08
#define DATA_SEL                0x10

/*
 * The header must be 32-bit aligned and lie within the first 8192 bytes
 * of the file; the linker script puts this section first.
 */
        .section .multiboot, "a"
        .p2align 2
mb_header:
        .long   MB_HEADER_MAGIC
        .long   MB_HEADER_FLAGS
        .long   -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)  // checksum: sum = 0
#ifdef AOUT_KLUDGE
        /* The a.out kludge (flags bit 16): physical addresses that tell
         * the loader where to put the file.  File offset 0 is loaded at
         * load_addr; header_addr lets the loader find that offset. */
        .long   mb_header       // header_addr: where this header ends up
        .long   _load_start     // load_addr: start of text (file offset 0)
        .long   _load_end       // load_end_addr: end of text + data
        .long   _bss_end        // bss_end_addr: loader zeroes up to here
        .long   mb_entry        // entry_addr: where to jump
#endif

/* ---- printing helper macro -------------------------------------------- */

/* PRINT "text": send a constant string (stored in .rodata) to COM1. */
        .macro PRINT str
        .pushsection .rodata
.Lmsg_\@:
        .asciz  "\str"
        .popsection
        pushl   %esi
        movl    $.Lmsg_\@, %esi
        call    puts
        popl    %esi
        .endm

/* ---- entry point -------------------------------------------------------- */

        .text
        .code32
        .globl  mb_entry
mb_entry:
        cli
        cld
        movl    %eax, %esi              // keep magic and info pointer in
        movl    %ebx, %edi              // registers until we have a stack

        /* Before touching memory: is all of .bss (including our stack)
         * zero, as the loader must guarantee?  EBP = first non-zero byte
         * address, or 0 if everything is clean. */
        xorl    %ebp, %ebp
        movl    $__bss_start, %edx
check_bss:
        cmpl    $_bss_end, %edx
        jae     check_bss_done
        cmpb    $0, (%edx)
        jne     bss_not_zero
        incl    %edx
        jmp     check_bss
bss_not_zero:
        movl    %edx, %ebp
check_bss_done:

        movl    $stack_top, %esp
        movl    %esi, boot_magic
        movl    %edi, mb_info
        movl    %ebp, bss_bad_addr

        /* Our own GDT: the loader's GDTR may point anywhere. */
        lgdt    gdt_desc
        ljmp    $CODE_SEL, $reload_segments
reload_segments:
        movw    $DATA_SEL, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %fs
        movw    %ax, %gs
        movw    %ax, %ss

        call    serial_init

/* ---- check 1: the loader magic ----------------------------------------- */
        cmpl    $MB_LOADER_MAGIC, boot_magic
        je      magic_ok
        PRINT   "mbtest: bad magic 0x"
        movl    boot_magic, %eax
        call    print_hex
        call    newline
        movl    $EXIT_BAD_MAGIC, %eax
        jmp     exit_failure
magic_ok:
        PRINT   "mbtest: magic ok\r\n"

/* ---- check 2: .bss was zeroed ------------------------------------------ */
        movl    bss_bad_addr, %eax
        testl   %eax, %eax
        jz      bss_ok
        PRINT   "mbtest: bss not zeroed at 0x"
        call    print_hex
        call    newline
        movl    $EXIT_BSS_NOT_ZERO, %eax
        jmp     exit_failure
bss_ok:
        PRINT   "mbtest: bss zeroed\r\n"

        movl    mb_info, %ebx           // EBX = multiboot_info for the rest
        PRINT   "mbtest: flags=0x"
        movl    MBI_FLAGS(%ebx), %eax
        call    print_hex
        call    newline

/* ---- check 3: basic memory information (flags bit 0) -------------------- */
        testl   $MBI_FLAG_MEM, MBI_FLAGS(%ebx)
        jnz     have_meminfo
        PRINT   "mbtest: no mem_lower/mem_upper\r\n"
        movl    $EXIT_NO_MEMINFO, %eax
        jmp     exit_failure
have_meminfo:
        PRINT   "mbtest: mem_lower="
        movl    MBI_MEM_LOWER(%ebx), %eax
        call    print_dec
        PRINT   "KB mem_upper="
        movl    MBI_MEM_UPPER(%ebx), %eax
        call    print_dec
        PRINT   "KB\r\n"

/* ---- boot loader name (flags bit 9), informational ---------------------- */
        testl   $MBI_FLAG_LOADER_NAME, MBI_FLAGS(%ebx)
        jz      no_loader_name
        PRINT   "mbtest: boot_loader_name="
        movl    MBI_BOOT_LOADER_NAME(%ebx), %esi
        call    puts
        call    newline
no_loader_name:

/* ---- command line (flags bit 2) and the exit=N option ------------------- */
        testl   $MBI_FLAG_CMDLINE, MBI_FLAGS(%ebx)
        jnz     have_cmdline
        PRINT   "mbtest: no cmdline\r\n"
        jmp     cmdline_done
have_cmdline:
        PRINT   "mbtest: cmdline="
        movl    MBI_CMDLINE(%ebx), %esi
        call    puts
        call    newline
        call    parse_exit_option       // may set exit_value or fail
cmdline_done:

/* ---- modules (flags bit 3) ---------------------------------------------- */
        testl   $MBI_FLAG_MODS, MBI_FLAGS(%ebx)
        jnz     have_modules
        PRINT   "mbtest: no modules\r\n"
        jmp     modules_done
have_modules:
        PRINT   "mbtest: mods_count="
        movl    MBI_MODS_COUNT(%ebx), %eax
        call    print_dec
        call    newline

        movl    MBI_MODS_ADDR(%ebx), %edi   // EDI = current module entry
        xorl    %ecx, %ecx                  // ECX = module index
module_loop:
        cmpl    MBI_MODS_COUNT(%ebx), %ecx
        jae     modules_done

        PRINT   "mbtest: module "
        movl    %ecx, %eax
        call    print_dec
        PRINT   " 0x"
        movl    MOD_START(%edi), %eax
        call    print_hex
        PRINT   "-0x"
        movl    MOD_END(%edi), %eax
        call    print_hex
        PRINT   " string="
        movl    MOD_STRING(%edi), %esi
        testl   %esi, %esi              // the string pointer may be 0
        jz      1f
        call    puts
1:      PRINT   " first="
        call    print_module_head
        call    newline

        movl    MOD_START(%edi), %eax   // sanity: start <= end and
        cmpl    MOD_END(%edi), %eax     // page aligned (header bit 0)
        ja      bad_module
        testl   $0xFFF, %eax
        jnz     bad_module

        addl    $MOD_ENTRY_SIZE, %edi
        incl    %ecx
        jmp     module_loop

bad_module:
        PRINT   "mbtest: module is not page aligned or ends before it starts\r\n"
        movl    $EXIT_BAD_MODULE, %eax
        jmp     exit_failure
modules_done:

/* ---- memory map (flags bit 6) ------------------------------------------- */
        testl   $MBI_FLAG_MMAP, MBI_FLAGS(%ebx)
        jnz     have_mmap
        PRINT   "mbtest: no mmap\r\n"
        jmp     mmap_done
have_mmap:
        call    walk_memory_map
mmap_done:

/* ---- all good ------------------------------------------------------------ */
        PRINT   "mbtest: all checks passed, exit value "
        movl    exit_value, %eax
        call    print_dec
        call    newline
        movl    exit_value, %eax
        jmp     exit_qemu

/* exit_failure: EAX = exit value. */
exit_failure:
        PRINT   "mbtest: FAILED, exit value "
        call    print_dec
        call    newline
        // fall through

/* exit_qemu: write EAX (32 bits) to isa-debug-exit; QEMU exits with
 * status (EAX << 1) | 1.  Halt in case there is no such device. */
exit_qemu:
        movw    $DEBUG_EXIT_PORT, %dx
        outl    %eax, %dx
halt_forever:
        cli
        hlt
        jmp     halt_forever

/* ---- subroutines ----------------------------------------------------------- */

/*
 * parse_exit_option: look for a word "exit=N" in the command line at ESI
 * (a word starts at the beginning of the string or after a space).  If
 * found, N (decimal, 0..127) becomes exit_value; anything else after
 * "exit=" is a failure (EXIT_BAD_EXIT_ARG).
 */
parse_exit_option:
        pushl   %eax
        pushl   %ecx
        pushl   %edx
        pushl   %esi
        movl    %esi, %edx              // EDX = start of the string
find_word:
        cmpb    $0, (%esi)
        je      parse_done              // end of string: no exit= option
        cmpl    %edx, %esi
        je      1f                      // at the start: a word begins
        cmpb    $' ', -1(%esi)
        jne     next_char               // not at the start of a word
1:      cmpb    $'e', 0(%esi)
        jne     next_char
        cmpb    $'x', 1(%esi)
        jne     next_char
        cmpb    $'i', 2(%esi)
        jne     next_char
        cmpb    $'t', 3(%esi)
        jne     next_char
        cmpb    $'=', 4(%esi)
        je      parse_number
next_char:
        incl    %esi
        jmp     find_word

parse_number:
        addl    $5, %esi                // skip "exit="
        xorl    %eax, %eax              // EAX = value so far
        xorl    %edx, %edx              // EDX = number of digits
digit_loop:
        cmpb    $0, (%esi)
        je      number_end
        cmpb    $' ', (%esi)
        je      number_end
        cmpb    $'0', (%esi)
        jb      bad_exit_option
        cmpb    $'9', (%esi)
        ja      bad_exit_option
        imull   $10, %eax, %eax         // value = value * 10 + digit
        movzbl  (%esi), %ecx
        subl    $'0', %ecx
        addl    %ecx, %eax
        incl    %edx
        cmpl    $3, %edx
        ja      bad_exit_option         // more than 3 digits
        incl    %esi
        jmp     digit_loop
number_end:
        testl   %edx, %edx
        jz      bad_exit_option         // "exit=" without digits
        cmpl    $127, %eax
        ja      bad_exit_option
        movl    %eax, exit_value
        PRINT   "mbtest: exit value from cmdline="
        call    print_dec
        call    newline
parse_done:
        popl    %esi
        popl    %edx
        popl    %ecx
        popl    %eax
        ret
bad_exit_option:
        PRINT   "mbtest: bad exit= option (want exit=0..127)\r\n"
        movl    $EXIT_BAD_EXIT_ARG, %eax
        jmp     exit_failure            // does not return

/*
 * print_module_head: print the first 8 bytes of the module whose entry is
 * at EDI (fewer if the module is shorter), non-printable bytes as '.'.
 */
print_module_head:
        pushl   %eax
        pushl   %ecx
        pushl   %esi
        movl    MOD_START(%edi), %esi
        movl    MOD_END(%edi), %ecx
        subl    %esi, %ecx              // ECX = module length
        jbe     3f                      // empty (or end < start)
        cmpl    $8, %ecx
        jbe     1f
        movl    $8, %ecx
1:      lodsb
        cmpb    $0x20, %al              // printable ASCII is 0x20..0x7E
        jb      2f
        cmpb    $0x7E, %al
        jbe     4f
2:      movb    $'.', %al
4:      call    putc
        loop    1b
3:      popl    %esi
        popl    %ecx
        popl    %eax
        ret

/*
 * walk_memory_map: EBX = multiboot_info.  Print every entry, count them
 * and add up the length of the available (type 1) ones.
 */
walk_memory_map:
        pushl   %eax
        pushl   %ecx
        pushl   %edx
        pushl   %esi
        pushl   %edi
        pushl   %ebp
        movl    MBI_MMAP_ADDR(%ebx), %esi   // ESI = current entry
        movl    %esi, %edi
        addl    MBI_MMAP_LENGTH(%ebx), %edi // EDI = end of the map
        xorl    %ecx, %ecx                  // ECX = number of entries
        xorl    %eax, %eax                  // EBP:EAX would be too many
        movl    %eax, avail_low             // registers; keep the 64-bit
        movl    %eax, avail_high            // sum in memory instead
mmap_loop:
        cmpl    %edi, %esi
        jae     mmap_end
        cmpl    $20, MMAP_SIZE(%esi)        // an entry is at least 20 bytes
        jb      bad_mmap                    // (base, length, type)

        PRINT   "mbtest: mmap base=0x"
        movl    MMAP_BASE_LOW(%esi), %eax
        movl    MMAP_BASE_HIGH(%esi), %edx
        call    print_hex64
        PRINT   " length=0x"
        movl    MMAP_LENGTH_LOW(%esi), %eax
        movl    MMAP_LENGTH_HIGH(%esi), %edx
        call    print_hex64
        PRINT   " type="
        movl    MMAP_TYPE(%esi), %eax
        call    print_dec
        call    newline

        cmpl    $MMAP_TYPE_AVAILABLE, MMAP_TYPE(%esi)
        jne     1f
        movl    MMAP_LENGTH_LOW(%esi), %eax // 64-bit add of the length
        movl    MMAP_LENGTH_HIGH(%esi), %edx
        addl    %eax, avail_low
        adcl    %edx, avail_high
1:      incl    %ecx
        movl    MMAP_SIZE(%esi), %eax       // next entry: size does not
        leal    4(%esi,%eax), %esi          // include the size field
        jmp     mmap_loop

mmap_end:
        PRINT   "mbtest: mmap entries="
        movl    %ecx, %eax
        call    print_dec
        call    newline

        // bytes -> KiB: shift the 64-bit sum right by 10 (fits in 32 bits
        // for anything below 4 TiB)
        movl    avail_low, %eax
        movl    avail_high, %edx
        shrl    $10, %eax
        shll    $22, %edx
        orl     %edx, %eax
        testl   %eax, %eax
        jz      bad_mmap                    // no usable RAM at all?
        PRINT   "mbtest: mmap available="
        call    print_dec
        PRINT   "KB\r\n"

        popl    %ebp
        popl    %edi
        popl    %esi
        popl    %edx
        popl    %ecx
        popl    %eax
        ret
bad_mmap:
        PRINT   "mbtest: memory map is malformed or has no available RAM\r\n"
        movl    $EXIT_BAD_MMAP, %eax
        jmp     exit_failure                // does not return

/* serial_init: minimal 16550 setup: no interrupts, 8N1 (LCR = 3). */
serial_init:
        pushl   %eax
        pushl   %edx
        movw    $COM1_IER, %dx
        movb    $0x00, %al
        outb    %al, %dx
        movw    $COM1_LCR, %dx
        movb    $0x03, %al
        outb    %al, %dx
        popl    %edx
        popl    %eax
        ret

/* putc: send AL to COM1, waiting until the transmitter is ready. */
putc:
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

/* puts: send the NUL-terminated string at ESI to COM1. */
puts:
        pushl   %eax
        pushl   %esi
1:      lodsb
        testb   %al, %al
        jz      2f
        call    putc
        jmp     1b
2:      popl    %esi
        popl    %eax
        ret

/* newline: send "\r\n". */
newline:
        PRINT   "\r\n"
        ret

/* print_hex: print EAX in lower-case hex without leading zeros. */
print_hex:
        pushl   %eax
        pushl   %ebx
        pushl   %ecx
        pushl   %edx
        movl    %eax, %edx              // EDX = value, top nibble first
        movl    $8, %ecx
        xorl    %ebx, %ebx              // BL = 1 once a digit was printed
1:      roll    $4, %edx
        movb    %dl, %al
        andb    $0x0F, %al
        testb   %bl, %bl
        jnz     2f
        testb   %al, %al
        jnz     2f
        cmpl    $1, %ecx                // the last digit is always printed
        jne     4f
2:      movb    $1, %bl
        cmpb    $10, %al
        jb      3f
        addb    $('a' - '0' - 10), %al
3:      addb    $'0', %al
        call    putc
4:      loop    1b
        popl    %edx
        popl    %ecx
        popl    %ebx
        popl    %eax
        ret

/* print_hex64: print EDX:EAX in hex without leading zeros. */
print_hex64:
        testl   %edx, %edx
        jz      print_hex               // high half 0: plain 32-bit print
        pushl   %eax
        movl    %edx, %eax
        call    print_hex               // high half, no leading zeros
        popl    %eax
        pushl   %eax                    // low half, all 8 digits
        pushl   %ecx
        pushl   %edx
        movl    %eax, %edx
        movl    $8, %ecx
1:      roll    $4, %edx
        movb    %dl, %al
        andb    $0x0F, %al
        cmpb    $10, %al
        jb      2f
        addb    $('a' - '0' - 10), %al
2:      addb    $'0', %al
        call    putc
        loop    1b
        popl    %edx
        popl    %ecx
        popl    %eax
        ret

/* print_dec: print EAX as an unsigned decimal number. */
print_dec:
        pushl   %eax
        pushl   %ecx
        pushl   %edx
        pushl   %ebx
        movl    $10, %ebx
        xorl    %ecx, %ecx              // ECX = number of digits pushed
1:      xorl    %edx, %edx
        divl    %ebx                    // EAX = EDX:EAX / 10, EDX = digit
        addl    $'0', %edx
        pushl   %edx                    // digits come out lowest first,
        incl    %ecx                    // so stack them up...
        testl   %eax, %eax
        jnz     1b
2:      popl    %eax                    // ...and print them in reverse
        call    putc
        loop    2b
        popl    %ebx
        popl    %edx
        popl    %ecx
        popl    %eax
        ret

/* ---- data ------------------------------------------------------------------ */

        .section .rodata
        .p2align 3
gdt:
        .quad   0x0000000000000000      // 0x00: null
        .quad   0x00CF9A000000FFFF      // 0x08: flat 32-bit code, DPL 0
        .quad   0x00CF92000000FFFF      // 0x10: flat 32-bit data, DPL 0
gdt_end:
gdt_desc:
        .word   gdt_end - gdt - 1
        .long   gdt

        .bss
        .p2align 4
boot_magic:     .space 4        // EAX at entry
mb_info:        .space 4        // EBX at entry
bss_bad_addr:   .space 4        // first non-zero .bss byte, or 0
exit_value:     .space 4        // value for the isa-debug-exit port
avail_low:      .space 4        // sum of available RAM (bytes, 64-bit)
avail_high:     .space 4
        .p2align 4
stack_bottom:   .space 16384
stack_top:

        .section .note.GNU-stack, "", @progbits
