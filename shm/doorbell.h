/* The upstream doorbell: edges ring it after pushing into their upstream
 * ring (shm/upring.h); the broker's drain thread sleeps on it. Same protocol
 * as the log's sleepers (shm/wake.h), on the header's up_word:
 *   consumer: expect = up_word; up_sleeping = 1; fence; if any ring holds a
 *             message: don't sleep; else FUTEX_WAIT while up_word == expect.
 *   producer: push (release); fence; if exchange(up_sleeping, 0):
 *             up_word++, FUTEX_WAKE.
 * A busy broker is not asleep, so edges make no syscall per message. */
#ifndef RC_SHM_DOORBELL_H
#define RC_SHM_DOORBELL_H

#include <stdint.h>

#include "shm/log.h"

/* Producer, after rc_upring_push. Returns 1 if it made a wake syscall. */
int rc_doorbell_ring(const rc_log_t *log);

/* Consumer: announces it is about to sleep. Returns 0 and the value to
 * wait on in *expect, or -EAGAIN if a ring holds a message already. */
int rc_doorbell_prepare_sleep(const rc_log_t *log, uint32_t *expect);

/* Consumer: blocks until the doorbell rings, up_word changed, or
 * timeout_ms passed (-1: none). Returns 0 or -ETIMEDOUT. */
int rc_doorbell_sleep(const rc_log_t *log, uint32_t expect, int timeout_ms);

/* Wakes a sleeping consumer of this region (its own process, at shutdown). */
void rc_doorbell_wake_consumer(const rc_log_t *log);

#endif
