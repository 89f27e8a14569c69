#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>

#include "kv_support.h"

void *kv_rwlock_create(void) {
    pthread_rwlock_t *lock = malloc(sizeof(pthread_rwlock_t));
    if (lock == NULL) abort();
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    return lock;
}

void kv_rwlock_destroy(void *lock) {
    pthread_rwlock_destroy((pthread_rwlock_t *)lock);
    free(lock);
}

void kv_rwlock_read(void *lock) { pthread_rwlock_rdlock((pthread_rwlock_t *)lock); }
void kv_rwlock_write(void *lock) { pthread_rwlock_wrlock((pthread_rwlock_t *)lock); }
void kv_rwlock_unlock(void *lock) { pthread_rwlock_unlock((pthread_rwlock_t *)lock); }
