// oracle-runner: the host half of the differential harness (OracleHarness.cs). It maps the
// harness's pages at the guest's addresses, receives the wrapper code once and then batches of
// cases on stdin, runs each natively and writes the state block and data region back on stdout.
// A fault becomes the exception vector the kernel reports (REG_TRAPNO) with the registers of the
// signal frame; a hang is cut off by SIGALRM (vector 255). Built by HostRunner.cs with gcc.
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

// Keep in step with OracleLayout.cs.
#define BODY 0x10000UL
#define WRAPPER 0x12000UL
#define BLOCK 0x30000UL
#define DATA 0x40000UL
#define BLOCK_SIZE 1024
#define DATA_SIZE 1024
#define OFF_RIP 128
#define OFF_RFLAGS 136
#define OFF_VECTOR 144
#define OFF_CODELEN 160
#define OFF_FX 192
#define OFF_UPPER 704
#define MAGIC 0x4F52434CU

static sigjmp_buf jump;
static uint8_t *const block = (uint8_t *)BLOCK;

static void fail(const char *what)
{
    fprintf(stderr, "oracle-runner: %s\n", what);
    exit(2);
}

static void map(unsigned long address, int prot)
{
    void *p = mmap((void *)address, 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *)address)
    {
        fail("cannot map a page at a fixed address");
    }
}

static void on_signal(int sig, siginfo_t *info, void *context)
{
    (void)info;
    ucontext_t *uc = context;
    greg_t *g = uc->uc_mcontext.gregs;
    uint64_t *gpr = (uint64_t *)block;
    const int order[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
                           REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};
    for (int k = 0; k < 16; k++)
    {
        gpr[k] = (uint64_t)g[order[k]];
    }

    *(uint64_t *)(block + OFF_RIP) = (uint64_t)g[REG_RIP];
    *(uint64_t *)(block + OFF_RFLAGS) = (uint64_t)g[REG_EFL];
    *(uint64_t *)(block + OFF_VECTOR) = sig == SIGALRM ? 255 : (uint64_t)g[REG_TRAPNO];
    uint8_t *fx = (uint8_t *)uc->uc_mcontext.fpregs;
    if (fx != NULL)
    {
        memcpy(block + OFF_FX, fx, 512);
        // The XSAVE area follows when the kernel says so (FP_XSTATE_MAGIC1 in the software-reserved
        // bytes); YMM_Hi128 is at offset 576 of the standard format, zero when XSTATE_BV bit 2 is clear.
        memset(block + OFF_UPPER, 0, 256);
        if (*(uint32_t *)(fx + 464) == 0x46505853U && (*(uint64_t *)(fx + 512) & 4) != 0)
        {
            memcpy(block + OFF_UPPER, fx + 576, 256);
        }
    }

    siglongjmp(jump, 1);
}

static void read_all(void *buffer, size_t size)
{
    if (fread(buffer, 1, size, stdin) != size)
    {
        exit(0); // the harness went away
    }
}

int main(void)
{
    map(BODY, PROT_READ | PROT_WRITE | PROT_EXEC);
    map(WRAPPER, PROT_READ | PROT_WRITE | PROT_EXEC);
    map(BLOCK, PROT_READ | PROT_WRITE);
    map(DATA, PROT_READ | PROT_WRITE);

    static uint8_t alternate[1 << 16];
    stack_t ss = {.ss_sp = alternate, .ss_size = sizeof alternate, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0)
    {
        fail("sigaltstack");
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    const int signals[] = {SIGSEGV, SIGILL, SIGFPE, SIGBUS, SIGTRAP, SIGALRM};
    for (size_t k = 0; k < sizeof signals / sizeof signals[0]; k++)
    {
        sigaction(signals[k], &sa, NULL);
    }

    uint32_t header[2];
    read_all(header, sizeof header);
    if (header[0] != MAGIC || header[1] > 4096)
    {
        fail("bad wrapper header");
    }

    read_all((void *)WRAPPER, header[1]);
    uint32_t ready = MAGIC;
    fwrite(&ready, 4, 1, stdout);
    fflush(stdout);

    void (*entry)(void) = (void (*)(void))WRAPPER;
    for (;;)
    {
        uint32_t count;
        read_all(&count, 4);
        if (count == 0)
        {
            return 0;
        }

        for (volatile uint32_t n = 0; n < count; n++)
        {
            read_all(block, BLOCK_SIZE);
            uint32_t length = *(uint32_t *)(block + OFF_CODELEN);
            if (length > 4096)
            {
                fail("body too long");
            }

            read_all((void *)BODY, length);
            read_all((void *)DATA, DATA_SIZE);
            if (sigsetjmp(jump, 1) == 0)
            {
                alarm(2);
                entry();
            }

            alarm(0);
            // Whatever the case left in the x87, MXCSR and the upper halves is not the runner's.
            uint32_t mxcsr = 0x1F80;
            __asm__ volatile("fninit\n\tldmxcsr %0\n\tcld" : : "m"(mxcsr));
            fwrite(block, 1, BLOCK_SIZE, stdout);
            fwrite((void *)DATA, 1, DATA_SIZE, stdout);
        }

        fflush(stdout);
    }
}
