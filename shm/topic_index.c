#include "shm/topic_index.h"

#include <string.h>

#include <sodium/crypto_shorthash_siphash24.h>

#include "shm/tsan.h"

_Static_assert(crypto_shorthash_siphash24_KEYBYTES == RC_TOPIC_KEY_BYTES, "SipHash key size");
_Static_assert(crypto_shorthash_siphash24_BYTES == 8, "SipHash output size");

uint64_t rc_topic_hash64(const uint8_t key[RC_TOPIC_KEY_BYTES], const char *topic, size_t len)
{
    uint8_t out[8];
    crypto_shorthash_siphash24(out, (const unsigned char *)topic, len, key);
    uint64_t h;
    memcpy(&h, out, sizeof(h)); /* libsodium stores it little-endian */
    return h;
}

uint64_t rc_domain_key(const rc_log_t *log, const char dom[4], const char *name, size_t len)
{
    char buf[4 + 255];
    if (len > 255)
        len = 255;
    memcpy(buf, dom, 4);
    memcpy(buf + 4, name, len);
    return rc_topic_index_key_of(rc_topic_hash64(log->hdr->topic_key, buf, 4 + len));
}

static unsigned run_bucket(uint64_t key) { return (unsigned)(key >> 55) & (RC_TOPIC_RUN_BUCKETS - 1); }

uint64_t rc_topic_run_epoch(const rc_log_t *log, uint64_t key)
{
    uint64_t in[3] = {log->hdr->epoch, key,
                      atomic_load_explicit(&log->hdr->topic_runs[run_bucket(key)], memory_order_relaxed)};
    uint8_t out[8];
    crypto_shorthash_siphash24(out, (const unsigned char *)in, sizeof(in), log->hdr->topic_key);
    uint64_t epoch;
    memcpy(&epoch, out, sizeof(epoch));
    return epoch ? epoch : 1; /* 0 means "no epoch yet" to readers */
}

rc_topic_entry_t *rc_topic_index_slot(const rc_log_t *log, uint64_t key, int *kind)
{
    uint64_t head = atomic_load_explicit(&log->hdr->head, memory_order_relaxed);
    rc_topic_entry_t *dead = NULL, *oldest = NULL, *empty = NULL;
    uint64_t oldest_pos = UINT64_MAX;
    for (unsigned i = 0; i < RC_INDEX_PROBES; i++) {
        rc_topic_entry_t *e = &log->index[(key + i) & log->index_mask];
        /* relaxed: only this writer stores entries */
        uint64_t h = atomic_load_explicit(&e->hash, memory_order_relaxed);
        if (h == key) {
            *kind = RC_INDEX_FOUND;
            return e;
        }
        if (h == 0) {
            empty = e; /* the end of key's chain: key is not further on */
            break;
        }
        uint64_t pos = atomic_load_explicit(&e->pos, memory_order_relaxed);
        /* An entry whose record the ring has overwritten is dead. */
        if (!dead && head - pos > log->cap)
            dead = e;
        if (pos < oldest_pos) {
            oldest_pos = pos;
            oldest = e;
        }
    }
    /* A dead entry before an empty one: reusing it keeps chains short, and
     * its topic has nothing left in the log to lose. */
    if (dead) {
        *kind = RC_INDEX_REUSED;
        return dead;
    }
    if (empty) {
        *kind = RC_INDEX_EMPTY;
        return empty;
    }
    /* Every entry in the window is live: the one whose latest record is
     * oldest goes. Its topic's records stay in the log, but the index no
     * longer finds them, and its next record starts a new epoch. */
    *kind = RC_INDEX_EVICTED;
    return oldest;
}

static void bump(_Atomic uint64_t *c)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1, memory_order_relaxed);
}

void rc_topic_index_point(rc_log_t *log, rc_topic_entry_t *e, uint64_t key, int kind, uint64_t pos,
                          uint64_t epoch, uint64_t offset)
{
    if (kind == RC_INDEX_FOUND) {
        /* Same topic: pos, epoch, offset in this order, each a release, so
         * a reader loading them in the reverse order (acquire) that sees a
         * new offset or epoch also sees the new pos (rc_topic_index_lookup). */
        atomic_store_explicit(&e->pos, pos, memory_order_release);
        atomic_store_explicit(&e->epoch, epoch, memory_order_release);
        atomic_store_explicit(&e->offset, offset, memory_order_release);
        return;
    }
    if (kind != RC_INDEX_EMPTY) {
        /* The topic that held e loses its entry: its next run gets a new
         * epoch, never a reused offset. */
        uint64_t old = atomic_load_explicit(&e->hash, memory_order_relaxed);
        _Atomic uint32_t *runs = &log->hdr->topic_runs[run_bucket(old)];
        atomic_store_explicit(runs, atomic_load_explicit(runs, memory_order_relaxed) + 1, memory_order_relaxed);
        bump(kind == RC_INDEX_REUSED ? &log->hdr->index_reuses : &log->hdr->index_evictions);
    }
    /* Another topic: a seqlock on hash. BUSY keeps probe chains intact
     * (readers step over it) while the fields change. */
    atomic_store_explicit(&e->hash, RC_INDEX_BUSY, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&e->pos, pos, memory_order_relaxed);
    atomic_store_explicit(&e->epoch, epoch, memory_order_relaxed);
    atomic_store_explicit(&e->offset, offset, memory_order_relaxed);
    /* release: the fields above are visible to a reader that sees the hash */
    atomic_store_explicit(&e->hash, key, memory_order_release);
}

int rc_topic_index_lookup(const rc_log_t *log, uint64_t key, rc_topic_snapshot_t *s)
{
    for (unsigned i = 0; i < RC_INDEX_PROBES; i++) {
        const rc_topic_entry_t *e = &log->index[(key + i) & log->index_mask];
        /* acquire: pairs with the writer's release store of the hash */
        uint64_t h = atomic_load_explicit(&e->hash, memory_order_acquire);
        if (h == 0)
            return 0;
        if (h != key)
            continue;
        /* reverse of the writer's order: see rc_topic_index_point */
        s->offset = atomic_load_explicit(&e->offset, memory_order_acquire);
        s->epoch = atomic_load_explicit(&e->epoch, memory_order_acquire);
        s->pos = atomic_load_explicit(&e->pos, memory_order_acquire);
        atomic_thread_fence(memory_order_acquire);
        /* the entry went to another topic while we read it */
        return atomic_load_explicit(&e->hash, memory_order_relaxed) == key;
    }
    return 0;
}

int rc_log_topic_head(const rc_log_t *log, const char *topic, size_t len, rc_log_view_t *v)
{
    rc_topic_snapshot_t s;
    if (!rc_topic_index_lookup(log, rc_topic_index_key(log, topic, len), &s))
        return 0;
    if (!rc_log_read_at(log, s.pos, v))
        return 0;
    /* the index is a hint: the record must be this topic's */
    return v->topic_len == len && memcmp(v->topic, topic, len) == 0;
}
