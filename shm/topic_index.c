#include "shm/topic_index.h"

#include <string.h>

#include <sodium/crypto_shorthash_siphash24.h>

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

rc_topic_entry_t *rc_topic_index_slot(const rc_log_t *log, uint64_t key, int *found)
{
    uint64_t head = atomic_load_explicit(&log->hdr->head, memory_order_relaxed);
    rc_topic_entry_t *reuse = NULL;
    for (unsigned i = 0; i < RC_INDEX_PROBES; i++) {
        rc_topic_entry_t *e = &log->index[(key + i) & log->index_mask];
        /* relaxed: only this writer stores entries */
        uint64_t h = atomic_load_explicit(&e->hash, memory_order_relaxed);
        if (h == key) {
            *found = 1;
            return e;
        }
        if (h == 0) {
            *found = 0;
            return reuse ? reuse : e;
        }
        /* An entry whose record the ring has overwritten is dead: reusable. */
        uint64_t pos = atomic_load_explicit(&e->pos, memory_order_relaxed);
        if (!reuse && head - pos > log->cap)
            reuse = e;
    }
    *found = 0;
    return reuse;
}

void rc_topic_index_point(rc_topic_entry_t *e, uint64_t key, int found, uint64_t pos)
{
    if (!found) {
        /* A reader may match the hash before it sees the new pos: it checks
         * the record at pos (topic bytes) before trusting it. */
        atomic_store_explicit(&e->pos, pos, memory_order_relaxed);
        /* release: the pos above is visible to a reader that sees the hash */
        atomic_store_explicit(&e->hash, key, memory_order_release);
    } else {
        /* release: the record at pos is committed before readers see it here */
        atomic_store_explicit(&e->pos, pos, memory_order_release);
    }
}

int rc_log_topic_head(const rc_log_t *log, const char *topic, size_t len, rc_log_view_t *v)
{
    uint64_t key = rc_topic_index_key(log, topic, len);
    for (unsigned i = 0; i < RC_INDEX_PROBES; i++) {
        const rc_topic_entry_t *e = &log->index[(key + i) & log->index_mask];
        /* acquire: pairs with the writer's release store of the entry */
        uint64_t h = atomic_load_explicit(&e->hash, memory_order_acquire);
        if (h == 0)
            return 0;
        if (h != key)
            continue;
        uint64_t pos = atomic_load_explicit(&e->pos, memory_order_acquire);
        if (!rc_log_read_at(log, pos, v))
            return 0;
        /* the index is a hint: the record must be this topic's */
        return v->topic_len == len && memcmp(v->topic, topic, len) == 0;
    }
    return 0;
}
