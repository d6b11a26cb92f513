/* Revocations: users kicked with POST /api/disconnect (docs/protocol.md,
 * "Authentication"). The broker writes a table in the region, sub -> the
 * second of its latest kick; every edge reads it at each handshake and
 * refresh (a token of that sub issued before the kick is refused) and
 * whenever revoke_gen moves (its connections of that sub close with
 * 1001). A table, not only a record in the log, so that an edge started
 * later, or lapped, still knows.
 *
 * Open addressing, linear probing (at most 32 probes), keyed SipHash of
 * the sub under the region's topic_key. An entry whose kick is older than
 * the broker's revoke_ttl_s (longer than any token lives) may be reused;
 * with none free in reach a kick is refused (the broker answers 503). */
#ifndef RC_SHM_REVOKE_H
#define RC_SHM_REVOKE_H

#include <stddef.h>
#include <stdint.h>

#include "shm/log.h"

/* Writer: records that sub was kicked at now_s. Returns 0, or -ENOSPC when
 * no entry within reach is free or older than ttl_s. */
int rc_revoke_put(rc_log_t *log, const char *sub, size_t len, uint64_t now_s, uint64_t ttl_s);

/* Reader: the second of sub's latest kick, 0 if it was never kicked. */
uint64_t rc_revoke_get(const rc_log_t *log, const char *sub, size_t len);

/* Reader: moves with every kick. */
static inline uint64_t rc_revoke_gen(const rc_log_t *log)
{
    return atomic_load_explicit(&log->hdr->revoke_gen, memory_order_acquire);
}

#endif
