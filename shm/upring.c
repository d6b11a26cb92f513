#include "shm/upring.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MSG_HDR 8u
#define WRAP_MARK UINT32_MAX

static uint64_t align8(uint64_t n) { return (n + 7) & ~7ull; }

rc_upring_t rc_upring_of(const rc_log_t *log, unsigned idx)
{
    uint8_t *base = (uint8_t *)log->hdr + log->hdr->upring_off + (uint64_t)idx * (RC_UPRING_HDR + log->hdr->upring_size);
    return (rc_upring_t){(rc_upring_hdr_t *)base, base + RC_UPRING_HDR, log->hdr->upring_size};
}

int rc_upring_push(rc_upring_t *r, uint32_t type, const void *data, uint32_t len)
{
    uint64_t need = align8(MSG_HDR + (uint64_t)len);
    if (need > r->size / 2)
        return -EMSGSIZE;
    /* relaxed: only we store tail */
    uint64_t tail = atomic_load_explicit(&r->hdr->tail, memory_order_relaxed);
    /* acquire: the consumer finished reading bytes before it moved head */
    uint64_t head = atomic_load_explicit(&r->hdr->head, memory_order_acquire);
    uint64_t off = tail & (r->size - 1);
    uint64_t room_to_end = r->size - off;
    uint64_t total = need + (room_to_end < need ? room_to_end : 0);
    if (r->size - (tail - head) < total) {
        atomic_fetch_add_explicit(&r->hdr->dropped, 1, memory_order_relaxed);
        return -ENOBUFS;
    }
    if (room_to_end < need) {
        uint32_t mark = WRAP_MARK;
        memcpy(r->data + off, &mark, sizeof(mark)); /* room_to_end >= 8: all offsets are 8-aligned */
        tail += room_to_end;
        off = 0;
    }
    memcpy(r->data + off, &len, 4);
    memcpy(r->data + off + 4, &type, 4);
    memcpy(r->data + off + MSG_HDR, data, len);
    /* release: the message bytes are visible before the tail that covers them */
    atomic_store_explicit(&r->hdr->tail, tail + need, memory_order_release);
    atomic_fetch_add_explicit(&r->hdr->pushed, 1, memory_order_relaxed);
    return 0;
}

int rc_upring_peek(rc_upring_t *r, uint32_t *type, const uint8_t **data, uint32_t *len)
{
    uint64_t head = atomic_load_explicit(&r->hdr->head, memory_order_relaxed);
    for (;;) {
        /* acquire: pairs with the producer's release store of tail */
        uint64_t tail = atomic_load_explicit(&r->hdr->tail, memory_order_acquire);
        if (head == tail)
            return 0;
        uint64_t off = head & (r->size - 1);
        uint32_t l;
        memcpy(&l, r->data + off, 4);
        if (l == WRAP_MARK) {
            head += r->size - off;
            /* release: we are done with the bytes we skip */
            atomic_store_explicit(&r->hdr->head, head, memory_order_release);
            continue;
        }
        memcpy(type, r->data + off + 4, 4);
        *len = l;
        *data = r->data + off + MSG_HDR;
        return 1;
    }
}

void rc_upring_consume(rc_upring_t *r)
{
    uint64_t head = atomic_load_explicit(&r->hdr->head, memory_order_relaxed);
    uint32_t l;
    memcpy(&l, r->data + (head & (r->size - 1)), 4);
    /* release: our reads of the message happen before the producer reuses it */
    atomic_store_explicit(&r->hdr->head, head + align8(MSG_HDR + (uint64_t)l), memory_order_release);
}

void rc_upring_reset(rc_upring_t *r)
{
    uint64_t tail = atomic_load_explicit(&r->hdr->tail, memory_order_acquire);
    atomic_store_explicit(&r->hdr->head, tail, memory_order_release);
}

int rc_upring_pending(const rc_upring_t *r)
{
    return atomic_load_explicit(&r->hdr->head, memory_order_relaxed) !=
           atomic_load_explicit(&r->hdr->tail, memory_order_acquire);
}

static long futex(_Atomic uint32_t *word, int op, uint32_t val, const struct timespec *ts)
{
    return syscall(SYS_futex, (uint32_t *)word, op, val, ts, NULL, 0);
}

int rc_upring_ring_doorbell(const rc_log_t *log)
{
    rc_shm_header_t *h = log->hdr;
    /* seq_cst: our tail store is ordered before the read of up_sleeping,
     * as the consumer's up_sleeping store is before its read of tails. */
    atomic_thread_fence(memory_order_seq_cst);
    if (!atomic_load_explicit(&h->up_sleeping, memory_order_relaxed) ||
        !atomic_exchange_explicit(&h->up_sleeping, 0, memory_order_acq_rel))
        return 0;
    atomic_fetch_add_explicit(&h->up_word, 1, memory_order_release);
    atomic_fetch_add_explicit(&h->up_wakes, 1, memory_order_relaxed);
    futex(&h->up_word, FUTEX_WAKE, INT_MAX, NULL);
    return 1;
}

int rc_upring_prepare_sleep(const rc_log_t *log, uint32_t *expect)
{
    rc_shm_header_t *h = log->hdr;
    *expect = atomic_load_explicit(&h->up_word, memory_order_acquire);
    atomic_store_explicit(&h->up_sleeping, 1, memory_order_relaxed);
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

int rc_upring_sleep(const rc_log_t *log, uint32_t expect, int timeout_ms)
{
    struct timespec ts, *tsp = NULL;
    if (timeout_ms >= 0) {
        ts.tv_sec = timeout_ms / 1000;
        ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
        tsp = &ts;
    }
    long rc = futex(&log->hdr->up_word, FUTEX_WAIT, expect, tsp);
    return rc < 0 && errno == ETIMEDOUT ? -ETIMEDOUT : 0;
}

void rc_upring_wake_consumer(const rc_log_t *log)
{
    rc_shm_header_t *h = log->hdr;
    atomic_store_explicit(&h->up_sleeping, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->up_word, 1, memory_order_release);
    futex(&h->up_word, FUTEX_WAKE, INT_MAX, NULL);
}

int rc_up_broadcast_encode(uint8_t *out, size_t cap, const rc_up_broadcast_t *m)
{
    size_t n = 4 + (size_t)m->topic_len + m->event_len + m->data_len;
    if (n > cap || n > INT32_MAX)
        return -EMSGSIZE;
    memcpy(out, &m->topic_len, 2);
    memcpy(out + 2, &m->event_len, 2);
    memcpy(out + 4, m->topic, m->topic_len);
    memcpy(out + 4 + m->topic_len, m->event, m->event_len);
    memcpy(out + 4 + m->topic_len + m->event_len, m->data, m->data_len);
    return (int)n;
}

int rc_up_broadcast_decode(const uint8_t *p, uint32_t len, rc_up_broadcast_t *m)
{
    if (len < 4)
        return -EINVAL;
    memcpy(&m->topic_len, p, 2);
    memcpy(&m->event_len, p + 2, 2);
    uint64_t names = 4ull + m->topic_len + m->event_len;
    if (names > len)
        return -EINVAL;
    m->topic = (const char *)p + 4;
    m->event = m->topic + m->topic_len;
    m->data = m->event + m->event_len;
    m->data_len = (uint32_t)(len - names);
    return 0;
}
