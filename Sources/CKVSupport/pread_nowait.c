#define _GNU_SOURCE
#include <errno.h>
#include <sys/uio.h>

#include "kv_support.h"

long kv_pread_nowait(int fd, void *buffer, size_t count, int64_t offset) {
#ifdef RWF_NOWAIT
    struct iovec iov = { .iov_base = buffer, .iov_len = count };
    return (long)preadv2(fd, &iov, 1, (off_t)offset, RWF_NOWAIT);
#else
    (void)fd; (void)buffer; (void)count; (void)offset;
    errno = EOPNOTSUPP;
    return -1;
#endif
}
