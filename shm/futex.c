#include "shm/futex.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/clock.h"

int rc_futex_wait(_Atomic uint32_t *word, uint32_t expect, int timeout_ms)
{
    struct timespec ts, *tsp = NULL;
    if (timeout_ms >= 0) {
        ts = rc_clock_timespec_ms((uint64_t)timeout_ms);
        tsp = &ts;
    }
    long rc = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, expect, tsp, NULL, 0);
    return rc < 0 && errno == ETIMEDOUT ? -ETIMEDOUT : 0;
}

void rc_futex_wake_all(_Atomic uint32_t *word)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}
