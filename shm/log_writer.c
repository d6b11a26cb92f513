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

uint8_t *rc_log_reserve(rc_log_t *log, const char *topic, uint16_t topic_len, uint32_t frame_len, uint64_t ts_ns)
{
    if (frame_len > rc_log_max_frame(log))
        return NULL;
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
    uint64_t th = rc_topic_hash64(log->hdr->topic_key, topic, topic_len);
    rec->topic_hash = (uint32_t)th; /* == rc_topic_hash(key, topic) */
    rec->frame_len = frame_len;
    rec->ts_ns = ts_ns ? ts_ns : rc_clock_wall_ns(); /* wall clock: read on other machines */
    log->res_hash = rc_topic_index_key_of(th);
    log->res_entry = rc_topic_index_slot(log, log->res_hash, &log->res_found);
    rec->prev_pos = log->res_found ? atomic_load_explicit(&log->res_entry->pos, memory_order_relaxed) : UINT64_MAX;
    memcpy((uint8_t *)(rec + 1), topic, topic_len);
    RC_TSAN_IGNORE_WRITES_END();
    log->res_pos = start;
    log->res_end = start + size;
    return (uint8_t *)(rec + 1) + topic_len;
}

/* Points the reserved record's topic at it in the index (the entry was
 * found or chosen at reserve). */
static void index_update(rc_log_t *log)
{
    if (!log->res_entry) {
        atomic_store_explicit(&log->hdr->index_full,
                              atomic_load_explicit(&log->hdr->index_full, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        return;
    }
    rc_topic_index_point(log->res_entry, log->res_hash, log->res_found, log->res_pos);
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
    /* release: the record's bytes (and last_pos) are visible before the tail
     * that covers them */
    atomic_store_explicit(&h->tail, log->res_end, memory_order_release);
    atomic_store_explicit(&h->next_seq, seq + 1, memory_order_relaxed);
    index_update(log);
    return seq;
}

uint64_t rc_log_commit(rc_log_t *log)
{
    uint64_t seq = rc_log_commit_quiet(log);
    rc_wake_readers(log);
    return seq;
}
