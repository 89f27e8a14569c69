#include <errno.h>
#include <time.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "kv_support.h"

// Linux lets a sleep of this thread end up to its timer slack late (50 µs by default) so that
// wake-ups can be batched. The write controller asks for pauses of a few microseconds, one per
// group, to pace writes; with the default slack each became a pause of 60-80 µs, and those
// were the write-latency tail (p99.9) of every fill that met a slowdown. The slack is narrowed
// for the sleep only and restored, so the caller's thread is left as it was.
void kv_sleep_precisely(uint64_t nanoseconds) {
    struct timespec pause = {(time_t)(nanoseconds / 1000000000u), (long)(nanoseconds % 1000000000u)};
    struct timespec left;
#ifdef __linux__
    int slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    if (slack > 1000) prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
#endif
    while (nanosleep(&pause, &left) != 0 && errno == EINTR) pause = left;
#ifdef __linux__
    if (slack > 1000) prctl(PR_SET_TIMERSLACK, (unsigned long)slack, 0, 0, 0);
#endif
}
