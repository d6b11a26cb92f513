#include "shm/upring.h"

#include <errno.h>
#include <string.h>

#define MSG_HDR 8u
#define WRAP_MARK UINT32_MAX

static uint64_t align8(uint64_t n) { return (n + 7) & ~7ull; }

rc_upring_t rc_upring_of(const rc_log_t *log, unsigned idx)
{
    uint8_t *base = (uint8_t *)log->hdr + log->hdr->upring_off + (uint64_t)idx * (RC_UPRING_HDR + log->hdr->upring_size);
    return (rc_upring_t){.hdr = (rc_upring_hdr_t *)base, .data = base + RC_UPRING_HDR, .size = log->hdr->upring_size};
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

/* The producer is an edge, and an edge is an outsider to the broker: every
 * length and position it wrote is checked before it is used, so no value
 * makes the consumer read outside the ring or stop moving. */
int rc_upring_peek(rc_upring_t *r, uint32_t *type, const uint8_t **data, uint32_t *len)
{
    uint64_t head = atomic_load_explicit(&r->hdr->head, memory_order_relaxed);
    for (;;) {
        /* acquire: pairs with the producer's release store of tail */
        uint64_t tail = atomic_load_explicit(&r->hdr->tail, memory_order_acquire);
        if (head == tail)
            return 0;
        /* (2^63 bytes is centuries of traffic: a tail past it is a lie, and
         * refusing it keeps every sum below from wrapping.) */
        if ((head & 7) || tail < head || tail - head > r->size || tail > UINT64_MAX / 2)
            return -EPROTO;
        uint64_t off = head & (r->size - 1);
        uint32_t l;
        memcpy(&l, r->data + off, 4);
        if (l == WRAP_MARK) {
            if (head + (r->size - off) > tail)
                return -EPROTO;
            head += r->size - off;
            /* release: we are done with the bytes we skip */
            atomic_store_explicit(&r->hdr->head, head, memory_order_release);
            continue;
        }
        /* as push allows: at most half the ring, never across its end, all
         * of it published */
        uint64_t need = align8(MSG_HDR + (uint64_t)l);
        if (need > r->size / 2 || off + need > r->size || head + need > tail)
            return -EPROTO;
        memcpy(type, r->data + off + 4, 4);
        *len = l;
        *data = r->data + off + MSG_HDR;
        r->next = head + need;
        return 1;
    }
}

void rc_upring_consume(rc_upring_t *r)
{
    /* the length checked by peek, not the bytes again: the producer may
     * have changed them since */
    /* release: our reads of the message happen before the producer reuses it */
    atomic_store_explicit(&r->hdr->head, r->next, memory_order_release);
}

uint64_t rc_upring_reset(rc_upring_t *r)
{
    uint64_t head = atomic_load_explicit(&r->hdr->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&r->hdr->tail, memory_order_acquire);
    /* (A producer that wrote a misaligned tail keeps failing the next
     * peek: its ring stays dead, each reset counted, the others flow.) */
    atomic_store_explicit(&r->hdr->head, tail, memory_order_release);
    return tail - head;
}

int rc_upring_pending(const rc_upring_t *r)
{
    return atomic_load_explicit(&r->hdr->head, memory_order_relaxed) !=
           atomic_load_explicit(&r->hdr->tail, memory_order_acquire);
}
