/* Readers: any number, in any process; they never store to the ring. */
#include "shm/log.h"

#include <errno.h>
#include <string.h>

#include "shm/tsan.h"

static void jump_to_tail(const rc_log_t *log, rc_log_reader_t *r)
{
    /* acquire: records before the tail are complete (we skip them anyway) */
    r->pos = atomic_load_explicit(&log->hdr->tail, memory_order_acquire);
    r->tail = r->pos;
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

/* Reads and checks the record header at pos. Returns 1 (a record: v set),
 * 2 (a PAD: v->len set), 0 (no record fits before the ring's end: skip
 * room bytes), or -1 (overwritten or not a record). */
static int load_record(const rc_log_t *log, uint64_t pos, rc_log_view_t *v, uint64_t *room_out)
{
    uint64_t off = pos & log->mask;
    uint64_t room = log->cap - off;
    *room_out = room;
    if (room < sizeof(rc_rec_t))
        return 0;
    const rc_rec_t *rec = (const rc_rec_t *)(log->ring + off);
    RC_TSAN_IGNORE_READS_BEGIN();
    /* relaxed and plain reads, validated by the head check below */
    uint64_t seq = atomic_load_explicit(&rec->seq, memory_order_relaxed);
    uint32_t len = rec->len;
    uint16_t flags = rec->flags, tlen = rec->topic_len;
    uint32_t flen = rec->frame_len, thash = rec->topic_hash;
    uint64_t ts = rec->ts_ns, prev = rec->prev_pos;
    uint64_t epoch = rec->topic_epoch, offset = rec->topic_offset;
    uint64_t jpos = rec->jump_pos, joff = rec->jump_offset;
    RC_TSAN_IGNORE_READS_END();
    if (!rc_log_intact(log, pos, len))
        return -1;
    /* Intact bytes of a committed record are well-formed: anything else is
     * our bug or a foreign writer; never trust it. */
    if (len < sizeof(rc_rec_t) || len > room || len % RC_REC_ALIGN)
        return -1;
    v->len = len;
    v->seq = seq;
    if (flags & RC_REC_PAD)
        return 2;
    if ((uint64_t)sizeof(rc_rec_t) + tlen + flen > len)
        return -1;
    v->pos = pos;
    v->topic = (const char *)(rec + 1);
    v->topic_len = tlen;
    v->topic_hash = thash;
    v->frame = (const uint8_t *)(rec + 1) + tlen;
    v->frame_len = flen;
    v->ts_ns = ts;
    v->prev_pos = prev;
    v->epoch = epoch;
    v->offset = offset;
    v->jump_pos = jpos;
    v->jump_offset = joff;
    return 1;
}

int rc_log_reader_next(const rc_log_t *log, rc_log_reader_t *r, rc_log_view_t *v)
{
    for (;;) {
        /* Records before the tail we loaded last are complete; load it again
         * only when we reach it (the line changes with every commit). */
        uint64_t tail = r->tail;
        if (r->pos == tail) {
            /* acquire: pairs with the writer's release store of tail; every
             * record before it is complete */
            tail = r->tail = atomic_load_explicit(&log->hdr->tail, memory_order_acquire);
            if (r->pos == tail)
                return 0;
        }
        if (tail - r->pos > log->cap || r->pos > tail)
            return lapped(log, r);
        uint64_t room;
        int k = load_record(log, r->pos, v, &room);
        if (k == 0) {
            r->pos += room;
            continue;
        }
        if (k < 0 || (r->seq && v->seq != r->seq))
            return lapped(log, r);
        if (k == 2) {
            r->pos += v->len;
            continue;
        }
        if (r->lap_from) {
            r->lost += v->seq - r->lap_from;
            r->lap_from = 0;
        }
        r->pos += v->len;
        r->seq = v->seq + 1;
        return 1;
    }
}

int rc_log_read_at(const rc_log_t *log, uint64_t pos, rc_log_view_t *v)
{
    if (pos == UINT64_MAX || pos % RC_REC_ALIGN)
        return 0;
    /* acquire: only committed records (before tail) are readable */
    uint64_t tail = atomic_load_explicit(&log->hdr->tail, memory_order_acquire);
    if (pos >= tail || tail - pos > log->cap)
        return 0;
    uint64_t room;
    return load_record(log, pos, v, &room) == 1;
}

int rc_log_read_indexed(const rc_log_t *log, uint64_t pos, rc_log_view_t *v)
{
    if (pos == UINT64_MAX || pos % RC_REC_ALIGN)
        return 0;
    /* acquire: the caller's acquire load of the index entry made the header
     * visible; the head check in load_record says it is still there */
    uint64_t tail = atomic_load_explicit(&log->hdr->tail, memory_order_acquire);
    if (pos > tail + log->cap || (pos < tail && tail - pos > log->cap))
        return 0;
    uint64_t room;
    return load_record(log, pos, v, &room) == 1;
}
