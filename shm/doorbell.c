#include "shm/doorbell.h"

#include <errno.h>

#include "shm/futex.h"
#include "shm/upring.h"

int rc_doorbell_ring(const rc_log_t *log)
{
    rc_shm_header_t *h = log->hdr;
    /* seq_cst: our tail store is ordered before the read of up_sleeping,
     * as the consumer's up_sleeping store is before its read of tails. */
    atomic_thread_fence(memory_order_seq_cst);
    if (!atomic_load_explicit(&h->up_sleeping, memory_order_relaxed) ||
        !atomic_exchange_explicit(&h->up_sleeping, 0, memory_order_acq_rel))
        return 0;
    /* release: a consumer that sees the new word also sees our tail */
    atomic_fetch_add_explicit(&h->up_word, 1, memory_order_release);
    atomic_fetch_add_explicit(&h->up_wakes, 1, memory_order_relaxed);
    rc_futex_wake_all(&h->up_word);
    return 1;
}

int rc_doorbell_prepare_sleep(const rc_log_t *log, uint32_t *expect)
{
    rc_shm_header_t *h = log->hdr;
    /* acquire: pairs with a producer's increment, which follows its push */
    *expect = atomic_load_explicit(&h->up_word, memory_order_acquire);
    atomic_store_explicit(&h->up_sleeping, 1, memory_order_relaxed);
    /* seq_cst: the up_sleeping store is ordered before the tail loads below,
     * and pairs with the producer's fence in rc_doorbell_ring */
    atomic_thread_fence(memory_order_seq_cst);
    for (unsigned i = 0; i < h->nslots; i++) {
        rc_upring_t r = rc_upring_of(log, i);
        if (rc_upring_pending(&r)) {
            atomic_store_explicit(&h->up_sleeping, 0, memory_order_relaxed);
            return -EAGAIN;
        }
    }
    return 0;
}

int rc_doorbell_sleep(const rc_log_t *log, uint32_t expect, int timeout_ms)
{
    return rc_futex_wait(&log->hdr->up_word, expect, timeout_ms);
}

void rc_doorbell_wake_consumer(const rc_log_t *log)
{
    rc_shm_header_t *h = log->hdr;
    atomic_store_explicit(&h->up_sleeping, 0, memory_order_relaxed);
    /* release: the waker's earlier stores (a stop flag) are seen on wake-up */
    atomic_fetch_add_explicit(&h->up_word, 1, memory_order_release);
    rc_futex_wake_all(&h->up_word);
}
