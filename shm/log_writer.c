/* The single writer: reserve, fill, commit. Only the broker calls this. */
#include "shm/log.h"

#include <string.h>

#include "common/clock.h"
#include "shm/topic_index.h"
#include "shm/tsan.h"
#include "shm/wake.h"

uint64_t rc_log_max_frame(const rc_log_t *log)
{
    uint64_t m = log->cap / 4 - sizeof(rc_rec_t) - 512;
    return m > UINT32_MAX ? UINT32_MAX : m;
}

uint64_t rc_log_next_seq(const rc_log_t *log)
{
    /* relaxed: only the writer stores it */
    return atomic_load_explicit(&log->hdr->next_seq, memory_order_relaxed);
}

/* Moves head to end before any byte up to end is overwritten. */
/* Head moves ahead in steps of RC_HEAD_STEP(cap) instead of once per
 * record, so the line readers check after every read changes rarely and
 * stays in their caches. Claiming more than is written is safe: a reader
 * only ever concludes "overwritten" early, which shrinks the usable lag to
 * capacity - step. */
static void claim_until(rc_log_t *log, uint64_t end)
{
    uint64_t head = atomic_load_explicit(&log->hdr->head, memory_order_relaxed);
    if (end <= head)
        return;
    uint64_t step = RC_HEAD_STEP(log->cap);
    if (end < head + step)
        end = head + step;
    /* relaxed store + release fence: a reader whose acquire fence follows
     * its read of any byte we write after this sees the new head */
    atomic_store_explicit(&log->hdr->head, end, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
}

/* The record at pos if it is of the topic keyed th and at offset in
 * epoch (the writer reads back its own committed records). */
static int read_own(const rc_log_t *log, uint64_t pos, uint32_t th, uint64_t epoch, uint64_t offset,
                    rc_log_view_t *v)
{
    return pos != UINT64_MAX && rc_log_read_at(log, pos, v) && v->topic_hash == th && v->epoch == epoch &&
           v->offset == offset;
}

/* Skip pointer of a record whose predecessor p (offset - 1) is at prev:
 * Myers' skew-binary rule. If p's jump spans as many offsets as its jump's
 * jump, x jumps over both; else x jumps to p. Searches back to any offset
 * then take O(log n) steps (shm/topic_walk.c). */
static void jump_of(rc_log_t *log, uint32_t th, uint64_t epoch, uint64_t offset, uint64_t prev)
{
    log->prep_jump = UINT64_MAX;
    log->prep_jump_offset = 0;
    rc_log_view_t p, pj;
    if (!read_own(log, prev, th, epoch, offset - 1, &p))
        return;
    log->prep_jump = prev;
    log->prep_jump_offset = offset - 1;
    if (p.jump_pos == UINT64_MAX || !read_own(log, p.jump_pos, th, epoch, p.jump_offset, &pj) ||
        pj.jump_pos == UINT64_MAX)
        return;
    if (p.offset - p.jump_offset == p.jump_offset - pj.jump_offset) {
        log->prep_jump = pj.jump_pos;
        log->prep_jump_offset = pj.jump_offset;
    }
}

/* Finds topic's index entry and the position and pointers of its next
 * record, into log->prep_*. */
static void prepare(rc_log_t *log, uint64_t th, const rc_topic_pos_t *at)
{
    uint64_t key = rc_topic_index_key_of(th);
    log->prep_key = key;
    log->prep_entry = rc_topic_index_slot(log, key, &log->prep_kind);
    uint64_t epoch = 0, last = 0, prev = UINT64_MAX;
    if (log->prep_kind == RC_INDEX_FOUND) {
        /* relaxed: only this writer stores entries */
        epoch = atomic_load_explicit(&log->prep_entry->epoch, memory_order_relaxed);
        last = atomic_load_explicit(&log->prep_entry->offset, memory_order_relaxed);
        prev = atomic_load_explicit(&log->prep_entry->pos, memory_order_relaxed);
    } else {
        epoch = rc_topic_run_epoch(log, key);
    }
    if (at) {
        /* A given position continues the chain only if it is the next one. */
        if (at->epoch != epoch || at->offset != last + 1)
            prev = UINT64_MAX;
        epoch = at->epoch;
        last = at->offset - 1;
    }
    log->prep_epoch = epoch;
    log->prep_offset = last + 1;
    log->prep_prev = prev;
    jump_of(log, (uint32_t)th, epoch, last + 1, prev);
}

rc_topic_pos_t rc_log_next_position(rc_log_t *log, const char *topic, uint16_t topic_len)
{
    uint64_t th = rc_topic_hash64(log->hdr->topic_key, topic, topic_len);
    prepare(log, th, NULL);
    log->prep_th = th;
    log->prep_topic = topic;
    log->prep_topic_len = topic_len;
    rc_topic_pos_t p = {log->prep_epoch, log->prep_offset};
    return p;
}

uint8_t *rc_log_reserve(rc_log_t *log, const char *topic, uint16_t topic_len, uint32_t frame_len, uint64_t ts_ns)
{
    return rc_log_reserve_at(log, topic, topic_len, frame_len, ts_ns, NULL);
}

uint8_t *rc_log_reserve_at(rc_log_t *log, const char *topic, uint16_t topic_len, uint32_t frame_len, uint64_t ts_ns,
                           const rc_topic_pos_t *at)
{
    if (frame_len > rc_log_max_frame(log)) {
        log->prep_key = 0;
        return NULL;
    }
    /* rc_log_next_position just prepared this topic (the same name): nothing
     * was written since, so its answer stands, hash included */
    uint64_t th;
    if (!at && log->prep_key && log->prep_topic_len == topic_len &&
        (log->prep_topic == topic || memcmp(log->prep_topic, topic, topic_len) == 0)) {
        th = log->prep_th;
    } else {
        th = rc_topic_hash64(log->hdr->topic_key, topic, topic_len);
        prepare(log, th, at);
    }
    log->prep_key = 0;
    rc_shm_header_t *h = log->hdr;
    uint64_t pos = atomic_load_explicit(&h->tail, memory_order_relaxed);
    uint64_t seq = atomic_load_explicit(&h->next_seq, memory_order_relaxed);
    uint32_t size = rc_rec_size(topic_len, frame_len);
    uint64_t off = pos & log->mask;
    uint64_t room = log->cap - off;
    uint64_t start = pos;
    if (room < size)
        start = pos + room; /* skip to the start of the ring */
    claim_until(log, start + size);
    /* Claiming may have overwritten the records the pointers name: a
     * pointer is only a hint that readers check, but keep them honest. */
    uint64_t head = atomic_load_explicit(&h->head, memory_order_relaxed);
    if (log->prep_prev != UINT64_MAX && head - log->prep_prev > log->cap)
        log->prep_prev = UINT64_MAX;
    if (log->prep_jump != UINT64_MAX && head - log->prep_jump > log->cap)
        log->prep_jump = UINT64_MAX;
    RC_TSAN_IGNORE_WRITES_BEGIN(); /* lapped readers may read these bytes: shm/tsan.h */
    if (room < size && room >= sizeof(rc_rec_t)) {
        /* A PAD record carries the seq of the record after it, so a reader
         * can tell a pad it expected from stale bytes. Smaller gaps than a
         * header are skipped by readers without a record. */
        rc_rec_t *pad = (rc_rec_t *)(log->ring + off);
        pad->len = (uint32_t)room;
        pad->flags = RC_REC_PAD;
        pad->topic_len = 0;
        pad->frame_len = 0;
        atomic_store_explicit(&pad->seq, seq, memory_order_relaxed);
    }
    rc_rec_t *rec = (rc_rec_t *)(log->ring + (start & log->mask));
    atomic_store_explicit(&rec->seq, seq, memory_order_relaxed);
    rec->len = size;
    rec->flags = 0;
    rec->topic_len = topic_len;
    rec->topic_hash = (uint32_t)th; /* == rc_topic_hash(key, topic) */
    rec->frame_len = frame_len;
    rec->ts_ns = ts_ns ? ts_ns : rc_clock_wall_ns(); /* wall clock: read on other machines */
    rec->prev_pos = log->prep_prev;
    rec->topic_epoch = log->prep_epoch;
    rec->topic_offset = log->prep_offset;
    rec->jump_pos = log->prep_jump;
    rec->jump_offset = log->prep_jump == UINT64_MAX ? 0 : log->prep_jump_offset;
    memcpy((uint8_t *)(rec + 1), topic, topic_len);
    RC_TSAN_IGNORE_WRITES_END();
    log->res_hash = rc_topic_index_key_of(th);
    log->res_entry = log->prep_entry;
    log->res_kind = log->prep_kind;
    log->res_epoch = log->prep_epoch;
    log->res_offset = log->prep_offset;
    log->res_pos = start;
    log->res_end = start + size;
    return (uint8_t *)(rec + 1) + topic_len;
}

/* Single writer: counters are advanced with a load and a store, not a
 * locked read-modify-write. */
static void bump(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n, memory_order_relaxed);
}

