#include "kv_support.h"

// Weak: resolved to the TSan runtime's functions when it is linked, null otherwise.
void __tsan_acquire(void *addr) __attribute__((weak));
void __tsan_release(void *addr) __attribute__((weak));

void kv_tsan_acquire(void *address) {
    if (__tsan_acquire) __tsan_acquire(address);
}

void kv_tsan_release(void *address) {
    if (__tsan_release) __tsan_release(address);
}
