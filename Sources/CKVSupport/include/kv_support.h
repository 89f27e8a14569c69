#ifndef KV_SUPPORT_H
#define KV_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU has the SSE4.2 CRC32 instruction (checked once, at run time).
int kv_crc32c_hw_available(void);

/// Extends `crc` (not masked, not inverted by the caller) over `n` bytes using SSE4.2.
/// Only call when kv_crc32c_hw_available() returned 1.
uint32_t kv_crc32c_hw_extend(uint32_t crc, const uint8_t *data, size_t n);



/// ThreadSanitizer happens-before annotations. Synchronization's Mutex waits on a futex TSan
/// cannot see, so guarded accesses look like races; these tell TSan about the lock. They are
/// no-ops (a null check) unless the TSan runtime is linked in.
void kv_tsan_acquire(void *address);
void kv_tsan_release(void *address);

/// fallocate(2) with mode 0: reserves [offset, offset+length) and extends the file.
/// -1 with errno EOPNOTSUPP where the file system (or platform) cannot.
int kv_fallocate(int fd, int64_t offset, int64_t length);

/// nanosleep with this thread's timer slack narrowed to 1 µs for the sleep (restored after):
/// a pause of a few microseconds lasts a few microseconds, not the default slack of 50 µs.
void kv_sleep_precisely(uint64_t nanoseconds);

/// pread that never waits for the device: preadv2(RWF_NOWAIT), which needs _GNU_SOURCE and
/// so is out of Swift's reach. Returns bytes read, or -1 with errno (EAGAIN: not cached).
long kv_pread_nowait(int fd, void *buffer, size_t count, int64_t offset);

/// A writer-preferring pthread read-write lock (the preference is a GNU extension, out of
/// Swift's reach): a waiting writer is not starved by a stream of overlapping readers.
void *kv_rwlock_create(void);
void kv_rwlock_destroy(void *lock);
void kv_rwlock_read(void *lock);
void kv_rwlock_write(void *lock);
void kv_rwlock_unlock(void *lock);
/// 1 when the lock was taken, 0 when it is held (or, for a read, a writer waits for it).
int kv_rwlock_tryread(void *lock);
int kv_rwlock_trywrite(void *lock);

/// An array of `count` pthread mutexes (the key-lock stripes), with a non-blocking try: an
/// event loop takes a stripe only if it is free, and hands the command to a thread otherwise.
void *kv_mutexes_create(size_t count);
void kv_mutexes_destroy(void *locks, size_t count);
void kv_mutex_lock(void *locks, size_t i);
/// 1 when taken, 0 when another thread holds it.
int kv_mutex_trylock(void *locks, size_t i);
void kv_mutex_unlock(void *locks, size_t i);
#endif
