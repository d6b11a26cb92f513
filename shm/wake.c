#include "shm/wake.h"

#include <errno.h>

#include "shm/futex.h"

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
    return rc_futex_wait(&log->hdr->wake_word, expect, timeout_ms);
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
    rc_futex_wake_all(&h->wake_word);
    atomic_fetch_add_explicit(&h->wake_syscalls, 1, memory_order_relaxed);
    return 1;
}

static void retire(_Atomic uint32_t *retired, _Atomic uint32_t *word, _Atomic uint32_t *sleepers)
{
    atomic_store_explicit(retired, 1, memory_order_seq_cst);
    /* release: a reader that sees the new word sees retired */
    atomic_fetch_add_explicit(word, 1, memory_order_release);
    atomic_store_explicit(sleepers, 0, memory_order_relaxed);
    rc_futex_wake_all(word);
}

void rc_wake_retire(rc_log_t *log)
{
    rc_shm_header_t *h = log->hdr;
    retire(&h->retired, &h->wake_word, &h->sleepers);
}

void rc_wake_retire_any(rc_shm_header_v1_t *h)
{
    retire(&h->retired, &h->wake_word, &h->sleepers);
}
