/* Connections per user on this machine, for max_conns_per_user
 * (docs/operations.md, "Limits on clients"). A user's connections are
 * spread over the edges by the kernel's SO_REUSEPORT, so a count kept by
 * each edge alone would let a user hold the limit on every edge.
 *
 * One table in the region, written by the edges: an entry per (user,
 * edge slot) holding that edge's count of the user's connections. Only the
 * owning edge changes an entry's count; claiming an entry is a CAS. An
 * entry belongs to (slot, generation): once that slot is claimed again
 * (its edge died and another took it) or its loop stopped running, its
 * counts no longer count, and the entry may be claimed by anyone. That is
 * how a crashed edge gives its users back without cleaning up.
 *
 * Open addressing keyed SipHash of the sub under the region's topic_key,
 * linear probing, at most RC_USER_PROBES: all of a user's entries (one
 * per edge it is on) lie in one chain, so its total is one short walk.
 * Entries are never emptied, only given up (owner 0), so chains never
 * break. */
#ifndef RC_SHM_USER_CONNS_H
#define RC_SHM_USER_CONNS_H

#include <stddef.h>
#include <stdint.h>

#include "shm/log.h"

#define RC_USER_PROBES 32

/* Edge: counts one more connection of sub on slot, unless the user's total
 * on the machine would pass max. Increment first, then sum: two edges
 * admitting the same user at once may both refuse, never both pass.
 * Returns 0 (counted), -EDQUOT (refused: at the limit), or -ENOSPC (no
 * entry within reach: not counted; the caller admits and counts that). */
int rc_user_conns_enter(rc_log_t *log, int slot, const char *sub, size_t len, uint32_t max);

/* Edge: one connection fewer of sub on slot (after a 0 from enter). */
void rc_user_conns_leave(rc_log_t *log, int slot, const char *sub, size_t len);

/* The user's connections on this machine, over every live edge. */
uint32_t rc_user_conns_total(const rc_log_t *log, const char *sub, size_t len);

#endif
