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

int kv_rwlock_tryread(void *lock) { return pthread_rwlock_tryrdlock((pthread_rwlock_t *)lock) == 0; }
int kv_rwlock_trywrite(void *lock) { return pthread_rwlock_trywrlock((pthread_rwlock_t *)lock) == 0; }

void *kv_mutexes_create(size_t count) {
    pthread_mutex_t *locks = malloc(sizeof(pthread_mutex_t) * count);
    if (locks == NULL) abort();
    for (size_t i = 0; i < count; i++) pthread_mutex_init(&locks[i], NULL);
    return locks;
}

void kv_mutexes_destroy(void *locks, size_t count) {
    for (size_t i = 0; i < count; i++) pthread_mutex_destroy(&((pthread_mutex_t *)locks)[i]);
    free(locks);
}

void kv_mutex_lock(void *locks, size_t i) { pthread_mutex_lock(&((pthread_mutex_t *)locks)[i]); }
int kv_mutex_trylock(void *locks, size_t i) { return pthread_mutex_trylock(&((pthread_mutex_t *)locks)[i]) == 0; }
void kv_mutex_unlock(void *locks, size_t i) { pthread_mutex_unlock(&((pthread_mutex_t *)locks)[i]); }
