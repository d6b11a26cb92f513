/* The machine's cap on upstream calls (hydrate_concurrency; docs/operations.md,
 * "Hydration"): the broker and every edge draw from it, because the cap
 * that matters is the one the application sees, not one per process.
 *
 * Each holder counts its own calls in flight in the region (an edge in its
 * slot's hydrate_held, the broker in the header's broker_hydrate_held);
 * the machine's total is their sum over the holders that are running. A
 * process that dies gives its calls back by not running any more: its slot
 * stops counting (rc_slot_running), and a broker reattaching zeroes its
 * own. Nobody has to clean up after a crash.
 *
 * Taking adds first, then sums (seq_cst both): of two processes taking the
 * last token at once, each sees the other's, and both may give back and
 * retry, but never both pass. */
#ifndef RC_SHM_HYDRATE_CAP_H
#define RC_SHM_HYDRATE_CAP_H

#include <stdatomic.h>
#include <stdint.h>

#include "shm/log.h"

/* The counter a holder adds to: slot's, or the broker's (slot < 0). */
_Atomic uint64_t *rc_hydrate_cap_mine(rc_log_t *log, int slot);

/* One token of cap, or -EAGAIN when the machine holds cap already. */
int rc_hydrate_cap_take(rc_log_t *log, _Atomic uint64_t *mine, uint32_t cap);

/* Gives one back (after a 0 from take). */
void rc_hydrate_cap_give(_Atomic uint64_t *mine);

/* Calls in flight on the machine, over every running holder. */
uint64_t rc_hydrate_cap_in_use(const rc_log_t *log);

#endif
