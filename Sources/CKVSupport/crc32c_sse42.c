// CRC32C (Castagnoli) with the SSE4.2 crc32 instruction, selected at run time so the package
// builds without -msse4.2 and still runs on CPUs without it (Swift then uses its table code).
#include "kv_support.h"
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#include <pthread.h>

// The crc32 instruction has a latency of 3 cycles and a throughput of 1 per cycle, so one
// dependent chain uses a third of it. Long inputs run three chains over three adjacent
// stretches and combine them: CRC is linear, so crc(A ++ B) is crc(A) advanced over |B| zero
// bytes, xor the raw crc of B. Advancing over a fixed length is a 32x32 GF(2) matrix, applied
// a byte at a time through four 256-entry tables (the method of Mark Adler's crc32c.c).
#define KV_CRC_LONG 8192
#define KV_CRC_SHORT 256
#define KV_CRC_POLY 0x82f63b78u

static uint32_t shift_long[4][256];
static uint32_t shift_short[4][256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static uint32_t gf2_times(const uint32_t *mat, uint32_t vec) {
    uint32_t sum = 0;
    while (vec) {
        if (vec & 1) sum ^= *mat;
        vec >>= 1;
        mat++;
    }
    return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *mat) {
    for (int n = 0; n < 32; n++) square[n] = gf2_times(mat, mat[n]);
}

// The operator that advances a crc over `len` zero bytes (`len` a power of two).
static void zeros_operator(uint32_t *even, size_t len) {
    uint32_t odd[32];
    odd[0] = KV_CRC_POLY;  // one zero bit
    uint32_t row = 1;
    for (int n = 1; n < 32; n++) {
        odd[n] = row;
        row <<= 1;
    }
    gf2_square(even, odd);  // two zero bits
    gf2_square(odd, even);  // four zero bits
    // Each square doubles: the next one gives one zero byte.
    do {
        gf2_square(even, odd);
        len >>= 1;
        if (len == 0) return;
        gf2_square(odd, even);
        len >>= 1;
    } while (len);
    for (int n = 0; n < 32; n++) even[n] = odd[n];
}

static void build_shift_table(uint32_t table[4][256], size_t len) {
    uint32_t op[32];
    zeros_operator(op, len);
    for (uint32_t n = 0; n < 256; n++) {
        table[0][n] = gf2_times(op, n);
        table[1][n] = gf2_times(op, n << 8);
        table[2][n] = gf2_times(op, n << 16);
        table[3][n] = gf2_times(op, n << 24);
    }
}

static void build_tables(void) {
    build_shift_table(shift_long, KV_CRC_LONG);
    build_shift_table(shift_short, KV_CRC_SHORT);
}

static inline uint32_t crc_shift(uint32_t table[4][256], uint32_t crc) {
    return table[0][crc & 0xff] ^ table[1][(crc >> 8) & 0xff] ^ table[2][(crc >> 16) & 0xff] ^ table[3][crc >> 24];
}

int kv_crc32c_hw_available(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("sse4.2") ? 1 : 0;
        pthread_once(&tables_once, build_tables);
    }
    return cached;
}

static inline uint64_t load64(const uint8_t *p) {
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

__attribute__((target("sse4.2")))
static uint64_t three_way(uint64_t c0, const uint8_t **pp, size_t *np, size_t stretch, uint32_t table[4][256]) {
    const uint8_t *p = *pp;
    size_t n = *np;
    while (n >= 3 * stretch) {
        uint64_t c1 = 0, c2 = 0;
        const uint8_t *end = p + stretch;
        do {
            c0 = _mm_crc32_u64(c0, load64(p));
            c1 = _mm_crc32_u64(c1, load64(p + stretch));
            c2 = _mm_crc32_u64(c2, load64(p + 2 * stretch));
            p += 8;
        } while (p < end);
        c0 = crc_shift(table, (uint32_t)c0) ^ c1;
        c0 = crc_shift(table, (uint32_t)c0) ^ c2;
        p += 2 * stretch;
        n -= 3 * stretch;
    }
    *pp = p;
    *np = n;
    return c0;
}

__attribute__((target("sse4.2")))
uint32_t kv_crc32c_hw_extend(uint32_t crc, const uint8_t *p, size_t n) {
    uint64_t c = ~crc;
    while (n > 0 && ((uintptr_t)p & 7) != 0) {
        c = _mm_crc32_u8((uint32_t)c, *p++);
        n--;
    }
    if (n >= 3 * KV_CRC_SHORT) {
        pthread_once(&tables_once, build_tables);
        c = three_way(c, &p, &n, KV_CRC_LONG, shift_long);
        c = three_way(c, &p, &n, KV_CRC_SHORT, shift_short);
    }
    while (n >= 8) {
        c = _mm_crc32_u64(c, load64(p));
        p += 8;
        n -= 8;
    }
    while (n > 0) {
        c = _mm_crc32_u8((uint32_t)c, *p++);
        n--;
    }
    return ~(uint32_t)c;
}

#else

int kv_crc32c_hw_available(void) { return 0; }
uint32_t kv_crc32c_hw_extend(uint32_t crc, const uint8_t *p, size_t n) {
    (void)p; (void)n;
    return crc;
}

#endif
