/*
 * Guest-level integer benchmarks, freestanding C, one Multiboot kernel. The kernel command line
 * names the benchmark (sort, hash, matmul, search, bytecode, memcpy), optionally followed by a
 * repeat count ("sort 20"); each prints its name and a
 * checksum on COM1 so runs under emu and QEMU can be compared for correctness as well as time.
 * bench/compare.sh runs every one under both and prints the ratio.
 * Only 32-bit integer arithmetic: no libgcc is linked, so no 64-bit division.
 */
#include <stdint.h>

struct multiboot_info { uint32_t flags, mem_lower, mem_upper, boot_device, cmdline; };

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static void putc_serial(char c)
{
    while (!(inb(0x3fd) & 0x20)) { }
    outb(0x3f8, (uint8_t)c);
}

static void puts_serial(const char *s) { while (*s) putc_serial(*s++); }

static void put_hex(uint32_t v)
{
    for (int i = 28; i >= 0; i -= 4) putc_serial("0123456789abcdef"[(v >> i) & 15]);
}

static uint32_t rng_state = 2463534242u;
static uint32_t xorshift32(void)
{
    uint32_t x = rng_state;
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    return rng_state = x;
}

#define N_SORT 200000
static uint32_t sort_buf[N_SORT];

static void quicksort(uint32_t *a, int lo, int hi)
{
    while (lo < hi) {
        uint32_t pivot = a[(lo + hi) >> 1];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) { uint32_t t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
        }
        if (j - lo < hi - i) { quicksort(a, lo, j); lo = i; } else { quicksort(a, i, hi); hi = j; }
    }
}

static uint32_t bench_sort(void)
{
    for (int i = 0; i < N_SORT; i++) sort_buf[i] = xorshift32();
    quicksort(sort_buf, 0, N_SORT - 1);
    uint32_t sum = 0;
    for (int i = 0; i < N_SORT; i++) { if (i && sort_buf[i - 1] > sort_buf[i]) return 0xbad; sum = sum * 31 + sort_buf[i]; }
    return sum;
}

#define N_HASH (1 << 20)
static uint8_t hash_buf[N_HASH];

static uint32_t bench_hash(void)
{
    for (int i = 0; i < N_HASH; i++) hash_buf[i] = (uint8_t)xorshift32();
    uint32_t h = 2166136261u;                       /* FNV-1a, 8 passes */
    for (int pass = 0; pass < 8; pass++)
        for (int i = 0; i < N_HASH; i++) { h ^= hash_buf[i]; h *= 16777619u; }
    return h;
}

#define N_MAT 96
static int32_t ma[N_MAT][N_MAT], mb[N_MAT][N_MAT], mc[N_MAT][N_MAT];

static uint32_t bench_matmul(void)
{
    for (int i = 0; i < N_MAT; i++)
        for (int j = 0; j < N_MAT; j++) { ma[i][j] = (int32_t)(xorshift32() & 255) - 128; mb[i][j] = (int32_t)(xorshift32() & 255) - 128; }
    for (int rep = 0; rep < 4; rep++)
        for (int i = 0; i < N_MAT; i++)
            for (int j = 0; j < N_MAT; j++) {
                int32_t s = 0;
                for (int k = 0; k < N_MAT; k++) s += ma[i][k] * mb[k][j];
                mc[i][j] = s + rep;
            }
    uint32_t sum = 0;
    for (int i = 0; i < N_MAT; i++) for (int j = 0; j < N_MAT; j++) sum = sum * 33 + (uint32_t)mc[i][j];
    return sum;
}

#define N_TEXT (1 << 19)
static char text[N_TEXT];

static uint32_t bench_search(void)
{
    static const char pattern[] = "needleinhaystack";
    for (int i = 0; i < N_TEXT; i++) text[i] = (char)('a' + (xorshift32() % 26));
    for (int k = 1; k < 16; k++) {                  /* plant copies */
        int at = (int)(xorshift32() % (N_TEXT - 32));
        for (int i = 0; pattern[i]; i++) text[at + i] = pattern[i];
    }
    uint32_t found = 0, positions = 0;
    for (int rep = 0; rep < 4; rep++)
        for (int i = 0; i + 16 <= N_TEXT; i++) {
            int j = 0;
            while (j < 16 && text[i + j] == pattern[j]) j++;
            if (j == 16) { found++; positions += (uint32_t)i; }
        }
    return found * 65599u + positions;
}

