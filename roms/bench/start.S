/*
 * Multiboot (0.6.96) entry for the guest benchmarks: the loader enters in 32-bit protected mode
 * with paging off, EAX = 0x2BADB002 and EBX = the information structure (section 3.2).
 * We set a stack, call bench_main(info) and report its result through isa-debug-exit (port 0xf4:
 * the emulator exits with (value << 1) | 1), then halt.
 */
    .section .multiboot, "a"
    .align 4
    .long 0x1BADB002            /* magic */
    .long 0x00000003            /* flags: page-align modules, memory information */
    .long -(0x1BADB002 + 0x3)   /* checksum */

    .text
    .code32
    .globl _start
_start:
    cli
    mov $stack_top, %esp
    push %ebx                   /* the Multiboot information structure */
    call bench_main
    mov $0xf4, %dx
    out %eax, %dx               /* isa-debug-exit */
1:  hlt
    jmp 1b

    .bss
    .align 16
stack_bottom:
    .skip 65536
stack_top:
