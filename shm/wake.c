#include "shm/wake.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int rc_wake_prepare(rc_log_t *log, const rc_log_reader_t *r, uint32_t *expect)
{
    rc_shm_header_t *h = log->hdr;
    /* acquire: pairs with the writer's increment, which follows its tail store */
    *expect = atomic_load_explicit(&h->wake_word, memory_order_acquire);
    atomic_store_explicit(&h->sleepers, 1, memory_order_relaxed);
    /* seq_cst: the sleepers store is ordered before the tail load below, and
     * pairs with the writer's fence between its tail store and sleepers load */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&h->retired, memory_order_acquire))
        return -EPIPE;
    if (atomic_load_explicit(&h->tail, memory_order_acquire) != r->pos)
        return -EAGAIN;
    return 0;
}

int rc_wake_wait(rc_log_t *log, uint32_t expect, int timeout_ms)
{
    struct timespec ts, *tsp = NULL;
    if (timeout_ms >= 0) {
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
        tsp = &ts;
    }
    /* Not FUTEX_PRIVATE: the word is shared between processes. */
    long rc = syscall(SYS_futex, (uint32_t *)&log->hdr->wake_word, FUTEX_WAIT, expect, tsp, NULL, 0);
    if (rc < 0 && errno == ETIMEDOUT)
        return -ETIMEDOUT;
    return 0;
}

int rc_wake_readers(rc_log_t *log)
{
    rc_shm_header_t *h = log->hdr;
    /* seq_cst: the caller's tail store is ordered before the sleepers load */
    atomic_thread_fence(memory_order_seq_cst);
    if (!atomic_load_explicit(&h->sleepers, memory_order_relaxed))
        return 0;
    if (!atomic_exchange_explicit(&h->sleepers, 0, memory_order_acq_rel))
        return 0;
    /* release: a woken reader that sees the new word also sees the new tail */
    atomic_fetch_add_explicit(&h->wake_word, 1, memory_order_release);
    syscall(SYS_futex, (uint32_t *)&h->wake_word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    atomic_fetch_add_explicit(&h->wake_syscalls, 1, memory_order_relaxed);
    return 1;
}

void rc_wake_retire(rc_log_t *log)
{
    rc_shm_header_t *h = log->hdr;
    atomic_store_explicit(&h->retired, 1, memory_order_seq_cst);
    /* release: a reader that sees the new word sees retired */
    atomic_fetch_add_explicit(&h->wake_word, 1, memory_order_release);
    atomic_store_explicit(&h->sleepers, 0, memory_order_relaxed);
    syscall(SYS_futex, (uint32_t *)&h->wake_word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}
