/* Readers: any number, in any process; they never store to the ring. */
#include "shm/log.h"

#include <errno.h>

static void jump_to_tail(const rc_log_t *log, rc_log_reader_t *r)
{
    /* acquire: records before the tail are complete (we skip them anyway) */
    r->pos = atomic_load_explicit(&log->hdr->tail, memory_order_acquire);
    r->seq = 0;
}

void rc_log_reader_at_tail(const rc_log_t *log, rc_log_reader_t *r)
{
    jump_to_tail(log, r);
    r->lost = r->lapped = r->lap_from = 0;
}

int rc_log_intact(const rc_log_t *log, uint64_t pos, uint32_t len)
{
    (void)len; /* head covers the whole record: it moves before any byte */
    /* acquire fence: every read of the record before this point is ordered
     * before the head load; pairs with the writer's release fence after it
     * moves head (shm/log_writer.c claim_until) */
    atomic_thread_fence(memory_order_acquire);
    uint64_t head = atomic_load_explicit(&log->hdr->head, memory_order_relaxed);
    return head <= pos + log->cap;
}

static int lapped(const rc_log_t *log, rc_log_reader_t *r)
{
    r->lapped++;
    if (r->seq && !r->lap_from)
        r->lap_from = r->seq;
    jump_to_tail(log, r);
    return -ESTALE;
}

int rc_log_reader_next(const rc_log_t *log, rc_log_reader_t *r, rc_log_view_t *v)
{
    for (;;) {
        /* acquire: pairs with the writer's release store of tail; every
         * record before it is complete */
        uint64_t tail = atomic_load_explicit(&log->hdr->tail, memory_order_acquire);
        if (r->pos == tail)
            return 0;
        if (tail - r->pos > log->cap || r->pos > tail)
            return lapped(log, r);
        uint64_t off = r->pos & log->mask;
        uint64_t room = log->cap - off;
        if (room < sizeof(rc_rec_t)) {
            r->pos += room;
            continue;
        }
        const rc_rec_t *rec = (const rc_rec_t *)(log->ring + off);
        /* relaxed: validated by the head check below */
        uint64_t seq = atomic_load_explicit(&rec->seq, memory_order_relaxed);
        uint32_t len = rec->len;
        uint16_t flags = rec->flags, tlen = rec->topic_len;
        uint32_t flen = rec->frame_len, thash = rec->topic_hash;
        uint64_t ts = rec->ts_ns;
        if (!rc_log_intact(log, r->pos, len))
            return lapped(log, r);
        /* Intact bytes of a committed record are well-formed: anything else
         * is our bug or a foreign writer; treat it as lapping, never trust it. */
        if (len < sizeof(rc_rec_t) || len > room || len % RC_REC_ALIGN || (r->seq && seq != r->seq))
            return lapped(log, r);
        if (flags & RC_REC_PAD) {
            r->pos += len;
            continue;
        }
        if ((uint64_t)sizeof(rc_rec_t) + tlen + flen > len)
            return lapped(log, r);
        if (r->lap_from) {
            r->lost += seq - r->lap_from;
            r->lap_from = 0;
        }
        v->pos = r->pos;
        v->seq = seq;
        v->len = len;
        v->topic = (const char *)(rec + 1);
        v->topic_len = tlen;
        v->topic_hash = thash;
        v->frame = (const uint8_t *)(rec + 1) + tlen;
        v->frame_len = flen;
        v->ts_ns = ts;
        r->pos += len;
        r->seq = seq + 1;
        return 1;
    }
}
