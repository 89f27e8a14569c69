#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>

#include "kv_support.h"

int kv_fallocate(int fd, int64_t offset, int64_t length) {
#ifdef __linux__
    return fallocate(fd, 0, (off_t)offset, (off_t)length);
#else
    (void)fd; (void)offset; (void)length;
    errno = EOPNOTSUPP;
    return -1;
#endif
}
