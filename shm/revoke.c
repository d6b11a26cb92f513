#include "shm/revoke.h"

#include <errno.h>

#include "shm/topic_index.h"

#define RC_REVOKE_PROBES 32

static uint64_t key_of(const rc_log_t *log, const char *sub, size_t len)
{
    return rc_domain_key(log, "sub:", sub, len);
}

int rc_revoke_put(rc_log_t *log, const char *sub, size_t len, uint64_t now_s, uint64_t ttl_s)
{
    uint64_t key = key_of(log, sub, len);
    struct rc_revoke_entry *reuse = NULL;
    for (unsigned i = 0; i < RC_REVOKE_PROBES; i++) {
        struct rc_revoke_entry *e = &log->revoke[(key + i) & (RC_SHM_REVOKE_ENTRIES - 1)];
        /* relaxed: only this writer stores entries */
        uint64_t h = atomic_load_explicit(&e->hash, memory_order_relaxed);
        uint64_t at = atomic_load_explicit(&e->kicked_s, memory_order_relaxed);
        if (h == key) {
            reuse = e;
            break;
        }
        if (!reuse && (h == 0 || at + ttl_s < now_s))
            reuse = e;
        if (h == 0)
            break;
    }
    if (!reuse)
        return -ENOSPC;
    if (atomic_load_explicit(&reuse->hash, memory_order_relaxed) != key) {
        /* another (expired) user's entry, or an empty one: its time first,
         * then the hash (release), so a reader that sees the hash sees the
         * time. An expired entry's old user no longer needs it. */
        atomic_store_explicit(&reuse->hash, 0, memory_order_relaxed);
        atomic_thread_fence(memory_order_release);
        atomic_store_explicit(&reuse->kicked_s, now_s, memory_order_relaxed);
        atomic_store_explicit(&reuse->hash, key, memory_order_release);
    } else {
        atomic_store_explicit(&reuse->kicked_s, now_s, memory_order_release);
    }
    atomic_store_explicit(&log->hdr->revokes, atomic_load_explicit(&log->hdr->revokes, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    /* release: the entry is visible to an edge that sees the new gen */
    atomic_store_explicit(&log->hdr->revoke_gen, atomic_load_explicit(&log->hdr->revoke_gen, memory_order_relaxed) + 1,
                          memory_order_release);
    return 0;
}

uint64_t rc_revoke_get(const rc_log_t *log, const char *sub, size_t len)
{
    uint64_t key = key_of(log, sub, len);
    for (unsigned i = 0; i < RC_REVOKE_PROBES; i++) {
        const struct rc_revoke_entry *e = &log->revoke[(key + i) & (RC_SHM_REVOKE_ENTRIES - 1)];
        /* acquire: pairs with the writer's release store of the hash */
        uint64_t h = atomic_load_explicit(&e->hash, memory_order_acquire);
        if (h == key)
            return atomic_load_explicit(&e->kicked_s, memory_order_acquire);
        /* an entry being given to another user reads 0 for an instant: keep
         * probing, the chain goes on past it */
    }
    return 0;
}