uint64_t rc_log_commit_quiet(rc_log_t *log)
{
    rc_shm_header_t *h = log->hdr;
    uint64_t seq = atomic_load_explicit(&h->next_seq, memory_order_relaxed);
    rc_rec_t *rec = (rc_rec_t *)(log->ring + (log->res_pos & log->mask));
    /* Order matters for a writer restarted after a crash (see
     * recover_next_seq in shm/region.c): last_pos, then tail, then next_seq. */
    atomic_store_explicit(&h->last_pos, log->res_pos, memory_order_relaxed);
    atomic_store_explicit(&h->last_commit_ns, rec->ts_ns, memory_order_relaxed);
    bump(&h->records, 1);
    bump(&h->bytes, rec->frame_len);
    /* The index moves before the tail: an edge that has read the record
     * (its cursor is past it) finds it through the index when a client
     * joins, so a join's position never misses a record the edge already
     * fanned out (rc_topic_position in shm/topic_walk.c handles the record
     * indexed but not yet published). */
    rc_topic_index_point(log, log->res_entry, log->res_hash, log->res_kind, log->res_pos, log->res_epoch,
                         log->res_offset);
    /* release: the record's bytes (and last_pos) are visible before the tail
     * that covers them */
    atomic_store_explicit(&h->tail, log->res_end, memory_order_release);
    atomic_store_explicit(&h->next_seq, seq + 1, memory_order_relaxed);
    return seq;
}

uint64_t rc_log_commit(rc_log_t *log)
{
    uint64_t seq = rc_log_commit_quiet(log);
    rc_wake_readers(log);
    return seq;
}