/* A stack bytecode interpreter running a loop that sums i*i mod 7 (switch dispatch). */
enum { OP_PUSH, OP_LOAD, OP_STORE, OP_ADD, OP_MUL, OP_MOD, OP_LT, OP_JZ, OP_JMP, OP_HALT };
static const int32_t program[] = {
    OP_PUSH, 0, OP_STORE, 0,            /* i = 0 */
    OP_PUSH, 0, OP_STORE, 1,            /* s = 0 */
    OP_LOAD, 0, OP_PUSH, 1500000, OP_LT, OP_JZ, 36,
    OP_LOAD, 1, OP_LOAD, 0, OP_LOAD, 0, OP_MUL, OP_PUSH, 7, OP_MOD, OP_ADD, OP_STORE, 1,
    OP_LOAD, 0, OP_PUSH, 1, OP_ADD, OP_STORE, 0, OP_JMP, 8,
    OP_HALT,
};

static uint32_t bench_bytecode(void)
{
    int32_t stack[64], vars[4] = { 0 };
    int sp = 0, pc = 0;
    for (;;) {
        switch (program[pc++]) {
        case OP_PUSH: stack[sp++] = program[pc++]; break;
        case OP_LOAD: stack[sp++] = vars[program[pc++]]; break;
        case OP_STORE: vars[program[pc++]] = stack[--sp]; break;
        case OP_ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case OP_MUL: sp--; stack[sp - 1] *= stack[sp]; break;
        case OP_MOD: sp--; stack[sp - 1] %= stack[sp]; break;
        case OP_LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
        case OP_JZ: { int32_t t = program[pc++]; if (!stack[--sp]) pc = t; break; }
        case OP_JMP: pc = program[pc]; break;
        default: return (uint32_t)vars[1];
        }
    }
}

#define N_COPY (1 << 20)
static uint8_t copy_a[N_COPY], copy_b[N_COPY];

static uint32_t bench_memcpy(void)
{
    for (int i = 0; i < N_COPY; i++) copy_a[i] = (uint8_t)xorshift32();
    for (int rep = 0; rep < 16; rep++) {
        uint32_t *d = (uint32_t *)(rep & 1 ? copy_a : copy_b), *s = (uint32_t *)(rep & 1 ? copy_b : copy_a);
        for (int i = 0; i < N_COPY / 4; i++) d[i] = s[i] + (uint32_t)rep;
    }
    uint32_t sum = 0;
    for (int i = 0; i < N_COPY; i += 64) sum = sum * 131 + copy_b[i];
    return sum;
}

static int starts_with_word(const char *s, const char *w)
{
    while (*w) if (*s++ != *w++) return 0;
    return *s == 0 || *s == ' ';
}

/* The last word of the command line (QEMU and emu put the kernel path first); the one before it in *previous. */
static const char *last_word(const char *s, const char **previous)
{
    const char *w = s;
    *previous = s;
    for (; *s; s++) if (*s == ' ' && s[1]) { *previous = w; w = s + 1; }
    return w;
}

/* A decimal repeat count ("sort 20"), or 0 when the word is not one. */
static uint32_t repeat_count(const char *s)
{
    uint32_t n = 0;
    for (; *s && *s != ' '; s++) {
        if (*s < '0' || *s > '9') return 0;
        n = n * 10 + (uint32_t)(*s - '0');
    }
    return n;
}

uint32_t bench_main(struct multiboot_info *mbi)
{
    /* "NAME" or "NAME COUNT": COUNT runs in a row (longer runs, so start-up weighs less in a timing). */
    const char *previous = "";
    const char *name = (mbi->flags & 4) ? last_word((const char *)mbi->cmdline, &previous) : "";
    uint32_t count = repeat_count(name);
    if (count > 0) name = previous;
    else count = 1;
    static const struct { const char *name; uint32_t (*run)(void); } benches[] = {
        { "sort", bench_sort }, { "hash", bench_hash }, { "matmul", bench_matmul },
        { "search", bench_search }, { "bytecode", bench_bytecode }, { "memcpy", bench_memcpy },
    };
    for (unsigned i = 0; i < sizeof benches / sizeof benches[0]; i++) {
        if (starts_with_word(name, benches[i].name)) {
            uint32_t r = 0;
            for (uint32_t n = 0; n < count; n++) r = r * 33 + benches[i].run();
            puts_serial(benches[i].name);
            puts_serial(" ");
            put_hex(r);
            puts_serial("\r\n");
            return 0;
        }
    }
    puts_serial("bench: unknown benchmark (sort hash matmul search bytecode memcpy)\r\n");
    return 1;
}
