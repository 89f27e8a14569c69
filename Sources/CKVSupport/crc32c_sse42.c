// CRC32C (Castagnoli) with the SSE4.2 crc32 instruction, selected at run time so the package
// builds without -msse4.2 and still runs on CPUs without it (Swift then uses its table code).
#include "kv_support.h"
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>

int kv_crc32c_hw_available(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    }
    return cached;
}

__attribute__((target("sse4.2")))
uint32_t kv_crc32c_hw_extend(uint32_t crc, const uint8_t *p, size_t n) {
    uint64_t c = ~crc;
    while (n > 0 && ((uintptr_t)p & 7) != 0) {
        c = _mm_crc32_u8((uint32_t)c, *p++);
        n--;
    }
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
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
